"""Outbox event names of the catalog and their versioned payloads.

``product.changed`` — created, updated, archived or restored (consumers re-read the rows; the index handler
upserts active products and deletes the others). ``product.removed`` — rows deleted for good."""

from collections.abc import Iterable
from typing import Any

PRODUCT_CHANGED = "product.changed"
PRODUCT_REMOVED = "product.removed"


def products_payload(product_ids: Iterable[Any]) -> dict[str, Any]:
    return {"version": 1, "product_ids": [str(pid) for pid in product_ids]}


def payload_product_ids(payload: dict[str, Any]) -> list[str]:
    ids = payload.get("product_ids") or []
    if payload.get("product_id"):
        ids = [*ids, payload["product_id"]]
    return [str(pid) for pid in ids]
