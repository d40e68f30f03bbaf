"""Catalog writes. Each one is a single transaction that also records the outbox event(s) for the index."""

import logging
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError
from django.utils.text import slugify

from catalog.choices import IndexState, ProductSource, ProductStatus
from catalog.errors import CatalogError, DuplicateSkuError
from catalog.events import PRODUCT_CHANGED, PRODUCT_REMOVED, products_payload
from catalog.images import ImageUploadError, inspect_image
from catalog.models import Category, Product, ProductImage, Synonym
from catalog.search.engine import catalog_version_bump
from kaleem.core.errors import NotFoundError
from kaleem.db import atomic, on_commit
from kaleem.outbox import emit

logger = logging.getLogger(__name__)

PRODUCT_FIELDS = (
    "sku",
    "title_ar",
    "title_en",
    "description_ar",
    "description_en",
    "price",
    "sale_price",
    "currency",
    "stock",
    "in_stock",
    "status",
    "category",
    "attributes",
    "tags",
    "images",
    "source",
    "external_id",
)


_INDEX_FIELDS = {"index_error", "embedding_hash", "indexed_at"}
# image_file mirrors the first ProductImage and is written only by product_image_add/delete (conditional updates),
# so a product edit from an instance read before an upload cannot wipe it.
_WRITABLE_FIELDS = [
    f.name
    for f in Product._meta.concrete_fields
    if not f.primary_key and f.name not in _INDEX_FIELDS | {"merchant", "created_at", "image_file"}
]


def _changed(merchant: Any, product_ids: list[Any]) -> None:
    emit(merchant=merchant, event_type=PRODUCT_CHANGED, payload=products_payload(product_ids))
    _bump(merchant)


def _bump(merchant: Any) -> None:
    catalog_version_bump(merchant.pk)
    on_commit(lambda: catalog_version_bump(merchant.pk))  # again after commit: readers rebuilt mid-write refresh


def _clean_tags(tags: Any) -> list[str]:
    if tags in (None, ""):
        return []
    if isinstance(tags, str):
        tags = [t for part in tags.split("|") for t in part.split(",")]
    if not isinstance(tags, list | tuple):
        raise CatalogError("tags must be a list of strings.", fields={"tags": ["Expected a list."]})
    return list(dict.fromkeys(str(t).strip() for t in tags if str(t).strip()))[:50]


def _apply(product: Product, data: dict[str, Any]) -> None:
    unknown = set(data) - set(PRODUCT_FIELDS)
    if unknown:
        raise CatalogError(f"Unknown product fields: {', '.join(sorted(unknown))}.")
    for key, value in data.items():
        if key == "tags":
            value = _clean_tags(value)
        elif key in ("attributes",) and value is None:
            value = {}
        elif key == "images" and value is None:
            value = []
        elif key in ("title_ar", "title_en", "description_ar", "description_en", "sku") and value is None:
            value = ""
        setattr(product, key, value)
    product.tags_index = "|" + "|".join(t.lower() for t in product.tags or []) + "|" if product.tags else ""
    if "stock" in data and "in_stock" not in data:
        product.in_stock = (product.stock or 0) > 0
    if product.sale_price is not None and product.price is not None and product.sale_price > product.price:
        raise CatalogError("Sale price cannot exceed the price.", fields={"sale_price": ["Must be ≤ price."]})
    if not (product.title_ar or product.title_en):
        raise CatalogError("A product needs a title in Arabic or English.", fields={"title_ar": ["Required."]})
    if not isinstance(product.attributes, dict):
        raise CatalogError("attributes must be an object.", fields={"attributes": ["Expected an object."]})
    if not isinstance(product.images, list):
        raise CatalogError("images must be a list of URLs.", fields={"images": ["Expected a list."]})


def _validate_category(merchant: Any, category: Any) -> None:
    if category is not None and category.merchant_id != merchant.pk:
        raise NotFoundError("Category not found.")


def _save(product: Product, *, exclude: list[str] | None = None) -> None:
    try:
        product.full_clean(exclude=["merchant", "category", "image_file", *(exclude or [])], validate_unique=False)
    except ValidationError as exc:
        raise CatalogError("Invalid product.", fields=exc.message_dict) from exc
    try:
        with atomic():
            if product._state.adding:
                product.save()
            else:
                # Never write the index bookkeeping from a possibly stale instance: the indexer owns it.
                product.index_state = IndexState.PENDING
                product.save(update_fields=_WRITABLE_FIELDS)
    except IntegrityError as exc:
        raise DuplicateSkuError(
            "A product with this SKU (or external id) already exists in this store.", fields={"sku": ["Duplicate."]}
        ) from exc


