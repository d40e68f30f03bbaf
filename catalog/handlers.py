"""Outbox handlers: keep the vector index in line with the catalog (registered in CatalogConfig.ready()).

They run inside the outbox relay, are idempotent (re-reading the rows), and raise on failure so the relay
retries the event with backoff; the affected products show ``index_state=failed`` meanwhile."""

from typing import Any

from catalog.events import payload_product_ids
from catalog.search import backend
from catalog.search.indexing import KIND, IndexingError, index_products

BATCH = 256


def on_product_changed(event: Any) -> None:
    ids = payload_product_ids(event.payload)
    for start in range(0, len(ids), BATCH):
        index_products(merchant_id=event.merchant_id, product_ids=ids[start : start + BATCH])


def on_product_removed(event: Any) -> None:
    ids = payload_product_ids(event.payload)
    try:
        backend.vector_delete(kind=KIND, merchant_id=event.merchant_id, ids=ids)
    except backend.VectorBackendError as exc:
        raise IndexingError(str(exc)) from exc
