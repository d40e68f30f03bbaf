"""The assistant's seams onto commerce (cart, checkout, orders), built by the commerce issue in
`catalog/commerce.py`. When that module is absent the assistant answers honestly that the feature is
not available (NotAvailable); nothing else in the assistant knows how carts or orders work."""

from typing import Any


class NotAvailable(Exception):
    """The feature is not built for this deployment."""


def _commerce() -> Any:
    try:
        from catalog import commerce
    except ImportError:
        return None
    return commerce


def order_lookup(*, merchant: Any, order_number: str, contact: Any = None, language: str = "") -> dict | None:
    """{"number", "status" (label in `language`), …} of the contact's order, None if there is no such order."""
    lookup = getattr(_commerce(), "order_status_for_assistant", None)
    if lookup is None:
        raise NotAvailable("orders")
    return lookup(merchant=merchant, order_number=order_number, contact=contact, language=language)


def _order(merchant: Any, order_number: str) -> Any:
    try:
        from catalog.commerce_selectors import order_find_by_number
    except ImportError:
        return None
    return order_find_by_number(merchant=merchant, number=order_number)


def order_needs_phone(*, merchant: Any, order_number: str, contact: Any = None) -> bool:
    """Whether to ask for the order's phone before telling its status: the order exists, carries a phone,
    and was not placed by this contact (an unknown contact must prove it is theirs)."""
    order = _order(merchant, order_number)
    if order is None or not order.customer_phone:
        return False
    contact_id = getattr(contact, "pk", contact)
    return not (contact_id and order.contact_id and str(order.contact_id) == str(contact_id))


def order_phone_matches(*, merchant: Any, order_number: str, phone: str) -> bool:
    order = _order(merchant, order_number)
    if order is None or not order.customer_phone:
        return False
    from catalog.commerce_services import normalize_saudi_phone

    given = normalize_saudi_phone(phone) or "".join(ch for ch in phone if ch.isdigit())
    stored = normalize_saudi_phone(order.customer_phone) or "".join(ch for ch in order.customer_phone if ch.isdigit())
    return bool(given) and given == stored


def cart_action(
    *,
    merchant: Any,
    action: str,
    state: dict,
    contact: Any = None,
    text: str = "",
    language: str = "",
    turn_id: str | None = None,
    conversation_id: Any = None,
) -> dict:
    """{"text", "elements", "handled"}; `action` is cart_add | cart_view | checkout | reply (an answer to a
    pending checkout question or a "cart:…" button payload). Mutates `state["commerce"]`."""
    handler = getattr(_commerce(), "cart_action_for_assistant", None)
    if handler is None:
        raise NotAvailable("cart")
    return handler(
        merchant=merchant,
        action=action,
        state=state,
        contact=contact,
        text=text,
        language=language,
        turn_id=turn_id,
        conversation_id=conversation_id,
    )


def commerce_pending(state: dict, text: str) -> bool:
    """Whether this message continues a commerce dialogue (checkout question asked, or a cart button)."""
    return bool((state.get("commerce") or {}).get("step")) or text.strip().lower().startswith("cart:")
