"""Commerce writes: carts, orders, order status. Each write is one transaction that also records
its outbox events (order.created, order.status_changed, product.out_of_stock, product.changed).

Concurrency without row locks (the ORM also runs on MongoDB): order numbers come from a unique
(merchant, number_seq) constraint with retry, stock is taken with a conditional `update()`
(`stock >= qty`), a cart is checked out by a conditional OPEN → CHECKED_OUT update, and status
changes are conditional on the status read."""

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.db import IntegrityError
from django.db.models import F, Max
from django.utils import timezone
from rest_framework import status as http

from catalog.choices import ProductStatus
from catalog.events import PRODUCT_CHANGED, products_payload
from catalog.models import Cart, CartItem, Order, OrderItem, OrderStatusHistory, Product
from catalog.models.commerce import CartStatus, OrderSource, OrderStatus, PaymentMethod
from catalog.search.engine import catalog_version_bump
from kaleem.core.errors import ApplicationError, NotFoundError
from kaleem.db import atomic
from kaleem.outbox import emit

ORDER_CREATED = "order.created"
ORDER_STATUS_CHANGED = "order.status_changed"
PRODUCT_OUT_OF_STOCK = "product.out_of_stock"
ORDER_NUMBER_PREFIX = "K-"
FIRST_ORDER_SEQ = 10001
MAX_LINES = 50
MAX_QUANTITY = 99

TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.PENDING: {OrderStatus.CONFIRMED, OrderStatus.CANCELLED},
    OrderStatus.CONFIRMED: {OrderStatus.SHIPPED, OrderStatus.CANCELLED},
    OrderStatus.SHIPPED: {OrderStatus.DELIVERED, OrderStatus.RETURNED},
    OrderStatus.DELIVERED: {OrderStatus.RETURNED},
    OrderStatus.CANCELLED: set(),
    OrderStatus.RETURNED: set(),
}
STATUS_TIMESTAMP = {
    OrderStatus.CONFIRMED: "confirmed_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.CANCELLED: "cancelled_at",
    OrderStatus.RETURNED: "returned_at",
}
RESTOCK_ON = {OrderStatus.CANCELLED}  # a returned parcel is inspected before it is sellable again


class CommerceError(ApplicationError):
    code = "commerce_error"


class OutOfStockError(CommerceError):
    code = "out_of_stock"
    status_code = http.HTTP_409_CONFLICT


class PriceChangedError(CommerceError):
    code = "price_changed"
    status_code = http.HTTP_409_CONFLICT


class InvalidTransitionError(CommerceError):
    code = "invalid_transition"
    status_code = http.HTTP_409_CONFLICT


# --- validation helpers -------------------------------------------------------------------------

_ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_PHONE_NOISE = re.compile(r"[\s\-().]")


def normalize_saudi_phone(value: str) -> str | None:
    """Saudi mobile numbers in the forms customers type (05XXXXXXXX, 5XXXXXXXX, 9665XXXXXXXX,
    +9665…, 009665…, Arabic-Indic digits, spaces/dashes) → "+9665XXXXXXXX"; None when invalid."""
    digits = _PHONE_NOISE.sub("", (value or "").translate(_ARABIC_DIGITS))
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if not digits.isdigit():
        return None
    if digits.startswith("966"):
        digits = digits[3:]
    if digits.startswith("0"):
        digits = digits[1:]
    if len(digits) == 9 and digits.startswith("5"):
        return "+966" + digits
    return None


def effective_price(product: Product) -> Decimal:
    return product.sale_price if product.sale_price is not None else product.price


def _attributes_key(attributes: dict | None) -> str:
    if not attributes:
        return ""
    return "|".join(f"{k}={attributes[k]}" for k in sorted(attributes))[:200]


