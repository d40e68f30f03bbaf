from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from catalog.choices import ImportFormat, ImportState, IndexState, ProductSource, ProductStatus
from kaleem.tenancy.models import TenantModel


class Category(TenantModel):
    """A node of the merchant's category tree; names in both languages (either may be empty)."""

    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children")
    slug = models.SlugField(max_length=120, allow_unicode=True)
    name_ar = models.CharField(max_length=200, blank=True)
    name_en = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]
        constraints = [models.UniqueConstraint(fields=["merchant", "slug"], name="uniq_category_merchant_slug")]

    def __str__(self) -> str:
        return self.name_en or self.name_ar or self.slug

    @property
    def name(self) -> str:
        return self.name_ar or self.name_en


class Product(TenantModel):
    sku = models.CharField(max_length=100)
    title_ar = models.CharField(max_length=300, blank=True)
    title_en = models.CharField(max_length=300, blank=True)
    description_ar = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    sale_price = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="SAR")
    stock = models.IntegerField(default=0)
    in_stock = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=ProductStatus.choices, default=ProductStatus.ACTIVE)
    category = models.ForeignKey(Category, on_delete=models.SET_NULL, null=True, blank=True, related_name="products")
    attributes = models.JSONField(default=dict, blank=True)  # {"colour": "أسود", "size": ["40", "41"], ...}
    tags = models.JSONField(default=list, blank=True)  # list of strings; JSON keeps it portable (no ArrayField)
    # "|tag1|tag2|" lower-cased copy of tags, maintained by services: a portable `icontains` tag filter
    # (JSON `contains` lookups are not available on SQLite).
    tags_index = models.TextField(blank=True, default="", editable=False)
    images = models.JSONField(default=list, blank=True)  # list of URLs
    # The first uploaded image (a copy of its ProductImage.file name, kept by catalog.images): product cards and
    # `image_url` need it without a query per product. Default storage: filesystem or S3.
    image_file = models.FileField(upload_to="catalog/products/%Y/%m/", blank=True)
    source = models.CharField(max_length=16, choices=ProductSource.choices, default=ProductSource.MANUAL)
    external_id = models.CharField(max_length=200, null=True, blank=True)  # NULL for manual rows: unique ignores it
    # Search index bookkeeping: visible to the merchant, drives retries and the drift report.
    index_state = models.CharField(max_length=16, choices=IndexState.choices, default=IndexState.PENDING)
    index_error = models.CharField(max_length=500, blank=True)
    embedding_hash = models.CharField(max_length=64, blank=True)  # hash(model, embedding text) of the stored vector
    indexed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "sku"], name="uniq_product_merchant_sku"),
            models.UniqueConstraint(
                fields=["merchant", "source", "external_id"], name="uniq_product_merchant_source_external"
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "status", "category", "price", "created_at"], name="product_listing_idx"),
            models.Index(fields=["merchant", "updated_at"], name="product_merchant_updated_idx"),
            models.Index(fields=["merchant", "index_state"], name="product_merchant_index_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.title}"

    @property
    def title(self) -> str:
        return self.title_ar or self.title_en or self.sku

    @property
    def effective_price(self) -> Decimal:
        return self.sale_price if self.sale_price is not None and self.sale_price < self.price else self.price

    @property
    def image_url(self) -> str:
        """The card image: the first image URL the merchant gave, else the first uploaded file (absolute URL,
        since channels such as Telegram and WhatsApp fetch it themselves)."""
        if self.images:
            return str(self.images[0])
        if self.image_file:
            return absolute_media_url(self.image_file.url)
        return ""


def absolute_media_url(url: str) -> str:
    """Storage URLs are absolute on S3 and site-relative (`/media/…`) on the filesystem: prefix the public URL."""
    if url.startswith("/"):
        return settings.KALEEM_PUBLIC_URL.rstrip("/") + url
    return url


class ProductImage(TenantModel):
    """An image file uploaded for a product (validated by content, see catalog.images)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="uploaded_images")
    file = models.FileField(max_length=300)
    content_type = models.CharField(max_length=32)
    size_bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["merchant", "product", "created_at"], name="product_image_idx")]

    def __str__(self) -> str:
        return self.file.name


class Synonym(TenantModel):
    """A group of interchangeable search terms for one merchant, e.g. ["جزمة", "حذاء", "shoes"]."""

    terms = models.JSONField(default=list)

    def __str__(self) -> str:
        return " = ".join(self.terms)


class ImportJob(TenantModel):
    """One uploaded CSV/JSON file and its progress; `errors` holds row-level problems (row, sku, reason)."""

    MAX_STORED_ERRORS = 1000

    state = models.CharField(max_length=16, choices=ImportState.choices, default=ImportState.PENDING)
    format = models.CharField(max_length=8, choices=ImportFormat.choices, default=ImportFormat.CSV)
    file = models.FileField(upload_to="catalog/imports/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    encoding = models.CharField(max_length=32, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.filename} ({self.state})"
