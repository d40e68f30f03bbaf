"""Contacts, conversations and messages: the channel-neutral record of every customer exchange.

One Conversation per (channel, external id): a customer who writes again after it was closed
reopens the same thread (closed → bot), so history is never split. The contact may be deleted
(privacy request) without losing the messages: the conversation keeps its external id."""

from django.conf import settings
from django.db import models

from kaleem.crypto import EncryptedTextField
from kaleem.tenancy.models import TenantModel


class Contact(TenantModel):
    """One person per merchant; the same person may reach the store on several channels."""

    name = EncryptedTextField(blank=True, default="")
    phone = EncryptedTextField(blank=True, default="")
    email = EncryptedTextField(blank=True, default="")
    language = models.CharField(max_length=2, blank=True, default="")
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Contact {self.pk}"


class ContactIdentity(TenantModel):
    """How a channel knows the contact (webchat visitor id, Telegram chat id, WhatsApp number…)."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="uniq_contact_identity_channel_ext")
        ]


class ConversationStatus(models.TextChoices):
    BOT = "bot", "Assistant"
    WAITING_HUMAN = "waiting_human", "Waiting for a human"
    HUMAN = "human", "Human"
    CLOSED = "closed", "Closed"


class Conversation(TenantModel):
    Status = ConversationStatus

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=255)
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations")
    status = models.CharField(max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.BOT)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    language = models.CharField(max_length=2, blank=True, default="")
    last_activity_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    # The newest inbound message: the burst task whose id matches is the one that answers.
    latest_inbound_id = models.UUIDField(null=True, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    handoff_reason = models.CharField(max_length=32, blank=True, default="")
    low_confidence_streak = models.PositiveSmallIntegerField(default=0)
    # Assistant memory between turns: running product filters, last products shown, pending question.
    state = models.JSONField(default=dict, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "external_id"], name="uniq_conversation_channel_ext")]
        indexes = [
            models.Index(fields=["merchant", "status", "last_activity_at"], name="conv_merchant_status_act_idx"),
            models.Index(fields=["merchant", "last_activity_at"], name="conv_merchant_activity_idx"),
            # analytics: a store's conversations started in a period (conversations.analytics)
            models.Index(fields=["merchant", "created_at"], name="conv_merchant_created_idx"),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.pk} ({self.status})"


class Message(TenantModel):
    class Direction(models.TextChoices):
        INBOUND = "in", "Inbound"
        OUTBOUND = "out", "Outbound"

    class Sender(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        ASSISTANT = "assistant", "Assistant"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    class Kind(models.TextChoices):
        MESSAGE = "message", "Message"
        NOTE = "note", "Private note"  # visible to agents only, never sent to the channel

    class Delivery(models.TextChoices):
        RECEIVED = "received", "Received"
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        NOT_SENT = "not_sent", "Not sent"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    sender = models.CharField(max_length=16, choices=Sender.choices)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MESSAGE)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField(blank=True, default="")
    elements = models.JSONField(default=list, blank=True)
    attachments = models.JSONField(default=list, blank=True)
    provider_message_id = models.CharField(max_length=255, null=True, blank=True)
    delivery_status = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.PENDING)
    delivery_error = models.CharField(max_length=500, blank=True, default="")
    # timings: provider clock (sent_at for inbound), our clock (received_at), outbound lifecycle
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # inbound: when the assistant took it (claim) — unanswered customer messages have none
    assistant_claimed_at = models.DateTimeField(null=True, blank=True)
    reply_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    intent = models.CharField(max_length=32, blank=True, default="")
    confidence = models.FloatField(null=True, blank=True)
    meta = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            # Nullable-unique, portable: only rows that carry a provider id are constrained.
            models.UniqueConstraint(
                # no condition: SQL treats NULLs as distinct and the MongoDB backend builds unique
                # indexes with a $type filter, so messages without a provider id never collide
                fields=["channel", "provider_message_id"],
                name="uniq_message_channel_provider_id",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="msg_conversation_created_idx"),
            # analytics: a store's messages of a period, without scanning its whole history
            models.Index(fields=["merchant", "created_at"], name="msg_merchant_created_idx"),
        ]
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.direction}:{self.sender} {self.text[:40]}"


class Lead(TenantModel):
    """A customer who asked to be contacted: the assistant's lead dialogue collects a name and a Saudi
    mobile number (conversations.services.lead_capture); `lead.created` is emitted through the outbox."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="leads")
    conversation = models.ForeignKey(Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    interest = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    name = EncryptedTextField(blank=True, default="")
    phone = EncryptedTextField(blank=True, default="")  # normalised +9665XXXXXXXX
    language = models.CharField(max_length=2, blank=True, default="")
    source = models.CharField(max_length=16, default="chat")  # chat | api
    # chat: "turn:<inbound message id>" — the same turn run twice creates one lead
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "idempotency_key"], name="uniq_lead_merchant_idem"),
        ]
        indexes = [models.Index(fields=["merchant", "status", "created_at"], name="lead_merchant_status_idx")]


class AnswerGap(TenantModel):
    """A customer question the assistant could not answer (fallback or hand-off)."""

    class Reason(models.TextChoices):
        NO_EVIDENCE = "no_evidence", "No supporting knowledge"
        LOW_CONFIDENCE = "low_confidence", "Low confidence"
        HUMAN_REQUEST = "human_request", "Asked for a human"
        HANDOFF = "handoff", "Repeated failure"
        NOT_AVAILABLE = "not_available", "Feature not available"
        NO_PRODUCTS = "no_products", "No matching products"

    conversation = models.ForeignKey(Conversation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    question = models.TextField()
    normalized = models.TextField(blank=True, default="")
    language = models.CharField(max_length=2, blank=True, default="")
    intent = models.CharField(max_length=32, blank=True, default="")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "created_at"], name="gap_merchant_created_idx")]


class LlmUsage(TenantModel):
    """Tokens the optional LLM spent for a merchant in a calendar month (budget enforcement)."""

    month = models.CharField(max_length=7)  # "2026-11"
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "month"], name="uniq_llm_usage_merchant_month")]


class ContactNameToken(TenantModel):
    """Blind index of a contact's encrypted name: one row per normalised name token and per token
    prefix of 3+ characters, stored only as a keyed HMAC (`conversations.contact_index`). The
    inbox looks names up by the digest of what the agent typed, never by decrypting."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="name_tokens")
    digest = models.CharField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "digest"], name="uniq_contact_name_token")]
        indexes = [models.Index(fields=["merchant", "digest"], name="contact_token_merchant_idx")]


class AnalyticsDay(TenantModel):
    """One store's analytics facts for one local day (the store's time zone), rebuilt from the
    messages, gaps and orders by `conversations.analytics` — derived data, never edited by hand.
    `data` layout: see `conversations.analytics.DayFacts`."""

    day = models.DateField()
    tz = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField(default=1)
    data = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "day"], name="uniq_analytics_day")]
