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
from kaleem.db import on_commit
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


def on_outbox_event(event: Any) -> None:
    """Outbox handler ("*"): one delivery row per matching active subscription; idempotent because
    (subscription, event id) is unique, so a relayed-twice event does not deliver twice."""
    from integrations.services import AUTOMATION_EVENTS

    if event.event_type not in AUTOMATION_EVENTS or event.merchant_id is None:
        return
    matching = [
        s
        for s in WebhookSubscription.objects.filter(merchant_id=event.merchant_id, active=True).only("id", "events")
        if "*" in s.events or event.event_type in s.events
    ]
    if not matching:
        return
    body = envelope(event)
    now = timezone.now()
    for subscription in matching:
        try:
            WebhookDelivery.objects.create(
                merchant_id=event.merchant_id,
                subscription_id=subscription.id,
                event_id=event.id,
                event_type=event.event_type,
                event_created_at=event.created_at,
                envelope=body,
                next_attempt_at=now,
            )
        except IntegrityError:
            continue  # this event was already queued for this subscription
        _kick(subscription.id)


def _kick(subscription_id: Any) -> None:
    from integrations.tasks import automation_deliver_task

    def send() -> None:
        try:
            automation_deliver_task.delay(str(subscription_id))
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
