"""Commerce reads: carts, orders, order look-up by number."""

import re
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from catalog.models import Cart, Order
from kaleem.core.errors import NotFoundError

_NUMBER = re.compile(r"[A-Za-z]{0,3}\s*[-#]?\s*(\d{3,12})")


def cart_get(*, merchant: Any, cart_id: Any) -> Cart:
    cart = Cart.objects.for_merchant(merchant).filter(id=cart_id).first()
    if cart is None:
        raise NotFoundError("Cart not found.")
    return cart


def cart_list(*, merchant: Any) -> QuerySet[Cart]:
    return Cart.objects.for_merchant(merchant).prefetch_related("items__product")


def cart_summary(*, cart: Cart) -> dict[str, Any]:
    """Lines with titles and totals, in the order they were added."""
    lines = []
    total = Decimal("0")
    for item in cart.items.select_related("product").order_by("created_at", "id"):
        line_total = item.unit_price * item.quantity
        total += line_total
        lines.append(
            {
                "id": str(item.id),
                "product_id": str(item.product_id),
                "sku": item.product.sku,
                "title_ar": item.product.title_ar or item.product.title_en,
                "title_en": item.product.title_en or item.product.title_ar,
                "attributes": item.attributes,
                "quantity": item.quantity,
                "unit_price": item.unit_price,
                "line_total": line_total,
            }
        )
    return {"id": str(cart.id), "status": cart.status, "currency": cart.currency, "lines": lines, "total": total}


def order_list(*, merchant: Any, filters: dict | None = None) -> QuerySet[Order]:
    qs = Order.objects.for_merchant(merchant).prefetch_related("items")
    filters = filters or {}
    for key in ("status", "source", "payment_method"):
        if filters.get(key):
            qs = qs.filter(**{key: filters[key]})
    if filters.get("number"):
        qs = qs.filter(number=filters["number"])
    if filters.get("created_after"):
        qs = qs.filter(created_at__gte=filters["created_after"])
    if filters.get("created_before"):
        qs = qs.filter(created_at__lt=filters["created_before"])
    if filters.get("conversation_id"):
        qs = qs.filter(conversation_id=filters["conversation_id"])
    return qs


def order_get(*, merchant: Any, order_id: Any) -> Order:
    order = Order.objects.for_merchant(merchant).filter(id=order_id).prefetch_related("items", "history").first()
    if order is None:
        raise NotFoundError("Order not found.")
    return order


def order_find_by_number(*, merchant: Any, number: str) -> Order | None:
    """ "K-10042", "k10042", "10042", "#1001" → the order (ours first, then a synced platform's)."""
    raw = (number or "").strip()[:40]
    if not raw:
        return None
    qs = Order.objects.for_merchant(merchant)
    exact = qs.filter(number=raw).first() or qs.filter(number=raw.upper()).first()
    if exact is not None:
        return exact
    match = _NUMBER.search(raw)
    if not match:
        return None
    digits = match.group(1)
    candidates = [f"K-{digits}", f"#{digits}", digits]
    found = {o.number: o for o in qs.filter(number__in=candidates)}
    for candidate in candidates:
        if candidate in found:
            return found[candidate]
    return None
