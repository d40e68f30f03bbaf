"""Hand accepted webhook events to Celery without publishing from the request thread.

The webhook view acknowledges as soon as the event row is committed; its senders (channel id, sender
id: the worker processes a sender's pending events in order) go to a per-process background publisher
that collects what arrives within WEBHOOK_ENQUEUE_LINGER_MS (5 ms) into a few tasks (≤ 20 senders
each, so several workers share a burst). Under load one broker publish serves many deliveries; at low rates
it is one publish per delivery, just off the request path. If the process dies between the commit
and the publish, the events stay pending in the database and `channels.sweep_webhook_events`
enqueues them (WEBHOOK_SWEEP_PENDING_AFTER, 10 s). With CELERY_TASK_ALWAYS_EAGER (tests) the
publish is inline."""

import atexit
import logging
import os
import queue
import threading
import time

logger = logging.getLogger(__name__)

CHUNK = 20
MAX_BATCH = 400


def _linger_seconds() -> float:
    from channels.conf import setting

    return float(setting("WEBHOOK_ENQUEUE_LINGER_MS", 5.0)) / 1000


Sender = tuple[str, str]


def _publish(senders: list[Sender]) -> None:
    from channels.tasks import process_webhook_events

    senders = list(dict.fromkeys(senders))  # several events of one sender: one entry, they are processed together
    for start in range(0, len(senders), CHUNK):
        chunk = [list(sender) for sender in senders[start : start + CHUNK]]
        try:
            process_webhook_events.delay(senders=chunk)
        except Exception:  # broker down: the sweep re-enqueues pending events
            logger.warning("webhook processing could not be enqueued; the sweep will pick it up", exc_info=True)


class _Publisher:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pid: int | None = None
        self.pending: queue.SimpleQueue[list[Sender]] = queue.SimpleQueue()

    def submit(self, senders: list[Sender]) -> None:
        if self.pid != os.getpid():  # first use in this (possibly forked) process
            with self.lock:
                if self.pid != os.getpid():
                    self.pending = queue.SimpleQueue()
                    threading.Thread(target=self._run, name="webhook-enqueue", daemon=True).start()
                    self.pid = os.getpid()
        self.pending.put(senders)

    def _drain(self, first: list[Sender]) -> list[Sender]:
        # linger a few ms so a busy process publishes one task per handful of deliveries
        senders = list(first)
        deadline = time.monotonic() + _linger_seconds()
        while len(senders) < MAX_BATCH:
            remaining = deadline - time.monotonic()
            try:
                senders.extend(self.pending.get(timeout=remaining) if remaining > 0 else self.pending.get_nowait())
            except queue.Empty:
                break
        return senders

    def _run(self) -> None:
        pending = self.pending
        while True:
            _publish(self._drain(pending.get()))

    def flush(self) -> None:
        """Publish whatever is queued now (process exit)."""
        if self.pid != os.getpid():
            return
        senders: list[Sender] = []
        while True:
            try:
                senders.extend(self.pending.get_nowait())
            except queue.Empty:
                break
        if senders:
            _publish(senders)


_publisher = _Publisher()
atexit.register(_publisher.flush)


def enqueue_processing(senders: list[Sender]) -> None:
    from kaleem.celery import app

    if app.conf.task_always_eager:
        _publish(senders)
    else:
        _publisher.submit(senders)
