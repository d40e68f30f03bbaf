"""Automation webhooks (n8n-compatible): outbox events → one delivery row per (event, subscription)
→ signed POST, in event order per subscription, retried with backoff for 24 h, then dead letter.

Envelope: {"id", "type", "created_at", "merchant", "data"}; header
`X-Kaleem-Signature: t=<unix>,v1=<hex hmac-sha256(secret, "<t>.<raw body>")>` (recipe in docs/commerce.md).

Order: a subscription is sent by one worker at a time (a lease taken by a conditional update, no row
lock) and its oldest pending delivery blocks the later ones until it succeeds or is dead-lettered."""

import hashlib
import hmac
import json
import logging
import random
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from integrations.models import WebhookDelivery, WebhookSubscription
from kaleem import metrics
from kaleem.db import atomic, on_commit
from kaleem.http import http_client
from kaleem.ssrf import UnsafeURLError, assert_public_url

logger = logging.getLogger(__name__)
RETRY_WINDOW = timedelta(hours=24)
LEASE = timedelta(seconds=120)
BATCH = 200
LOG_LIMIT = 20
TIMEOUT = 10.0


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300, now: float | None = None) -> bool:
    """The receiver's check (also used by our tests): fresh timestamp and matching v1."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - stamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … capped at 1 h, with jitter: ~30 attempts fit in the 24 h window."""
    base = min(10 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not security


def envelope(event: Any) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "type": event.event_type,
        "created_at": event.created_at.isoformat(),
        "merchant": str(event.merchant_id),
        "data": event.payload,
    }


SUBSCRIPTIONS_TTL = 2.0  # seconds a relay process reuses a store's subscription list
_subscriptions: dict[str, tuple[float, list[tuple[Any, list[str]]]]] = {}


def _active_subscriptions(merchant_id: Any) -> list[tuple[Any, list[str]]]:
    """(id, events) of a store's active subscriptions, memoised briefly: the relay asks once per event,
    and a subscription created or paused takes effect within SUBSCRIPTIONS_TTL."""
    key = str(merchant_id)
    cached = _subscriptions.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < SUBSCRIPTIONS_TTL:
        return cached[1]
    rows = list(WebhookSubscription.objects.filter(merchant_id=merchant_id, active=True).values_list("id", "events"))
    if len(_subscriptions) > 10_000:
        _subscriptions.clear()
    _subscriptions[key] = (now, rows)
    return rows


def forget_subscriptions(merchant_id: Any = None) -> None:
    if merchant_id is None:
        _subscriptions.clear()
    else:
        _subscriptions.pop(str(merchant_id), None)


def _delivery_rows(event: Any, now: datetime) -> list[WebhookDelivery]:
    """One unsaved delivery row per active subscription of the event's store that wants its type."""
    from integrations.services import AUTOMATION_EVENTS

    if event.event_type not in AUTOMATION_EVENTS or event.merchant_id is None:
        return []
    matching = [
        sid for sid, events in _active_subscriptions(event.merchant_id) if "*" in events or event.event_type in events
    ]
    if not matching:
        return []
    body = envelope(event)
    return [
        WebhookDelivery(
            merchant_id=event.merchant_id,
            subscription_id=sid,
            event_id=event.id,
            event_type=event.event_type,
            event_created_at=event.created_at,
            envelope=body,
            next_attempt_at=now,
        )
        for sid in matching
    ]


def on_outbox_event(event: Any) -> None:
    """Outbox handler for one event: one delivery row per matching active subscription, written in
    one transaction; idempotent because (subscription, event id) is unique, so an event relayed twice
    is not delivered twice."""
    rows = _delivery_rows(event, timezone.now())
    if not rows:
        return
    try:  # the usual case: first relay of this event; a re-relay hits the unique constraint
        with atomic():
            WebhookDelivery.objects.bulk_create(rows)
    except IntegrityError:  # relayed before (or concurrently): add only the missing ones, one by one
        queued = set(WebhookDelivery.objects.filter(event_id=event.id).values_list("subscription_id", flat=True))
        for row in rows:
            if row.subscription_id in queued:
                continue
            try:
                with atomic():
                    row.save(force_insert=True)
            except IntegrityError:
                continue
    for sid in {row.subscription_id for row in rows}:
        _kick(sid)


def on_outbox_events(events: list[Any]) -> None:
    """Outbox batch handler ("*"): the delivery rows of a whole relay batch in one INSERT and one
    commit, in event order (so each subscription's queue keeps the events' order). If any row exists
    already (an event relayed again), nothing of the batch is written and each event falls back to
    `on_outbox_event`, which adds only the missing rows."""
    now = timezone.now()
    rows = [row for event in events for row in _delivery_rows(event, now)]
    if not rows:
        return
    try:
        with atomic():
            WebhookDelivery.objects.bulk_create(rows)
    except IntegrityError:
        for event in events:
            on_outbox_event(event)
        return
    for sid in dict.fromkeys(row.subscription_id for row in rows):
        _kick(sid)


KICK_INTERVAL = 0.5  # seconds: one sender task per subscription drains its whole queue
_last_kick: dict[str, float] = {}


def _kick(subscription_id: Any) -> None:
    """Enqueue the sender after commit, at most every KICK_INTERVAL per subscription and process (the
    sender re-reads the queue until empty; the beat sweep covers anything a skipped kick leaves)."""
    from integrations.tasks import automation_deliver_task

    key = str(subscription_id)
    now = time.monotonic()
    if now - _last_kick.get(key, -KICK_INTERVAL) < KICK_INTERVAL:
        return
    _last_kick[key] = now

    def send() -> None:
        try:
            automation_deliver_task.delay(key)
        except Exception:  # broker down: the beat sweep sends it
            logger.warning("automation delivery could not be enqueued; the sweep will send it", exc_info=True)

    on_commit(send)


