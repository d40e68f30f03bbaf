from decimal import Decimal

from rest_framework import serializers

from catalog.choices import ProductStatus
from catalog.models import Category, ImportJob, Product, ProductImage, Synonym
from catalog.models.products import absolute_media_url


class CategoryOutput(serializers.ModelSerializer):
    parent = serializers.UUIDField(source="parent_id", allow_null=True)

    class Meta:
        model = Category
        fields = ["id", "slug", "name_ar", "name_en", "parent", "position", "created_at", "updated_at"]


class CategoryInput(serializers.Serializer):
    name_ar = serializers.CharField(max_length=200, required=False, allow_blank=True)
    name_en = serializers.CharField(max_length=200, required=False, allow_blank=True)
    slug = serializers.SlugField(max_length=120, required=False, allow_unicode=True)
    parent = serializers.UUIDField(required=False, allow_null=True)
    position = serializers.IntegerField(min_value=0, required=False)


def _absolute(serializer: serializers.Serializer, url: str) -> str:
    """The request's own host when there is one (API clients), else KALEEM_PUBLIC_URL; S3 URLs are already absolute."""
    request = serializer.context.get("request")
    if request is not None and url.startswith("/"):
        return request.build_absolute_uri(url)
    return absolute_media_url(url)


class ProductImageOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ProductImage
        fields = ["id", "url", "content_type", "size_bytes", "width", "height", "created_at"]

    def get_url(self, image: ProductImage) -> str:
        return _absolute(self, image.file.url)


class ProductImageInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)


class ProductOutput(serializers.ModelSerializer):
    category = serializers.UUIDField(source="category_id", allow_null=True)
    image_url = serializers.SerializerMethodField(help_text="Card image: the first image URL, else the first upload.")
    uploaded_images = ProductImageOutput(many=True, read_only=True)
    effective_price = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "title_ar",
            "title_en",
            "description_ar",
            "description_en",
            "price",
            "sale_price",
            "effective_price",
            "currency",
            "stock",
            "in_stock",
            "status",
            "category",
            "attributes",
            "tags",
            "images",
            "uploaded_images",
            "image_url",
            "source",
            "external_id",
            "index_state",
            "index_error",
            "indexed_at",
            "created_at",
            "updated_at",
        ]

    def get_image_url(self, product: Product) -> str:
        if product.images:
            return str(product.images[0])
        return _absolute(self, product.image_file.url) if product.image_file else ""


class ProductInput(serializers.Serializer):
    sku = serializers.CharField(max_length=100)
    title_ar = serializers.CharField(max_length=300, required=False, allow_blank=True)
    title_en = serializers.CharField(max_length=300, required=False, allow_blank=True)
    description_ar = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    description_en = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
    sale_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False, allow_null=True
    )
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    stock = serializers.IntegerField(min_value=0, max_value=10_000_000, required=False)
    in_stock = serializers.BooleanField(required=False)
    status = serializers.ChoiceField(choices=ProductStatus.choices, required=False)
    category = serializers.UUIDField(required=False, allow_null=True)
    attributes = serializers.DictField(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=60), max_length=50, required=False)
    images = serializers.ListField(child=serializers.URLField(max_length=1000), max_length=20, required=False)
    external_id = serializers.CharField(max_length=200, required=False, allow_null=True, allow_blank=True)

    def validate_attributes(self, value: dict) -> dict:
        if len(value) > 50 or len(str(value)) > 10_000:
            raise serializers.ValidationError("Too many or too large attributes.")
        return value


class SimilarQuery(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=50, required=False, default=6)


class SearchQuery(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True, max_length=5000)
    limit = serializers.IntegerField(min_value=1, max_value=50, required=False, default=10)
    category = serializers.CharField(required=False, max_length=120)
    price_min = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False)
    price_max = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False)
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)
    colour = serializers.CharField(required=False, max_length=40)
    size = serializers.CharField(required=False, max_length=20)
    tag = serializers.CharField(required=False, max_length=60)


class SearchHitOutput(serializers.Serializer):
    score = serializers.FloatField()
    product = ProductOutput()


class ImportJobOutput(serializers.ModelSerializer):
    class Meta:
        model = ImportJob
        fields = [
            "id",
            "state",
            "format",
            "filename",
            "size_bytes",
            "encoding",
            "processed_rows",
            "created_count",
            "updated_count",
            "error_count",
            "errors",
            "message",
            "created_at",
            "started_at",
            "finished_at",
        ]


class ImportInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
    format = serializers.ChoiceField(choices=["csv", "json", "jsonl"], required=False)


class SynonymOutput(serializers.ModelSerializer):
    class Meta:
        model = Synonym
        fields = ["id", "terms", "created_at"]


class SynonymInput(serializers.Serializer):
    terms = serializers.ListField(child=serializers.CharField(max_length=80), min_length=2, max_length=30)
