"""Staff admin for platform rows, and the base every tenant model admin uses.

`MerchantScopedAdmin` guarantees a merchant column, a merchant list filter and a merchant search on
every tenant-owned model, even when a subclass sets its own `list_filter` / `list_display`:

    @admin.register(Product)
    class ProductAdmin(MerchantScopedAdmin):
        list_display = ["title", "sku", "price"]        # "merchant" is appended
        list_filter = ["status"]                        # the merchant filter is prepended

`scope_tenant_admins()` (run from KaleemConfig.ready(), after admin autodiscovery) gives every
registered admin of a model with a `merchant` foreign key this behaviour even if its author forgot the
base class, so staff can always filter tenant rows by merchant.
"""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from kaleem.models import IdempotencyRecord, OutboxEvent
from kaleem.outbox.services import replay_dead


class MerchantListFilter(admin.RelatedOnlyFieldListFilter):
    """Lists only merchants that own rows of this model (short, even with many tenants)."""

    title = "merchant"


class MerchantScopedAdmin(admin.ModelAdmin):
    merchant_field = "merchant"

    def _has_merchant_filter(self, filters: list) -> bool:
        return any(
            f == self.merchant_field or (isinstance(f, tuple | list) and f and f[0] == self.merchant_field)
            for f in filters
        )

    def get_list_filter(self, request: HttpRequest) -> list:
        filters = list(super().get_list_filter(request))
        if not self._has_merchant_filter(filters):
            filters.insert(0, (self.merchant_field, MerchantListFilter))
        return filters

    def get_list_display(self, request: HttpRequest) -> list:
        display = list(super().get_list_display(request))
        if self.merchant_field not in display:
            display.append(self.merchant_field)
        return display

    def get_search_fields(self, request: HttpRequest) -> list:
        fields = list(super().get_search_fields(request))
        for lookup in (f"{self.merchant_field}__slug", f"{self.merchant_field}__name"):
            if lookup not in fields:
                fields.append(lookup)
        return fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related(self.merchant_field)


def _is_tenant_model(model: type) -> bool:
    try:
        field = model._meta.get_field("merchant")
    except Exception:  # FieldDoesNotExist
        return False
    return getattr(field, "related_model", None) is not None and field.related_model._meta.label == "merchants.Merchant"


def scope_tenant_admins(site: admin.AdminSite | None = None) -> list[str]:
    """Re-register tenant-model admins that do not subclass MerchantScopedAdmin with a subclass that
    does (their own options and methods still apply: MerchantScopedAdmin only adds). Returns labels."""
    site = site or admin.site
    wrapped = []
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, MerchantScopedAdmin) or not _is_tenant_model(model):
            continue
        original = type(model_admin)
        scoped = type(original.__name__, (MerchantScopedAdmin, original), {"__module__": original.__module__})
        site.unregister(model)
        site.register(model, scoped)
        wrapped.append(model._meta.label)
    return wrapped


class ReadOnlyAdminMixin:
    """Rows written only by services: staff may look, not edit."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = ["event_type", "state", "attempts", "created_at", "available_at", "processed_at"]
    list_filter = ["state", "event_type"]
    search_fields = ["event_type", "last_error"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    readonly_fields = [
        "id",
        "merchant",
        "event_type",
        "payload",
        "state",
        "attempts",
        "available_at",
        "claimed_at",
        "claim_token",
        "processed_at",
        "last_error",
        "created_at",
    ]
    actions = ["replay_dead_letters"]

    @admin.action(description="Replay selected dead letters")
    def replay_dead_letters(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.filter(state=OutboxEvent.State.DEAD).values_list("id", flat=True))
        count = replay_dead(event_ids=ids)
        skipped = queryset.count() - count
        self.message_user(request, f"{count} dead letter(s) queued for delivery again.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"{skipped} selected event(s) were not dead letters.", messages.WARNING)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "scope", "state", "response_status", "created_at", "expires_at"]
    list_filter = ["state"]
    search_fields = ["key", "scope"]
    ordering = ["-created_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # freeing a stuck key is a legitimate staff operation
