"""Staff admin for platform rows, and the base every tenant model admin uses.

`MerchantScopedAdmin` guarantees a merchant column, a merchant list filter and a merchant search on
every tenant-owned model, even when a subclass sets its own `list_filter` / `list_display`:

    @admin.register(Product)
    class ProductAdmin(MerchantScopedAdmin):
        list_display = ["title", "sku", "price"]        # "merchant" is appended
        list_filter = ["status"]                        # the merchant filter is prepended
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
    list_per_page = 50

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
