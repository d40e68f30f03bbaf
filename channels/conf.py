"""Channel settings with defaults (override in Django settings or the environment)."""

import os
from typing import Any

from django.conf import settings


def setting(name: str, default: Any) -> Any:
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(name)
    if raw is None:
        return default
    return type(default)(raw)


def processing_timeout() -> float:
    """A PROCESSING webhook event older than this is assumed orphaned (worker killed) and retried."""
    return float(setting("WEBHOOK_PROCESSING_TIMEOUT", 120.0))


def sender_lock_seconds() -> int:
    return int(setting("WEBHOOK_SENDER_LOCK_SECONDS", 60))


def delivery_claim_timeout() -> float:
    return float(setting("OUTBOUND_CLAIM_TIMEOUT", 120.0))


def max_delivery_attempts() -> int:
    """Outbox-level attempts (each with inline HTTP retries) before a send becomes a dead letter."""
    return int(setting("OUTBOUND_MAX_ATTEMPTS", 3))


def inline_assistant() -> bool:
    """Answer in the webhook-processing task when the assistant's burst quiet period is 0
    (ASSISTANT_QUIET_PERIOD_SECONDS); WEBHOOK_INLINE_ASSISTANT=0 turns it off."""
    if not bool(int(setting("WEBHOOK_INLINE_ASSISTANT", 1))):
        return False
    return float(getattr(settings, "ASSISTANT_QUIET_PERIOD_SECONDS", 1.2)) <= 0