def product_create(*, merchant: Any, data: dict[str, Any]) -> Product:
    """Create a product from validated field values; emits product.changed in the same transaction."""
    _validate_category(merchant, data.get("category"))
    product = Product(merchant=merchant, index_state=IndexState.PENDING)
    _apply(product, data)
    with atomic():
        _save(product)
        _changed(merchant, [product.id])
    return product


def product_update(*, merchant: Any, product: Product, data: dict[str, Any]) -> Product:
    if product.merchant_id != merchant.pk:
        raise NotFoundError("Product not found.")
    _validate_category(merchant, data.get("category"))
    _apply(product, data)
    with atomic():
        _save(product)
        _changed(merchant, [product.id])
    return product


def product_archive(*, merchant: Any, product: Product) -> Product:
    """Archived products stay in the database (orders reference them) and leave the search index."""
    return product_update(merchant=merchant, product=product, data={"status": ProductStatus.ARCHIVED})


def product_delete(*, merchant: Any, product: Product) -> None:
    if product.merchant_id != merchant.pk:
        raise NotFoundError("Product not found.")
    product_id = product.id
    with atomic():
        files = list(ProductImage.objects.for_merchant(merchant).filter(product=product).values_list("file", flat=True))
        product.delete()  # cascades to its ProductImage rows
        emit(merchant=merchant, event_type=PRODUCT_REMOVED, payload=products_payload([product_id]))
        _bump(merchant)
        if files:
            on_commit(lambda: _delete_files(files))


def products_upsert_batch(
    *, merchant: Any, rows: list[dict[str, Any]], source: str = ProductSource.IMPORT
) -> tuple[int, int]:
    """Create or update many products by SKU in ONE transaction (all or nothing) and one outbox event.

    Rows must already be validated field dicts (see catalog.imports). Returns (created, updated)."""
    if not rows:
        return 0, 0
    skus = [r["sku"] for r in rows]
    existing = {p.sku: p for p in Product.objects.for_merchant(merchant).filter(sku__in=skus)}
    created = updated = 0
    ids: list[Any] = []
    with atomic():
        for row in rows:
            product = existing.get(row["sku"])
            if product is None:
                product = Product(merchant=merchant, source=source, index_state=IndexState.PENDING)
                created += 1
            else:
                updated += 1
            _apply(product, row)
            _save(product)
            ids.append(product.id)
        _changed(merchant, ids)
    return created, updated


def category_create(
    *,
    merchant: Any,
    name_ar: str = "",
    name_en: str = "",
    slug: str = "",
    parent: Category | None = None,
    position: int = 0,
) -> Category:
    if not (name_ar or name_en):
        raise CatalogError("A category needs a name in Arabic or English.", fields={"name_ar": ["Required."]})
    if parent is not None and parent.merchant_id != merchant.pk:
        raise NotFoundError("Parent category not found.")
    slug = slug or slugify(name_en or name_ar, allow_unicode=True)[:120] or "category"
    category = Category(
        merchant=merchant, name_ar=name_ar, name_en=name_en, slug=slug, parent=parent, position=position
    )
    try:
        with atomic():
            category.save()
            _bump(merchant)
    except IntegrityError as exc:
        raise CatalogError("A category with this slug already exists.", code="duplicate_slug", status_code=409) from exc
    return category


def category_update(*, merchant: Any, category: Category, data: dict[str, Any]) -> Category:
    if category.merchant_id != merchant.pk:
        raise NotFoundError("Category not found.")
    parent = data.get("parent", category.parent)
    if parent is not None:
        if parent.merchant_id != merchant.pk:
            raise NotFoundError("Parent category not found.")
        node = parent
        while node is not None:  # refuse cycles
            if node.pk == category.pk:
                raise CatalogError("A category cannot be its own ancestor.", fields={"parent": ["Cycle."]})
            node = node.parent
    for key in ("name_ar", "name_en", "slug", "parent", "position"):
        if key in data:
            setattr(category, key, data[key])
    try:
        with atomic():
            category.save()
            ids = list(Product.objects.for_merchant(merchant).filter(category=category).values_list("id", flat=True))
            if ids:
                _changed(merchant, ids)  # names and ancestry are part of the products' search text/payload
            _bump(merchant)
    except IntegrityError as exc:
        raise CatalogError("A category with this slug already exists.", code="duplicate_slug", status_code=409) from exc
    return category


def category_delete(*, merchant: Any, category: Category) -> None:
    if category.merchant_id != merchant.pk:
        raise NotFoundError("Category not found.")
    with atomic():
        ids = list(Product.objects.for_merchant(merchant).filter(category=category).values_list("id", flat=True))
        category.delete()
        if ids:
            _changed(merchant, ids)
        _bump(merchant)


