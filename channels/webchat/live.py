"""Wake-ups for the webchat live stream.

The database is the source of truth: a stream always re-reads "messages after my cursor". What this
module adds is *when* to re-read: a Redis pub/sub message per conversation when REDIS_URL is set
(so a Celery worker's reply wakes a stream served by another process), plus an in-process condition
(the embedded default: eager tasks run in the web process). Without a wake-up a stream still re-reads
every `WEBCHAT_POLL_SECONDS`, so a missed notification only costs latency, never a message."""

import logging
import threading
import time
from functools import lru_cache
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

_cond = threading.Condition()
_versions: dict[str, int] = {}
_generation = 0  # bumped by close_all(): every open stream in this process ends at its next wake-up


def stream_key(*, channel_id: Any, external_id: str) -> str:
    """Streams are keyed by visitor (channel + external id): known before the conversation exists."""
    return f"{channel_id}:{external_id}"


def topic(key: str) -> str:
    return f"kaleem:webchat:{key}"


@lru_cache(maxsize=2)
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)


def redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


def notify_conversation(conversation: Any) -> None:
    """Something changed in this conversation (message, status): wake its streams everywhere."""
    notify(stream_key(channel_id=conversation.channel_id, external_id=conversation.external_id))


_async_waiters: dict[str, set["AsyncSubscription"]] = {}


def notify(key: str) -> None:
    with _cond:
        _versions[key] = _versions.get(key, 0) + 1
        _cond.notify_all()
        waiters = list(_async_waiters.get(key, ()))
    for waiter in waiters:
        waiter.wake()
    url = redis_url()
    if url:
        try:
            _redis(url).publish(topic(key), "1")
        except Exception:  # Redis down: streams fall back to their poll interval
            logger.warning("webchat live: Redis publish failed", exc_info=True)


def generation() -> int:
    return _generation


def close_all() -> None:
    """End every stream of this process promptly (graceful shutdown, test teardown)."""
    global _generation
    with _cond:
        _generation += 1
        _cond.notify_all()
        waiters = [w for group in _async_waiters.values() for w in group]
    for waiter in waiters:
        waiter.wake()


def local_version(key: str) -> int:
    with _cond:
        return _versions.get(key, 0)


def local_wait(key: str, *, seen: int, timeout: float) -> int:
    """Block until this process notified `key` past version `seen`, or timeout."""
    deadline = time.monotonic() + timeout
    started_generation = _generation
    with _cond:
        while _versions.get(key, 0) == seen and _generation == started_generation:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            _cond.wait(remaining)
        if len(_versions) > 50_000:  # bounded memory: drop counters nobody waits on
            _versions.clear()
        return _versions.get(key, 0)


class Subscription:
    """What one stream waits on: its Redis topic when REDIS_URL is set, else the local condition."""

    def __init__(self, key: str) -> None:
        self.key = key
        # Captured before the caller's first database read, so a notification racing that read
        # still wakes the next wait immediately.
        self.seen = local_version(key)
        self.pubsub = None
        url = redis_url()
        if url:
            try:
                self.pubsub = _redis(url).pubsub(ignore_subscribe_messages=True)
                self.pubsub.subscribe(topic(key))
            except Exception:
                logger.warning("webchat live: Redis subscribe failed; polling", exc_info=True)
                self.pubsub = None

    def wait(self, timeout: float) -> None:
        if self.pubsub is not None:
            try:
                # Local notifications also publish to Redis, so one wait covers both.
                self.pubsub.get_message(timeout=timeout)
                return
            except Exception:
                logger.warning("webchat live: Redis wait failed; polling", exc_info=True)
                self.close()
        self.seen = local_wait(self.key, seen=self.seen, timeout=timeout)

    def close(self) -> None:
        if self.pubsub is not None:
            try:
                self.pubsub.close()
            except Exception:  # noqa: S110 - closing a broken connection
                pass
            self.pubsub = None


def publish_message(message: Any) -> None:
    """Called by the channels outbound path for every webchat Message: wake the visitor's streams
    and record the send. Idempotent (a replayed outbox event only re-notifies)."""
    from conversations.services import message_mark_sent

    conversation = message.conversation
    notify_conversation(conversation)
    message_mark_sent(message_id=message.id, provider_message_id=None)


class AsyncSubscription:
    """The ASGI stream's in-process wake-up: an asyncio.Event set (thread-safely) by notify().
    Registered before the stream's first read, so no notification can fall between read and wait."""

    def __init__(self, key: str) -> None:
        import asyncio

        self.key = key
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()
        with _cond:
            _async_waiters.setdefault(key, set()).add(self)

    def wake(self) -> None:
        try:
            self.loop.call_soon_threadsafe(self.event.set)
        except RuntimeError:  # the loop is closed: the stream is gone
            pass

    async def wait(self, timeout: float) -> bool:
        """Wait for a wake-up; True when one came (False at the timeout)."""
        import asyncio

        try:
            await asyncio.wait_for(self.event.wait(), timeout)
            woke = True
        except TimeoutError:
            woke = False
        self.event.clear()
        return woke

    def close(self) -> None:
        with _cond:
            group = _async_waiters.get(self.key)
            if group is not None:
                group.discard(self)
                if not group:
                    _async_waiters.pop(self.key, None)


async def redis_subscribe_async(key: str) -> Any:
    """An asyncio Redis pub/sub subscribed to `key`'s wake-ups, or None when Redis cannot be reached
    (the stream then relies on the in-process wake-up and its poll)."""
    try:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(redis_url(), socket_connect_timeout=1)
        pubsub = client.pubsub()
        await pubsub.subscribe(topic(key))
        return pubsub
    except Exception:
        return None


async def redis_close_async(pubsub: Any) -> None:
    if pubsub is None:
        return
    try:
        await pubsub.aclose()
    except Exception:  # noqa: S110 - closing a broken connection
        pass
