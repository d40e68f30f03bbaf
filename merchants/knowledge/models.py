"""Store knowledge rows. Every source (policy, FAQ, document) is split into KnowledgeChunks, which
are what gets embedded, indexed (vector kind "knowledge") and cited by the assistant."""

from django.db import models

from kaleem.tenancy.models import TenantModel


class KnowledgeLanguage(models.TextChoices):
    AR = "ar", "العربية"
    EN = "en", "English"


class PolicyKind(models.TextChoices):
    SHIPPING = "shipping", "Shipping"
    RETURNS = "returns", "Returns"
    EXCHANGE = "exchange", "Exchange"
    PAYMENT = "payment", "Payment"
    DELIVERY_AREAS = "delivery_areas", "Delivery areas"
    WORKING_HOURS = "working_hours", "Working hours"
    CONTACT = "contact", "Contact"
    OTHER = "other", "Other"


class Policy(TenantModel):
    kind = models.CharField(max_length=16, choices=PolicyKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField()
    language = models.CharField(max_length=2, choices=KnowledgeLanguage.choices, default=KnowledgeLanguage.AR)
    # stable reference for imports and the evaluation set ("demo:returns:ar")
    key = models.CharField(max_length=80, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["merchant", "kind"], name="policy_merchant_kind_idx")]

    def __str__(self) -> str:
        return self.title


class Faq(TenantModel):
    question = models.CharField(max_length=500)
    answer = models.TextField()
    language = models.CharField(max_length=2, choices=KnowledgeLanguage.choices, default=KnowledgeLanguage.AR)
    key = models.CharField(max_length=80, blank=True, default="")

    def __str__(self) -> str:
        return self.question[:80]


class KnowledgeDocument(TenantModel):
    class State(models.TextChoices):
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        NO_TEXT = "no_text", "No extractable text"  # empty or scanned (image-only) file
        FAILED = "failed", "Failed"

    title = models.CharField(max_length=200)
    filename = models.CharField(max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")
    size_bytes = models.BigIntegerField(default=0)
    file = models.FileField(upload_to="knowledge/%Y/%m/", blank=True)
    language = models.CharField(max_length=2, blank=True, default="")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PROCESSING)
    error = models.CharField(max_length=500, blank=True, default="")
    text_chars = models.PositiveIntegerField(default=0)
    chunk_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.title


class KnowledgeChunk(TenantModel):
    class Source(models.TextChoices):
        POLICY = "policy", "Policy"
        FAQ = "faq", "FAQ"
        DOCUMENT = "document", "Document"

    source_kind = models.CharField(max_length=8, choices=Source.choices)
    source_id = models.UUIDField()
    ordinal = models.PositiveIntegerField(default=0)
    title = models.CharField(max_length=500, blank=True, default="")
    text = models.TextField()
    language = models.CharField(max_length=2, blank=True, default="")
    policy_kind = models.CharField(max_length=16, blank=True, default="")
    content_hash = models.CharField(max_length=64, blank=True, default="")
    indexed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source_kind", "source_id", "ordinal"], name="uniq_knowledge_chunk_source")
        ]
        indexes = [models.Index(fields=["merchant", "source_kind", "source_id"], name="kchunk_merchant_source_idx")]
