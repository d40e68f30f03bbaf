"""Transactional outbox: events are rows written in the caller's transaction and relayed after commit.

    from kaleem.outbox import emit, register_handler

    emit(merchant=m, event_type="product.changed", payload={"id": str(p.id)})   # inside kaleem.db.atomic()
    register_handler("product.changed", index_product)                           # in AppConfig.ready()

Handlers receive the OutboxEvent and must be idempotent: the relay delivers at least once."""

from kaleem.outbox.registry import register_handler
from kaleem.outbox.services import emit

__all__ = ["emit", "register_handler"]