def _product(merchant: Any, product: Any) -> Product:
    if isinstance(product, Product):
        if product.merchant_id != merchant.pk:
            raise NotFoundError("Product not found.")
        return product
    found = Product.objects.for_merchant(merchant).filter(id=product).first()
    if found is None:
        raise NotFoundError("Product not found.")
    return found


# --- carts ---------------------------------------------------------------------------------------


def cart_open(*, merchant: Any, cart_id: Any = None, conversation_id: Any = None, contact_id: Any = None) -> Cart:
    """The open cart `cart_id` (if still open and ours), else a new one."""
    if cart_id:
        cart = Cart.objects.for_merchant(merchant).filter(id=cart_id, status=CartStatus.OPEN).first()
        if cart is not None:
            return cart
    return Cart.objects.create(
        merchant=merchant,
        conversation_id=conversation_id,
        contact_id=contact_id,
        currency=getattr(merchant, "currency", "") or "SAR",
    )


def _check_open(cart: Cart) -> None:
    # read from the table: the caller's instance may predate a checkout in another request
    if not Cart.objects.filter(id=cart.pk, status=CartStatus.OPEN).exists():
        raise CommerceError("This cart was already checked out.", code="cart_closed", status_code=409)


def cart_add_item(
    *, merchant: Any, cart: Cart, product: Any, quantity: int = 1, attributes: dict | None = None
) -> CartItem:
    """Add (or increase) a line; the unit price is captured now and re-checked at checkout."""
    _check_open(cart)
    product = _product(merchant, product)
    if product.status != ProductStatus.ACTIVE:
        raise NotFoundError("Product not found.")
    if not 1 <= quantity <= MAX_QUANTITY:
        raise CommerceError(f"Quantity must be between 1 and {MAX_QUANTITY}.", fields={"quantity": ["Out of range."]})
    key = _attributes_key(attributes)
    item = CartItem.objects.filter(cart=cart, product=product, attributes_key=key).first()
    wanted = quantity + (item.quantity if item else 0)
    if product.stock < wanted:
        raise OutOfStockError(f"Only {max(product.stock, 0)} left of {product.sku}.", fields={"product": [product.sku]})
    if item is None:
        if cart.items.count() >= MAX_LINES:
            raise CommerceError(f"A cart holds at most {MAX_LINES} lines.")
        try:
            with atomic():
                return CartItem.objects.create(
                    cart=cart,
                    product=product,
                    attributes=attributes or {},
                    attributes_key=key,
                    quantity=quantity,
                    unit_price=effective_price(product),
                )
        except IntegrityError:  # the same line was added concurrently: fall through to increment
            item = CartItem.objects.get(cart=cart, product=product, attributes_key=key)
    CartItem.objects.filter(id=item.id).update(quantity=F("quantity") + quantity, unit_price=effective_price(product))
    item.refresh_from_db()
    return item


def cart_set_quantity(*, merchant: Any, cart: Cart, item_id: Any, quantity: int) -> CartItem | None:
    """Quantity 0 removes the line. Returns the line, or None when removed."""
    _check_open(cart)
    if cart.merchant_id != merchant.pk:
        raise NotFoundError("Cart not found.")
    item = CartItem.objects.filter(cart=cart, id=item_id).select_related("product").first()
    if item is None:
        raise NotFoundError("Cart item not found.")
    if quantity <= 0:
        item.delete()
        return None
    if quantity > MAX_QUANTITY:
        raise CommerceError(f"Quantity must be between 1 and {MAX_QUANTITY}.", fields={"quantity": ["Out of range."]})
    if item.product.stock < quantity:
        raise OutOfStockError(f"Only {max(item.product.stock, 0)} left of {item.product.sku}.")
    CartItem.objects.filter(id=item.id).update(quantity=quantity)
    item.quantity = quantity
    return item


def cart_remove_item(*, merchant: Any, cart: Cart, item_id: Any) -> None:
    cart_set_quantity(merchant=merchant, cart=cart, item_id=item_id, quantity=0)


