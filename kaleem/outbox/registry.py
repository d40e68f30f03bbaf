from collections import defaultdict
from collections.abc import Callable
from typing import Any

OutboxHandler = Callable[[Any], None]
_handlers: dict[str, list[OutboxHandler]] = defaultdict(list)


def register_handler(event_type: str, handler: OutboxHandler) -> None:
    """Subscribe a handler to an event type; "*" receives every event."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def handlers_for(event_type: str) -> list[OutboxHandler]:
    return [*_handlers.get(event_type, []), *_handlers.get("*", [])]
