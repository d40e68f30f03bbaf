"""Demo store catalog (filled in below)."""

from typing import Any


def demo_load(*, merchant: Any) -> None:
    return None
