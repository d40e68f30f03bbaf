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