def cart_refresh_prices(*, cart: Cart) -> bool:
    """Re-capture current prices; True when any changed (the customer must see the new total)."""
    changed = False
    for item in cart.items.select_related("product"):
        price = effective_price(item.product)
        if price != item.unit_price:
            CartItem.objects.filter(id=item.id).update(unit_price=price)
            changed = True
    return changed


# --- orders --------------------------------------------------------------------------------------


@dataclass
class OrderLine:
    product: Product
    quantity: int
    attributes: dict
    unit_price: Decimal


def _customer(customer: dict, *, required: bool) -> dict:
    data = {k: str(customer.get(k) or "").strip()[:500] for k in ("name", "phone", "email", "city", "address")}
    errors: dict[str, list[str]] = {}
    if data["phone"]:
        phone = normalize_saudi_phone(data["phone"])
        if phone is None and required:
            errors["phone"] = ["Enter a Saudi mobile number, e.g. 05XXXXXXXX."]
        elif phone is None:
            pass  # a platform's record: keep what the platform stored
        else:
            data["phone"] = phone
    if required:
        for key in ("name", "phone", "city", "address"):
            if not data[key] and key not in errors:
                errors[key] = ["Required."]
    if errors:
        raise CommerceError("Invalid customer details.", code="invalid", fields=errors)
    return data


def _lines(merchant: Any, lines: list[dict]) -> list[OrderLine]:
    if not lines:
        raise CommerceError("An order needs at least one item.", code="empty_order")
    if len(lines) > MAX_LINES:
        raise CommerceError(f"An order holds at most {MAX_LINES} lines.")
    ids = [line["product"].pk if isinstance(line["product"], Product) else line["product"] for line in lines]
    products = {str(p.pk): p for p in Product.objects.for_merchant(merchant).filter(id__in=ids)}
    result = []
    for line, pid in zip(lines, ids, strict=True):
        product = products.get(str(pid))
        if product is None or product.status != ProductStatus.ACTIVE:
            raise NotFoundError("Product not found.", fields={"items": [str(pid)]})
        quantity = int(line.get("quantity") or 1)
        if not 1 <= quantity <= MAX_QUANTITY:
            raise CommerceError(f"Quantity must be between 1 and {MAX_QUANTITY}.", fields={"quantity": [str(pid)]})
        current = effective_price(product)
        expected = line.get("unit_price")
        if expected is not None and Decimal(str(expected)) != current:
            raise PriceChangedError(
                f"The price of {product.sku} is now {current}.",
                fields={"items": [{"product": str(product.pk), "unit_price": str(current)}]},
            )
        if product.stock < quantity:
            raise OutOfStockError(
                f"Only {max(product.stock, 0)} left of {product.sku}.", fields={"items": [str(product.pk)]}
            )
        result.append(OrderLine(product, quantity, dict(line.get("attributes") or {}), current))
    return result


def _next_seq(merchant: Any) -> int:
    current = Order.objects.for_merchant(merchant).aggregate(m=Max("number_seq"))["m"]
    return (current or FIRST_ORDER_SEQ - 1) + 1


def _take_stock(merchant: Any, lines: list[OrderLine]) -> list[Product]:
    """Conditional decrements: a concurrent buyer who took the last unit makes this one fail.
    Returns the products this sale emptied (their product.out_of_stock follows order.created)."""
    emptied = []
    for line in lines:
        taken = Product.objects.filter(id=line.product.pk, merchant_id=merchant.pk, stock__gte=line.quantity).update(
            stock=F("stock") - line.quantity
        )
        if not taken:
            raise OutOfStockError(f"{line.product.sku} just sold out.", fields={"items": [str(line.product.pk)]})
        if Product.objects.filter(id=line.product.pk, stock__lte=0, in_stock=True).update(in_stock=False):
            emptied.append(line.product)
    emit(merchant=merchant, event_type=PRODUCT_CHANGED, payload=products_payload([line.product.pk for line in lines]))
    return emptied