def synonym_group_set(*, merchant: Any, terms: list[str], synonym: Synonym | None = None) -> Synonym:
    cleaned = list(dict.fromkeys(str(t).strip() for t in terms if str(t).strip()))
    if len(cleaned) < 2:
        raise CatalogError("A synonym group needs at least two terms.", fields={"terms": ["At least two."]})
    with atomic():
        if synonym is None:
            synonym = Synonym.objects.create(merchant=merchant, terms=cleaned)
        else:
            synonym.terms = cleaned
            synonym.save(update_fields=["terms", "updated_at"])
        _bump(merchant)
    return synonym


def parse_decimal(value: Any, *, field: str) -> Decimal:
    """A price from user input: accepts Arabic-Indic digits, thousands separators and a currency word."""
    from catalog.search.normalize import normalize_text

    text = normalize_text(str(value)).replace(",", "").replace("٬", "")
    for word in ("sar", "ريال", "رس", "ر.س", "sr", "$"):
        text = text.replace(word, "")
    try:
        number = Decimal(text.strip())
    except InvalidOperation as exc:
        raise CatalogError(f"{field} is not a number: {str(value)[:40]!r}", fields={field: ["Not a number."]}) from exc
    if not number.is_finite() or number < 0 or number >= Decimal("10000000000"):
        raise CatalogError(f"{field} is out of range: {str(value)[:40]!r}", fields={field: ["Out of range."]})
    return number.quantize(Decimal("0.01"))


def synonym_group_delete(*, merchant: Any, synonym: Synonym) -> None:
    if synonym.merchant_id != merchant.pk:
        raise NotFoundError("Synonym group not found.")
    with atomic():
        synonym.delete()
        _bump(merchant)


def _delete_files(names: list[str]) -> None:
    """Best effort after commit: a file that cannot be removed is only an orphan in storage, never lost data."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # storage outage: log and move on, the row is already gone
            logger.warning("could not delete stored image %s", name, exc_info=True)


def product_image_add(*, merchant: Any, product: Product, upload: Any) -> ProductImage:
    """Validate an uploaded image by its content (catalog.images.inspect_image), store it in the default storage
    (filesystem or S3) under a generated name, and record it. The first image becomes the product's card image
    unless the product has image URLs. A failed database write removes the stored file again."""
    if product.merchant_id != merchant.pk:
        raise NotFoundError("Product not found.")
    limit = int(getattr(settings, "CATALOG_IMAGES_PER_PRODUCT", 10))
    if ProductImage.objects.for_merchant(merchant).filter(product=product).count() >= limit:
        raise ImageUploadError(
            f"A product can have at most {limit} uploaded images; delete one first.",
            code="too_many_images",
            status_code=409,
        )
    info = inspect_image(upload)
    name = default_storage.save(f"catalog/products/{merchant.pk.hex}/{uuid.uuid4().hex}.{info.extension}", upload)
    try:
        with atomic():
            if not Product.objects.for_merchant(merchant).filter(id=product.id).exists():
                raise NotFoundError("Product not found.")  # deleted while the file was being stored
            image = ProductImage.objects.create(
                merchant=merchant,
                product=product,
                file=name,
                content_type=info.content_type,
                size_bytes=info.size_bytes,
                width=info.width,
                height=info.height,
            )
            # Only when the product has no uploaded card image yet: concurrent uploads cannot overwrite each other.
            if Product.objects.for_merchant(merchant).filter(id=product.id, image_file="").update(image_file=name):
                product.image_file = name
    except IntegrityError as exc:  # the product row vanished before commit (foreign keys checked at commit)
        _delete_files([name])
        raise NotFoundError("Product not found.") from exc
    except BaseException:
        _delete_files([name])
        raise
    return image


def product_image_delete(*, merchant: Any, product: Product, image_id: Any) -> None:
    """Delete one uploaded image (row now, file after commit); the next one becomes the card image."""
    if product.merchant_id != merchant.pk:
        raise NotFoundError("Product not found.")
    try:
        image = ProductImage.objects.for_merchant(merchant).get(product=product, id=image_id)
    except (ProductImage.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFoundError("Image not found.") from exc
    name = image.file.name
    with atomic():
        image.delete()
        following = (
            ProductImage.objects.for_merchant(merchant).filter(product=product).values_list("file", flat=True).first()
        )
        scoped = Product.objects.for_merchant(merchant).filter(id=product.id, image_file=name)
        if scoped.update(image_file=following or ""):
            product.image_file = following or ""
        on_commit(lambda: _delete_files([name]))
