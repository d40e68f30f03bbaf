from collections import defaultdict
from collections.abc import Callable
from typing import Any

OutboxHandler = Callable[[Any], None]
OutboxBatchHandler = Callable[[list[Any]], None]
_handlers: dict[str, list[OutboxHandler]] = defaultdict(list)
_batch_handlers: dict[str, list[OutboxBatchHandler]] = defaultdict(list)


def register_handler(event_type: str, handler: OutboxHandler) -> None:
    """Subscribe a handler to an event type; "*" receives every event."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def register_batch_handler(event_type: str, handler: OutboxBatchHandler) -> None:
    """Subscribe a handler that takes a list of events (oldest first) in one call, so it can write
    their effects in one statement; "*" receives every event. Like a plain handler it must be
    idempotent per event. If it raises, the relay calls it again with one event at a time, so only
    the event(s) that fail alone are retried."""
    if handler not in _batch_handlers[event_type]:
        _batch_handlers[event_type].append(handler)


def handlers_for(event_type: str) -> list[OutboxHandler]:
    return [*_handlers.get(event_type, []), *_handlers.get("*", [])]


def batch_handlers_for(event_type: str) -> list[OutboxBatchHandler]:
    return [*_batch_handlers.get(event_type, []), *_batch_handlers.get("*", [])]