def _emit_out_of_stock(merchant: Any, products: list[Product]) -> None:
    for product in products:
        emit(
            merchant=merchant,
            event_type=PRODUCT_OUT_OF_STOCK,
            payload={
                "version": 1,
                "product_id": str(product.pk),
                "sku": product.sku,
                "title": product.title_ar or product.title_en,
            },
        )


def order_event_payload(order: Order) -> dict[str, Any]:
    """No PII in events (outbox rows are not encrypted): receivers fetch details from the API."""
    return {
        "version": 1,
        "order_id": str(order.pk),
        "number": order.number,
        "status": order.status,
        "source": order.source,
        "payment_method": order.payment_method,
        "currency": order.currency,
        "total": str(order.total),
        "items": [
            {"sku": i.sku, "title": i.title, "quantity": i.quantity, "unit_price": str(i.unit_price)}
            for i in order.items.all()
        ],
        "conversation_id": str(order.conversation_id) if order.conversation_id else None,
    }


def payment_link_available(merchant: Any) -> bool:
    """The payment-link method is offered only when the store configured its link template."""
    return bool(getattr(merchant, "payment_link_template", ""))


def order_payment_url(order: Order, merchant: Any = None) -> str | None:
    """The link a customer pays a "payment link" order with: the store's template
    (merchants.services.payment_link_template_clean validated it) with the order's number, id, amount
    and currency filled in, each URL-encoded. Rendered when asked, so it follows the store's current
    template; None for other payment methods or when the store has no template (any more)."""
    if order.payment_method != PaymentMethod.PAYMENT_LINK:
        return None
    merchant = merchant if merchant is not None and merchant.pk == order.merchant_id else order.merchant
    template = getattr(merchant, "payment_link_template", "")
    if not template:
        return None
    values = {
        "order_number": order.number,
        "order_id": str(order.pk),
        "amount": f"{order.total:.2f}",
        "currency": order.currency,
    }
    try:
        return template.format(**{k: quote(v, safe="") for k, v in values.items()})
    except (KeyError, IndexError, ValueError):  # a template edited behind the validation (admin/DB)
        return None


def _existing(merchant: Any, source: str, key: str | None) -> Order | None:
    if not key:
        return None
    return Order.objects.for_merchant(merchant).filter(source=source, idempotency_key=key).first()


