"""The assistant's seams onto features other issues build (orders, cart). Until the commerce
services exist these answer honestly that the feature is not available; replacing the body of a
function here is all the commerce issue needs to do."""

from typing import Any


class NotAvailable(Exception):
    """The feature is not built yet for this store."""


def order_lookup(*, merchant: Any, order_number: str, contact: Any = None) -> dict | None:
    """{"number", "status"} of the contact's order, None if there is no such order."""
    lookup = getattr(_commerce(), "order_status_for_assistant", None)
    if lookup is None:
        raise NotAvailable("orders")
    return lookup(merchant=merchant, order_number=order_number, contact=contact)


def cart_action(*, merchant: Any, action: str, state: dict, contact: Any = None) -> dict:
    handler = getattr(_commerce(), "cart_action_for_assistant", None)
    if handler is None:
        raise NotAvailable("cart")
    return handler(merchant=merchant, action=action, state=state, contact=contact)


def _commerce() -> Any:
    try:
        from catalog import commerce  # built by the cart/orders issue
    except ImportError:
        return None
    return commerce
