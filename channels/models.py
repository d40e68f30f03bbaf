"""Channels: where customers talk to a store (webchat, Telegram, WhatsApp Cloud, Instagram, Messenger).

A Channel's credentials live in one encrypted JSON blob so adding a provider field never needs a
migration and key rotation re-encrypts a single column. Inbound deliveries are kept verbatim as
WebhookEvents (dedupe key unique per channel); failed sends end as DeadLetters an operator replays."""

import json
import secrets
import uuid
from typing import Any

from django.db import models

from kaleem.crypto import EncryptedTextField
from kaleem.tenancy.models import TenantModel


def new_public_key() -> str:
    # URL-safe and unguessable: it appears in webhook URLs and the widget snippet
    return "ch_" + secrets.token_urlsafe(18)


class ChannelKind(models.TextChoices):
    WEBCHAT = "webchat", "Webchat"
    TELEGRAM = "telegram", "Telegram"
    WHATSAPP = "whatsapp", "WhatsApp"
    INSTAGRAM = "instagram", "Instagram"
    MESSENGER = "messenger", "Messenger"


META_KINDS = frozenset({ChannelKind.WHATSAPP, ChannelKind.INSTAGRAM, ChannelKind.MESSENGER})

DEFAULT_BASE_URLS = {
    ChannelKind.TELEGRAM: "https://api.telegram.org",
    ChannelKind.WHATSAPP: "https://graph.facebook.com/v21.0",
    ChannelKind.MESSENGER: "https://graph.facebook.com/v21.0",
    ChannelKind.INSTAGRAM: "https://graph.instagram.com/v21.0",
    ChannelKind.WEBCHAT: "",
}


class Channel(TenantModel):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending connection"
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        ERROR = "error", "Error"

    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    public_key = models.CharField(max_length=64, unique=True, default=new_public_key)
    # JSON object: bot_token, access_token, phone_number_id, page_id, app_secret, verify_token,
    # webhook_secret (Telegram secret_token), waba_id, ig_user_id — whichever the kind needs
    credentials_encrypted = EncryptedTextField(blank=True, default="")
    provider_base_url = models.URLField(max_length=300, blank=True, default="")
    settings = models.JSONField(default=dict, blank=True)
    # provider-side identity (phone-number id, page id, bot id) for display and sanity checks
    external_id = models.CharField(max_length=128, blank=True, default="")
    last_error = models.TextField(blank=True, default="")
    connected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["merchant", "kind"], name="channel_merchant_kind_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def credentials(self) -> dict[str, Any]:
        if not self.credentials_encrypted:
            return {}
        cached = self.__dict__.get("_credentials_cache")
        if cached is not None and cached[0] == self.credentials_encrypted:
            return dict(cached[1])
        value = json.loads(self.credentials_encrypted)
        self.__dict__["_credentials_cache"] = (self.credentials_encrypted, value)
        return dict(value)

    @credentials.setter
    def credentials(self, value: dict[str, Any]) -> None:
        self.credentials_encrypted = json.dumps(value or {}, ensure_ascii=False) if value else ""

    def credential(self, name: str) -> str:
        return str(self.credentials.get(name) or "")

    @property
    def base_url(self) -> str:
        return (self.provider_base_url or DEFAULT_BASE_URLS.get(self.kind, "")).rstrip("/")

    @property
    def is_meta(self) -> bool:
        return self.kind in META_KINDS


class WebhookEvent(TenantModel):
    """One accepted inbound item. Meta batches are split per message/status so each is deduped on its
    own provider id; the raw delivery body is stored on the first item of the delivery only."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        DONE = "done", "Done"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="webhook_events")
    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    provider_event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=32, blank=True, default="")  # message|status|callback|…
    # who the event is about (chat id, wa_id, PSID): processing is serialised per (channel, sender)
    sender_id = models.CharField(max_length=128, blank=True, default="")
    delivery_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    raw_body = models.TextField(blank=True, default="")
    body_encoding = models.CharField(max_length=8, default="utf-8")  # utf-8 | base64
    headers = models.JSONField(default=dict, blank=True)
    payload = models.JSONField(default=dict, blank=True)  # this item with its delivery context
    provider_timestamp = models.BigIntegerField(default=0)  # ms, for in-order processing
    received_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["provider_timestamp", "received_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "provider_event_id"], name="uniq_webhook_event_channel_pid")
        ]
        indexes = [
            models.Index(fields=["channel", "sender_id", "state"], name="webhook_event_sender_idx"),
            models.Index(fields=["merchant", "received_at"], name="webhook_event_merchant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.provider_event_id} ({self.state})"


class OutboundDelivery(TenantModel):
    """One send of one Message to a provider: the idempotency record that stops a replayed outbox
    event or a re-run task from messaging the customer twice."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        REFUSED = "refused", "Refused"  # e.g. outside the 24-hour window
        DEAD = "dead", "Dead letter"
        # a part's provider call was in flight when its worker died: the provider may or may not
        # have accepted it, so it is not re-sent automatically (an operator replays or discards)
        UNKNOWN = "unknown", "Unknown delivery"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.UUIDField()
    conversation_id = models.UUIDField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    provider_message_id = models.CharField(max_length=255, blank=True, default="")
    # a rendered message may take several API calls (photo cards + text): parts already accepted
    # by the provider are not sent again when the rest is retried or replayed
    parts_sent = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # the current holder of the SENDING claim: every write of a send is conditional on it
    claim_token = models.UUIDField(null=True, blank=True)
    # set (conditionally on the claim) just before part `parts_sent`'s provider call, cleared with
    # the write that records it accepted: found set by a later claim = that call's outcome is unknown
    part_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "message_id"], name="uniq_outbound_channel_message")]
        indexes = [models.Index(fields=["state", "claimed_at"], name="outbound_state_claimed_idx")]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.channel_id} ({self.state})"


class DeadLetter(TenantModel):
    """A send that exhausted its retries (or hit a hopeless provider error); replayable by an admin."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        REPLAYED = "replayed", "Replayed"
        DISCARDED = "discarded", "Discarded"

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="dead_letters")
    delivery = models.ForeignKey(OutboundDelivery, on_delete=models.CASCADE, related_name="dead_letters", null=True)
    message_id = models.UUIDField(null=True, blank=True)
    request = models.JSONField(default=dict, blank=True)  # what we tried to send (no credentials)
    error = models.TextField(blank=True, default="")
    status_code = models.IntegerField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN, db_index=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"dead letter {self.id} ({self.state})"


class WhatsAppTemplate(TenantModel):
    """An approved message template synced from the WhatsApp Business account."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=512)
    language = models.CharField(max_length=16)
    status = models.CharField(max_length=32, blank=True, default="")  # APPROVED|PENDING|REJECTED…
    category = models.CharField(max_length=32, blank=True, default="")
    provider_id = models.CharField(max_length=64, blank=True, default="")
    components = models.JSONField(default=list, blank=True)
    parameter_count = models.PositiveIntegerField(default=0)  # body {{n}} placeholders
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "name", "language"], name="uniq_wa_template_channel_name_lang")
        ]

    def __str__(self) -> str:
        return f"{self.name} [{self.language}]"
