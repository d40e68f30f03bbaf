"""Server-Sent Events for one visitor's conversation.

Each response is bounded (`WEBCHAT_SSE_SECONDS`, 25 s by default) so a sync worker is never held
for long; the widget reconnects with `Last-Event-ID` = the cursor of the last message it saw and the
stream resumes exactly after it. Event ids are message cursors ((created_at, id) order), so resume
needs no server-side sequence table. Two generators share one step function: a sync one for WSGI
and an async one for ASGI (Django buffers a sync iterator entirely under ASGI)."""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import OperationalError

from channels.models import Channel
from channels.webchat import live, selectors
from channels.webchat.tokens import Visitor

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
OVERLAP_SECONDS = 2.0
RETRY_SECONDS = 0.2  # after a read the database refused for the moment


def stream_seconds() -> float:
    return float(getattr(settings, "WEBCHAT_SSE_SECONDS", 25.0))


def poll_seconds() -> float:
    return float(getattr(settings, "WEBCHAT_POLL_SECONDS", 1.0))


def _event(name: str, data: dict[str, Any], event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


class StreamState:
    """Where one stream is: its cursor, the last status it told the widget, its conversation."""

    def __init__(self, *, channel: Channel, visitor: Visitor, last_event_id: str | None) -> None:
        self.channel = channel
        self.visitor = visitor
        self.cursor = last_event_id or None
        self.status: str | None = None
        self.key = live.stream_key(channel_id=channel.pk, external_id=visitor.external_id)
        self.sent: dict[str, str] = {}  # message id → cursor, of what this connection already sent
        self.primed = False
        self.floor = self.cursor  # the client had everything up to here before this connection

    def step(self) -> list[str]:
        """One read of the database: the messages after the cursor and a status change, as SSE text.

        created_at is taken at INSERT, not at commit, so a message can become visible after a newer
        one was already sent. After the first read each step therefore looks OVERLAP back from the
        cursor and skips what this connection already sent (the widget also dedupes by id)."""
        conversation = selectors.conversation_for_visitor(channel=self.channel, external_id=self.visitor.external_id)
        if conversation is None:
            return []
        out = []
        if conversation.status != self.status:
            self.status = conversation.status
            out.append(_event("conversation", selectors.conversation_public(conversation)))
        since = self.cursor
        if self.primed and self.cursor:
            since = max(c for c in (selectors.cursor_shift(self.cursor, seconds=-OVERLAP_SECONDS), self.floor) if c)
        self.primed = True
        for message in selectors.messages_after(conversation=conversation, cursor=since):
            payload = selectors.message_public(message)
            if payload["id"] in self.sent:
                continue
            self.sent[payload["id"]] = payload["cursor"]
            if self.cursor is None or payload["cursor"] > self.cursor:
                self.cursor = payload["cursor"]
            out.append(_event("message", payload, event_id=self.cursor))
        if len(self.sent) > 500:  # only the overlap window matters
            self.sent = dict(sorted(self.sent.items(), key=lambda item: item[1])[-200:])
        return out

    def read(self) -> list[str] | None:
        """`step()`, or None when the database refused the read for the moment (SQLite locked by a
        concurrent writer): the stream keeps its position and reads again shortly instead of ending."""
        saved = (self.cursor, self.status, self.primed, dict(self.sent))
        try:
            return self.step()
        except OperationalError:
            self.cursor, self.status, self.primed, self.sent = saved
            logger.warning("webchat stream read deferred: database busy", exc_info=True)
            return None


def _preamble() -> str:
    # retry: reconnection delay for EventSource; the padding defeats proxy buffering of tiny chunks.
    return "retry: 1000\n:" + " " * 2048 + "\n\n"


def sse_sync(state: StreamState) -> Iterator[str]:
    deadline = time.monotonic() + stream_seconds()
    generation = live.generation()
    yield _preamble()
    subscription = live.Subscription(state.key)  # before the first read: no wake-up is lost
    last_sent = time.monotonic()
    try:
        while True:
            chunks = state.read()
            if chunks:
                yield "".join(chunks)
                last_sent = time.monotonic()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or live.generation() != generation:
                break
            if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
                yield ": ping\n\n"
                last_sent = time.monotonic()
            if chunks is None:
                time.sleep(min(remaining, RETRY_SECONDS))
                continue
            subscription.wait(min(remaining, poll_seconds()))
            if live.generation() != generation:
                break
    finally:
        subscription.close()


async def sse_async(state: StreamState) -> AsyncIterator[str]:
    deadline = time.monotonic() + stream_seconds()
    generation = live.generation()
    # thread_sensitive: under ASGI each request has its own sync thread, whose DB connection Django
    # closes when the response ends (a free-threaded executor would leak one per thread).
    read = sync_to_async(state.read, thread_sensitive=True)
    yield _preamble()
    pubsub = await live.redis_subscribe_async(state.key) if live.redis_url() else None
    local = live.AsyncSubscription(state.key)
    last_sent = time.monotonic()
    try:
        while True:
            chunks = await read()
            if chunks:
                yield "".join(chunks)
                last_sent = time.monotonic()
            remaining = deadline - time.monotonic()
            if remaining <= 0 or live.generation() != generation:
                break
            if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
                yield ": ping\n\n"
                last_sent = time.monotonic()
            if chunks is None:
                await asyncio.sleep(min(remaining, RETRY_SECONDS))
                continue
            wait = min(remaining, poll_seconds())
            if pubsub is not None:
                try:
                    await pubsub.get_message(ignore_subscribe_messages=True, timeout=wait)
                    continue
                except Exception:
                    pubsub = None
            await local.wait(wait)  # notify() in this process (eager tasks, the send view)
            if live.generation() != generation:
                break
    finally:
        local.close()
        await live.redis_close_async(pubsub)
