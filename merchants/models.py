import uuid

from django.conf import settings
from django.db import models

from kaleem.core.fields import JSONField
from kaleem.core.models import TimeStampedModel
from kaleem.tenancy.models import TenantModel
from kaleem.tenancy.roles import Role


class Language(models.TextChoices):
    AR = "ar", "العربية"
    EN = "en", "English"


class Merchant(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    default_language = models.CharField(max_length=2, choices=Language.choices, default=Language.AR)
    timezone = models.CharField(max_length=64, default="Asia/Riyadh")
    currency = models.CharField(max_length=3, default="SAR")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # store profile shown to customers and used by the assistant
    description = models.TextField(blank=True)
    website_url = models.URLField(blank=True)
    support_email = models.EmailField(blank=True)
    support_phone = models.CharField(max_length=32, blank=True)
    logo_url = models.URLField(blank=True)
    onboarding_step = models.CharField(max_length=32, blank=True, default="")
    # https URL with {order_number} {amount} {currency} {order_id} placeholders (catalog.payment_links);
    # empty: the "payment link" payment method is not offered
    payment_link_template = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(TenantModel):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "user"], name="uniq_membership_merchant_user")]
        indexes = [models.Index(fields=["user", "merchant"], name="membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant_id} ({self.role})"


class ApiToken(TenantModel):
    """Server-to-server credential. Only a SHA-256 of the key is stored; the key is shown once."""

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditLog(TenantModel):
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "-created_at", "-id"], name="audit_merchant_created_id_idx")]


class RefreshTokenRecord(models.Model):
    """One row per issued refresh token; a second use of the same jti revokes its whole family."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    jti = models.CharField(max_length=64, unique=True)
    family = models.UUIDField(db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()


class RevokedTokenFamily(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    family = models.UUIDField(unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=64)
    revoked_at = models.DateTimeField(auto_now_add=True)


# Store knowledge lives in its own module (owned by the assistant area); imported so Django registers it.
from merchants.knowledge.models import Faq, KnowledgeChunk, KnowledgeDocument, Policy  # noqa: E402, F401
