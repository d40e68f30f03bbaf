from django.db import models
from django.utils.translation import gettext_lazy as _


class ProductStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DRAFT = "draft", "Draft"
    ARCHIVED = "archived", "Archived"


class ProductSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    IMPORT = "import", "File import"
    SHOPIFY = "shopify", "Shopify"
    SALLA = "salla", "Salla"
    ZID = "zid", "Zid"


class IndexState(models.TextChoices):
    PENDING = "pending", "Waiting to be indexed"
    INDEXED = "indexed", "Indexed"
    FAILED = "failed", "Indexing failed (will retry)"
    REMOVED = "removed", "Not in the index"


class ImportState(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    JSON = "json", "JSON array"
    JSONL = "jsonl", "JSON Lines"


# Products are indexed only while they can be sold or shown.
SEARCHABLE_STATUSES = (ProductStatus.ACTIVE,)
