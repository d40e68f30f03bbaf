"""Live inbox: a Server-Sent Events stream per store that says "the inbox changed" so the page
re-fetches its list and open thread at once instead of every few seconds.

The stream carries no data — the pages re-read the database through the normal, permission-checked
fragments, so nothing can leak through it and a missed event only costs latency (the page keeps a
slow poll as a safety net and falls back to its 5-second poll while the stream is down). Wake-ups
reuse the webchat's mechanism (`channels.webchat.live`): Redis pub/sub when REDIS_URL is set (a
Celery worker's event wakes a stream served by another process), else an in-process condition.

Who notifies: outbox handlers for `conversation.created`, `message.received`, `message.outbound`
and `handoff.requested` (registered in `ConversationsConfig.ready`), and the inbox actions (take
over, release, assign, close, reply, note) after they succeed. Each response is bounded
(`INBOX_SSE_SECONDS`, 25 s) and EventSource reconnects, so a sync worker is never held for long."""

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from django import db
from django.conf import settings

from channels.webchat import live

HEARTBEAT_SECONDS = 10.0
INBOX_EVENTS = ("conversation.created", "message.received", "message.outbound", "handoff.requested")


def inbox_key(merchant_id: Any) -> str:
    return f"inbox:{merchant_id}"


def stream_seconds() -> float:
    return float(getattr(settings, "INBOX_SSE_SECONDS", 25.0))


def inbox_notify(*, merchant_id: Any) -> None:
    """Something in this store's inbox changed: wake its open streams (every process)."""
    live.notify(inbox_key(merchant_id))


def on_inbox_events(events: list[Any]) -> None:
    """Outbox batch handler: conversation events wake their stores' inbox streams, once per store
    per batch (idempotent: a replay only wakes them again)."""
    for merchant_id in dict.fromkeys(e.merchant_id for e in events if e.merchant_id):
        inbox_notify(merchant_id=merchant_id)


def _event(seq: int) -> str:
    return f"id: {seq}\nevent: inbox\ndata: {json.dumps({'seq': seq})}\n\n"


def _preamble() -> str:
    # retry: EventSource reconnection delay; the padding defeats proxy buffering of tiny chunks
    return "retry: 2000\n:" + " " * 2048 + "\nevent: ready\ndata: {}\n\n"


def _wait(subscription: live.Subscription, timeout: float) -> bool:
    """Wait for a wake-up; True when one came (False at the timeout)."""
    if subscription.pubsub is not None:
        try:
            # local notifications also publish to Redis, so one wait covers both
            return subscription.pubsub.get_message(timeout=timeout) is not None
        except Exception:
            subscription.close()  # Redis went away: the in-process condition from now on
    before = subscription.seen
    subscription.seen = live.local_wait(subscription.key, seen=before, timeout=timeout)
    return subscription.seen != before


def sse_sync(*, merchant_id: Any) -> Iterator[str]:
    # The stream reads nothing from the database: hand this thread's connections back for the whole
    # stream, so every open inbox does not hold a PostgreSQL session for 25 s (never inside a transaction).
    for connection in db.connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()
    deadline = time.monotonic() + stream_seconds()
    generation = live.generation()
    subscription = live.Subscription(inbox_key(merchant_id))
    seq, last_sent = 0, time.monotonic()
    try:
        yield _preamble()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or live.generation() != generation:
                return
            woke = _wait(subscription, min(remaining, HEARTBEAT_SECONDS))
            if live.generation() != generation:
                return
            if woke:
                seq += 1
                yield _event(seq)
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
                yield ": ping\n\n"
                last_sent = time.monotonic()
    finally:
        subscription.close()


async def sse_async(*, merchant_id: Any) -> AsyncIterator[str]:
    key = inbox_key(merchant_id)
    deadline = time.monotonic() + stream_seconds()
    generation = live.generation()
    local = live.AsyncSubscription(key)
    pubsub = await live.redis_subscribe_async(key) if live.redis_url() else None
    seq, last_sent = 0, time.monotonic()
    try:
        yield _preamble()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or live.generation() != generation:
                return
            wait = min(remaining, HEARTBEAT_SECONDS)
            woke = False
            if pubsub is not None:
                try:
                    woke = await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait) is not None
                except Exception:
                    pubsub = None
            else:
                woke = await local.wait(wait)
            if live.generation() != generation:
                return
            if woke:
                seq += 1
                yield _event(seq)
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
                yield ": ping\n\n"
                last_sent = time.monotonic()
    finally:
        local.close()
        await live.redis_close_async(pubsub)
