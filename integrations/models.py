"""Integration rows: commerce platform connections (Shopify, Salla, Zid), their inbound webhook
events and sync jobs; automation webhook subscriptions (n8n-compatible) and their deliveries."""

import secrets

from django.db import models

from kaleem.crypto import EncryptedTextField
from kaleem.tenancy.models import TenantModel


class Platform(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    SALLA = "salla", "Salla"
    ZID = "zid", "Zid"


def _public_key() -> str:
    return secrets.token_urlsafe(24)


class PlatformConnection(TenantModel):
    """A store's link to its platform. `credentials` is an encrypted JSON object:
    shopify {access_token, webhook_secret, previous_webhook_secret?}; salla {access_token,
    webhook_secret | webhook_token}; zid {authorization, access_token, store_id, webhook_username,
    webhook_password}. `public_key` is the secret path segment of our inbound webhook URL."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        ERROR = "error", "Error"

    platform = models.CharField(max_length=16, choices=Platform.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    shop_domain = models.CharField(max_length=255, blank=True, default="")  # demo-store.myshopify.com
    external_store_id = models.CharField(max_length=100, blank=True, default="")  # Salla merchant / Zid store id
    base_url = models.URLField(max_length=500, blank=True, default="")  # overrides the platform's API base (tests)
    api_version = models.CharField(max_length=20, blank=True, default="")
    credentials = EncryptedTextField(blank=True, default="")
    public_key = models.CharField(max_length=64, unique=True, default=_public_key)
    checkout_url = models.URLField(max_length=500, blank=True, default="")  # the store's own checkout / cart page
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["merchant", "platform"], name="uniq_platform_conn_merchant")]

    def __str__(self) -> str:
        return f"{self.platform} ({self.shop_domain or self.external_store_id})"


class PlatformWebhookEvent(TenantModel):
    """One inbound platform delivery, stored before processing; the unique dedupe key makes a
    redelivery an acknowledged no-op."""

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(PlatformConnection, on_delete=models.CASCADE, related_name="events")
    dedupe_key = models.CharField(max_length=255)
    topic = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["connection", "dedupe_key"], name="uniq_platform_event_dedupe")]


class SyncJob(TenantModel):
    class Kind(models.TextChoices):
        FULL = "full", "Initial import"
        RECONCILE = "reconcile", "Reconcile"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(PlatformConnection, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FULL)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    total = models.PositiveIntegerField(null=True, blank=True)  # when the platform tells us
    processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    archived_count = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True, default="")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class WebhookSubscription(TenantModel):
    """A merchant's automation endpoint (n8n, Zapier, own server) for some event types."""

    url = models.URLField(max_length=1000)
    events = models.JSONField(default=list)  # ["order.created", …]; "*" for every automation event
    secret = EncryptedTextField()  # HMAC key of X-Kaleem-Signature
    description = models.CharField(max_length=200, blank=True, default="")
    active = models.BooleanField(default=True)
    auth_header_name = models.CharField(max_length=100, blank=True, default="")  # n8n "Header auth"
    auth_header_value = EncryptedTextField(blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)  # one sender per subscription keeps order

    class Meta:
        ordering = ["-created_at", "-id"]


class WebhookDelivery(TenantModel):
    """One (event, subscription) pair; delivered in event order per subscription, retried with backoff
    for 24 h, then dead-lettered (replayable)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        DEAD = "dead", "Dead letter"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=64)
    event_created_at = models.DateTimeField()
    envelope = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.FloatField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    log = models.JSONField(default=list, blank=True)  # last attempts: [{at, status_code, latency_ms, error}]

    class Meta:
        ordering = ["-event_created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="uniq_delivery_subscription_event")
        ]
        indexes = [
            models.Index(fields=["subscription", "state", "event_created_at"], name="delivery_sub_state_idx"),
        ]


class StoreLlmSettings(TenantModel):
    """A store's choice for the assistant's optional LLM phrasing: off, the platform's model (settings
    LLM_*), or its own OpenAI-compatible endpoint (API key encrypted). `monthly_token_budget` NULL
    means the platform default (LLM_MONTHLY_TOKEN_BUDGET); usage is counted per store and month in
    conversations.LlmUsage. No row = platform default."""

    class Mode(models.TextChoices):
        OFF = "off", "Off"
        PLATFORM = "platform", "Platform default"
        CUSTOM = "custom", "Own endpoint"

    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.PLATFORM)
    base_url = models.URLField(max_length=500, blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    api_key = EncryptedTextField(blank=True, default="")
    monthly_token_budget = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant"], name="uniq_llm_settings_merchant")]


__all__ = [
    "Platform",
    "PlatformConnection",
    "PlatformWebhookEvent",
    "StoreLlmSettings",
    "SyncJob",
    "WebhookDelivery",
    "WebhookSubscription",
]
