"""The demo store loaded by the README's first command: an Arabic/English fashion shop.

Each app contributes its part through a `demo_load(merchant=…)` function registered here, so the
loader stays idempotent and every app owns its own demo rows."""

from collections.abc import Callable
from typing import Any

DEMO_SLUG = "demo-fashion"
DEMO_OWNER_EMAIL = "owner@demo.kaleem.local"
DEMO_OWNER_PASSWORD = "kaleem-demo-2026"

DemoLoader = Callable[..., Any]
_loaders: list[tuple[int, str, DemoLoader]] = []


def register_demo_loader(order: int, name: str, loader: DemoLoader) -> None:
    if all(existing != name for _, existing, _ in _loaders):
        _loaders.append((order, name, loader))


def demo_loaders() -> list[tuple[str, DemoLoader]]:
    return [(name, loader) for _, name, loader in sorted(_loaders, key=lambda item: item[0])]