def _take_lease(subscription_id: Any, now: datetime) -> bool:
    return bool(
        WebhookSubscription.objects.filter(id=subscription_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )


def _release_lease(subscription_id: Any) -> None:
    WebhookSubscription.objects.filter(id=subscription_id).update(lease_until=None)


def deliver_subscription(*, subscription_id: Any, now: datetime | None = None) -> dict[str, int]:
    """Send this subscription's due deliveries oldest first; stops at the first one that must wait."""
    now = now or timezone.now()
    outcome = {"sent": 0, "failed": 0, "dead": 0}
    if not _take_lease(subscription_id, timezone.now()):
        return outcome  # another worker is sending this subscription
    renewed = time.monotonic()
    try:
        subscription = WebhookSubscription.objects.filter(id=subscription_id).first()
        if subscription is None or not subscription.active:
            return outcome
        while True:
            queue = list(
                WebhookDelivery.objects.filter(subscription=subscription, state=WebhookDelivery.State.PENDING).order_by(
                    "event_created_at", "event_id"
                )[:BATCH]
            )
            if not queue:
                return outcome
            for delivery in queue:
                if delivery.next_attempt_at > now:
                    return outcome  # the head waits: later events wait behind it (in order)
                if time.monotonic() - renewed > LEASE.total_seconds() / 4:
                    # a long backlog outlives the lease: keep it, or a second sender could break the order
                    WebhookSubscription.objects.filter(id=subscription_id).update(lease_until=timezone.now() + LEASE)
                    renewed = time.monotonic()
                result = _attempt(subscription, delivery, now)
                outcome[result] += 1
                if result == "failed":
                    return outcome
            now = max(now, timezone.now())
    finally:
        _release_lease(subscription_id)


def _attempt(subscription: WebhookSubscription, delivery: WebhookDelivery, now: datetime) -> str:
    body = json.dumps(delivery.envelope, separators=(",", ":"), ensure_ascii=False).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Kaleem-Webhooks/1",
        "X-Kaleem-Event": delivery.event_type,
        "X-Kaleem-Event-Id": str(delivery.event_id),
        "X-Kaleem-Signature": sign(subscription.secret, body, stamp),
    }
    if subscription.auth_header_name and subscription.auth_header_value:
        headers[subscription.auth_header_name] = subscription.auth_header_value
    started = time.perf_counter()
    status_code: int | None = None
    error = ""
    try:
        assert_public_url(subscription.url)  # DNS may have changed since the subscription was saved
        response = http_client().post(subscription.url, content=body, headers=headers, timeout=TIMEOUT)
        status_code = response.status_code
        ok = 200 <= status_code < 300
        if not ok:
            error = f"HTTP {status_code}"
    except UnsafeURLError as exc:
        ok, error = False, str(exc)
    except httpx.HTTPError as exc:
        ok, error = False, f"{type(exc).__name__}"
    latency = round((time.perf_counter() - started) * 1000, 2)
    attempts = delivery.attempts + 1
    first = delivery.first_attempt_at or now
    log = [
        *delivery.log[-(LOG_LIMIT - 1) :],
        {"at": now.isoformat(), "status_code": status_code, "latency_ms": latency, "error": error},
    ]
    common = {
        "attempts": attempts,
        "first_attempt_at": first,
        "last_status_code": status_code,
        "last_latency_ms": latency,
        "last_error": error[:500],
        "log": log,
        "updated_at": timezone.now(),
    }
    if ok:
        WebhookDelivery.objects.filter(id=delivery.id).update(
            state=WebhookDelivery.State.SUCCEEDED, delivered_at=timezone.now(), **common
        )
        metrics.WEBHOOKS.labels(kind="automation_out", outcome="delivered").inc()
        return "sent"
    retry_at = now + backoff(attempts)
    if retry_at - first > _retry_window():
        WebhookDelivery.objects.filter(id=delivery.id).update(state=WebhookDelivery.State.DEAD, **common)
        metrics.DEAD_LETTERS.labels(channel="automation").inc()
        return "dead"
    WebhookDelivery.objects.filter(id=delivery.id).update(next_attempt_at=retry_at, **common)
    metrics.WEBHOOKS.labels(kind="automation_out", outcome="retry").inc()
    return "failed"


def _retry_window() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "AUTOMATION_RETRY_WINDOW_SECONDS", RETRY_WINDOW.total_seconds())))


def deliveries_due() -> list[str]:
    """Subscriptions with a due pending delivery (the beat sweep kicks each)."""
    ids = WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.PENDING, next_attempt_at__lte=timezone.now()
    ).values_list("subscription_id", flat=True)[:5000]
    return sorted({str(i) for i in ids})


def deliveries_replay(*, merchant: Any, delivery_ids: list[Any] | None = None, subscription: Any = None) -> int:
    """Dead letters back to pending (a fresh 24 h window); they keep their place in the event order."""
    qs = WebhookDelivery.objects.for_merchant(merchant).filter(state=WebhookDelivery.State.DEAD)
    if delivery_ids is not None:
        qs = qs.filter(id__in=delivery_ids)
    if subscription is not None:
        qs = qs.filter(subscription=subscription)
    subscription_ids = set(qs.values_list("subscription_id", flat=True))
    count = qs.update(
        state=WebhookDelivery.State.PENDING, next_attempt_at=timezone.now(), first_attempt_at=None, attempts=0
    )
    for subscription_id in subscription_ids:
        _kick(subscription_id)
    return count
