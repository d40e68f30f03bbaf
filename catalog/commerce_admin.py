"""Staff admin for carts and orders (imported by catalog/admin.py). Orders are written by services only:
staff look, filter and move an order along its lifecycle through the service (history + outbox event)."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.commerce_services import CommerceError, order_set_status
from catalog.models import Cart, CartItem, Order, OrderItem, OrderStatusHistory
from kaleem.admin import MerchantScopedAdmin, ReadOnlyAdminMixin


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    can_delete = False
    readonly_fields = ["product", "sku", "title", "attributes", "quantity", "unit_price", "line_total"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderHistoryInline(admin.TabularInline):
    model = OrderStatusHistory
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "note", "actor", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = ["number", "status", "source", "payment_method", "total", "currency", "created_at"]
    list_filter = ["status", "source", "payment_method"]
    search_fields = ["number", "external_id"]  # PII is encrypted: not searchable
    inlines = [OrderItemInline, OrderHistoryInline]
    actions = ["mark_confirmed", "mark_shipped", "mark_delivered", "mark_cancelled"]

    def _move(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        moved = 0
        for order in queryset.select_related("merchant"):
            try:
                order_set_status(merchant=order.merchant, order=order, status=status, actor=f"staff:{request.user.pk}")
                moved += 1
            except CommerceError as exc:
                self.message_user(request, f"{order.number}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{moved} order(s) moved to {status}.")

    @admin.action(description="Mark confirmed")
    def mark_confirmed(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, "confirmed")

    @admin.action(description="Mark shipped")
    def mark_shipped(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, "shipped")

    @admin.action(description="Mark delivered")
    def mark_delivered(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, "delivered")

    @admin.action(description="Cancel (stock goes back)")
    def mark_cancelled(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, "cancelled")


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    can_delete = False
    readonly_fields = ["product", "attributes", "quantity", "unit_price", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Cart)
class CartAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = ["id", "status", "currency", "conversation_id", "created_at"]
    list_filter = ["status"]
    inlines = [CartItemInline]