def order_create(
    *,
    merchant: Any,
    lines: list[dict],
    customer: dict,
    source: str = OrderSource.API,
    payment_method: str = PaymentMethod.CASH_ON_DELIVERY,
    idempotency_key: str | None = None,
    cart: Cart | None = None,
    contact_id: Any = None,
    conversation_id: Any = None,
    notes: str = "",
    actor: str = "",
) -> tuple[Order, bool]:
    """Create an order (stock and price validated now). Returns (order, created); the same
    idempotency key (or the same cart) returns the first order instead of creating another."""
    existing = _existing(merchant, source, idempotency_key)
    if existing is not None:
        return existing, False
    if cart is not None:
        done = Order.objects.for_merchant(merchant).filter(cart=cart).first()
        if done is not None:
            return done, False
    if payment_method not in PaymentMethod.values:
        raise CommerceError("Unknown payment method.", fields={"payment_method": ["Invalid choice."]})
    if payment_method == PaymentMethod.PAYMENT_LINK and not payment_link_available(merchant):
        message = "This store has no payment link configured; use cash on delivery."
        raise CommerceError(message, code="payment_link_unavailable", fields={"payment_method": [message]})
    details = _customer(customer, required=True)
    priced = _lines(merchant, lines)
    subtotal = sum((line.unit_price * line.quantity for line in priced), Decimal("0"))
    currency = priced[0].product.currency or "SAR"
    for _attempt in range(10):
        seq = _next_seq(merchant) + _attempt  # after a collision skip ahead instead of re-reading the same max
        try:
            with atomic():
                if cart is not None:
                    closed = Cart.objects.filter(id=cart.pk, merchant_id=merchant.pk, status=CartStatus.OPEN).update(
                        status=CartStatus.CHECKED_OUT
                    )
                    if not closed:
                        raise _CartAlreadyCheckedOut
                order = Order.objects.create(
                    merchant=merchant,
                    number=f"{ORDER_NUMBER_PREFIX}{seq}",
                    number_seq=seq,
                    source=source,
                    payment_method=payment_method,
                    currency=currency,
                    subtotal=subtotal,
                    total=subtotal,
                    customer_name=details["name"],
                    customer_phone=details["phone"],
                    customer_email=details["email"],
                    shipping_city=details["city"],
                    shipping_address=details["address"],
                    notes=notes[:2000],
                    contact_id=contact_id,
                    conversation_id=conversation_id,
                    cart=cart,
                    idempotency_key=idempotency_key or None,
                )
                OrderItem.objects.bulk_create(
                    [
                        OrderItem(
                            order=order,
                            product=line.product,
                            sku=line.product.sku,
                            title=(line.product.title_ar or line.product.title_en)[:300],
                            attributes=line.attributes,
                            quantity=line.quantity,
                            unit_price=line.unit_price,
                            line_total=line.unit_price * line.quantity,
                        )
                        for line in priced
                    ]
                )
                emptied = _take_stock(merchant, priced)
                OrderStatusHistory.objects.create(order=order, to_status=order.status, actor=actor or source)
                emit(merchant=merchant, event_type=ORDER_CREATED, payload=order_event_payload(order))
                _emit_out_of_stock(merchant, emptied)
        except _CartAlreadyCheckedOut:
            done = Order.objects.for_merchant(merchant).filter(cart=cart).first()
            if done is not None:
                return done, False
            raise CommerceError("This cart was already checked out.", code="cart_closed", status_code=409) from None
        except IntegrityError:
            existing = _existing(merchant, source, idempotency_key)
            if existing is not None:  # a concurrent duplicate won the race
                return existing, False
            continue  # another order took this number: try the next one
        catalog_version_bump(merchant.pk)
        return order, True
    raise CommerceError("Could not allocate an order number; retry.", code="conflict", status_code=409)


class _CartAlreadyCheckedOut(Exception):
    pass


def order_create_from_cart(
    *,
    merchant: Any,
    cart: Cart,
    customer: dict,
    source: str = OrderSource.CHAT,
    payment_method: str = PaymentMethod.CASH_ON_DELIVERY,
    idempotency_key: str | None = None,
    actor: str = "",
) -> tuple[Order, bool]:
    lines = [
        {
            "product": item.product_id,
            "quantity": item.quantity,
            "attributes": item.attributes,
            "unit_price": item.unit_price,
        }
        for item in cart.items.all()
    ]
    if not lines:
        done = Order.objects.for_merchant(merchant).filter(cart=cart).first()
        if done is not None:
            return done, False
        raise CommerceError("The cart is empty.", code="empty_cart")
    return order_create(
        merchant=merchant,
        lines=lines,
        customer=customer,
        source=source,
        payment_method=payment_method,
        idempotency_key=idempotency_key,
        cart=cart,
        contact_id=cart.contact_id,
        conversation_id=cart.conversation_id,
        actor=actor,
    )


