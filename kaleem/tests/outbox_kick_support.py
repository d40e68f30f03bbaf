"""Loaded by the Celery worker of `test_outbox_kicks.py` (settings `kaleem.tests.outbox_kick_settings`):
a handler that holds the relay for a while, so the test can emit an event while a relay runs."""

import time

from kaleem.outbox import register_handler

SLOW_EVENT = "test.outbox-kicks.slow"


def _hold_the_relay(event) -> None:  # noqa: ANN001
    time.sleep(float((event.payload or {}).get("seconds", 0)))


register_handler(SLOW_EVENT, _hold_the_relay)
