"""Staff admin for the catalog. Product writes go through services (outbox + index); admin actions too."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.models import Category, ImportJob, Product, ProductImage, Synonym
from catalog.search.indexing import IndexingError, index_products
from kaleem.admin import MerchantScopedAdmin, ReadOnlyAdminMixin


@admin.register(Category)
class CategoryAdmin(MerchantScopedAdmin):
    list_display = ["slug", "name_ar", "name_en", "parent", "position"]
    search_fields = ["slug", "name_ar", "name_en"]
    raw_id_fields = ["merchant", "parent"]


@admin.register(ProductImage)
class ProductImageAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    """Uploaded through the API (validated, stored, file deleted with the row), so staff only look."""

    list_display = ["file", "product", "content_type", "size_bytes", "width", "height", "created_at"]
    list_filter = ["content_type"]
    raw_id_fields = ["merchant", "product"]


@admin.register(Product)
class ProductAdmin(MerchantScopedAdmin):
    list_display = ["sku", "title_ar", "title_en", "price", "sale_price", "in_stock", "status", "index_state"]
    list_filter = ["status", "in_stock", "index_state", "source"]
    search_fields = ["sku", "title_ar", "title_en", "external_id"]
    raw_id_fields = ["merchant", "category"]
    readonly_fields = ["index_state", "index_error", "embedding_hash", "indexed_at", "tags_index"]
    actions = ["reindex"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # products are created through the API, imports or platform sync (outbox + index)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Re-index selected products now")
    def reindex(self, request: HttpRequest, queryset: QuerySet) -> None:
        by_merchant: dict[Any, list[str]] = {}
        for merchant_id, pk in queryset.values_list("merchant_id", "id"):
            by_merchant.setdefault(merchant_id, []).append(str(pk))
        failed = 0
        for merchant_id, ids in by_merchant.items():
            try:
                index_products(merchant_id=merchant_id, product_ids=ids)
            except IndexingError:
                failed += len(ids)
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(request, f"Re-indexed {queryset.count() - failed} products, {failed} failed.", level)


@admin.register(Synonym)
class SynonymAdmin(MerchantScopedAdmin):
    list_display = ["__str__"]
    raw_id_fields = ["merchant"]


@admin.register(ImportJob)
class ImportJobAdmin(MerchantScopedAdmin):
    list_display = [
        "filename",
        "state",
        "processed_rows",
        "created_count",
        "updated_count",
        "error_count",
        "created_at",
    ]
    list_filter = ["state", "format"]
    search_fields = ["filename"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


from catalog import commerce_admin  # noqa: E402, F401 - carts and orders (registered on import)