def order_set_status(*, merchant: Any, order: Order, status: str, note: str = "", actor: str = "") -> Order:
    """Move along the lifecycle; a concurrent change of the same order makes this one a 409."""
    if order.merchant_id != merchant.pk:
        raise NotFoundError("Order not found.")
    if status not in OrderStatus.values:
        raise CommerceError("Unknown status.", fields={"status": ["Invalid choice."]})
    current = order.status
    if status == current:
        return order
    if status not in TRANSITIONS[current]:
        raise InvalidTransitionError(f"An order cannot go from {current} to {status}.", fields={"status": [status]})
    now = timezone.now()
    changes: dict[str, Any] = {"status": status, "updated_at": now}
    if status in STATUS_TIMESTAMP:
        changes[STATUS_TIMESTAMP[status]] = now
    with atomic():
        moved = Order.objects.filter(id=order.pk, merchant_id=merchant.pk, status=current).update(**changes)
        if not moved:
            raise InvalidTransitionError("The order changed meanwhile; reload it.", code="conflict")
        OrderStatusHistory.objects.create(
            order=order, from_status=current, to_status=status, note=note[:500], actor=actor[:100]
        )
        if status in RESTOCK_ON and order.source in (OrderSource.CHAT, OrderSource.API):
            restocked = []
            for item in order.items.exclude(product=None):
                Product.objects.filter(id=item.product_id, merchant_id=merchant.pk).update(
                    stock=F("stock") + item.quantity, in_stock=True
                )
                restocked.append(item.product_id)
            if restocked:
                emit(merchant=merchant, event_type=PRODUCT_CHANGED, payload=products_payload(restocked))
        order.refresh_from_db()
        payload = {**order_event_payload(order), "previous_status": current}
        emit(merchant=merchant, event_type=ORDER_STATUS_CHANGED, payload=payload)
    return order


def order_upsert_external(
    *,
    merchant: Any,
    source: str,
    external_id: str,
    number: str,
    status: str,
    currency: str = "SAR",
    total: Decimal | str = "0",
    customer: dict | None = None,
    items: list[dict] | None = None,
) -> tuple[Order, bool]:
    """Mirror an order placed on Shopify/Salla/Zid (from its webhook or a lookup) so the assistant can
    answer "where is my order?" from our own record. Idempotent by (merchant, source, external_id)."""
    details = _customer(customer or {}, required=False)
    existing = Order.objects.for_merchant(merchant).filter(source=source, external_id=external_id).first()
    if existing is not None:
        if existing.status != status and status in OrderStatus.values:
            previous = existing.status
            with atomic():
                Order.objects.filter(id=existing.pk).update(status=status, updated_at=timezone.now())
                OrderStatusHistory.objects.create(order=existing, from_status=previous, to_status=status, actor=source)
                existing.refresh_from_db()
                emit(
                    merchant=merchant,
                    event_type=ORDER_STATUS_CHANGED,
                    payload={**order_event_payload(existing), "previous_status": previous},
                )
        return existing, False
    try:
        with atomic():
            order = Order.objects.create(
                merchant=merchant,
                number=number[:40] or f"{source}-{external_id}"[:40],
                source=source,
                status=status if status in OrderStatus.values else OrderStatus.PENDING,
                payment_method=PaymentMethod.PLATFORM,
                currency=(currency or "SAR")[:3],
                subtotal=Decimal(str(total or 0)),
                total=Decimal(str(total or 0)),
                customer_name=details["name"],
                customer_phone=details["phone"],
                customer_email=details["email"],
                external_id=external_id,
            )
            OrderItem.objects.bulk_create(
                [
                    OrderItem(
                        order=order,
                        sku=str(i.get("sku") or "")[:100],
                        title=str(i.get("title") or "")[:300],
                        quantity=int(i.get("quantity") or 1),
                        unit_price=Decimal(str(i.get("price") or 0)),
                        line_total=Decimal(str(i.get("price") or 0)) * int(i.get("quantity") or 1),
                    )
                    for i in (items or [])
                ]
            )
            OrderStatusHistory.objects.create(order=order, to_status=order.status, actor=source)
            emit(merchant=merchant, event_type=ORDER_CREATED, payload=order_event_payload(order))
    except IntegrityError:  # a concurrent webhook for the same order won
        return Order.objects.for_merchant(merchant).get(source=source, external_id=external_id), False
    return order, True
