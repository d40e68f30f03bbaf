"""Transactional outbox: events are rows written in the caller's transaction and relayed after commit.

    from kaleem.outbox import emit, register_handler

    emit(merchant=m, event_type="product.changed", payload={"id": str(p.id)})   # inside kaleem.db.atomic()
    register_handler("product.changed", index_product)                           # in AppConfig.ready()

`emit_many(merchant=m, events=[(type, payload), …])` writes several in that order with one INSERT.
Handlers receive the OutboxEvent and must be idempotent: the relay delivers at least once.
`register_batch_handler(event_type, fn)` subscribes a handler that receives a list of events at once
(the relay claims and marks events in batches; see kaleem/outbox/services.py)."""

from kaleem.outbox.registry import register_batch_handler, register_handler
from kaleem.outbox.services import emit, emit_many

__all__ = ["emit", "emit_many", "register_batch_handler", "register_handler"]
