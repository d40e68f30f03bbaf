import logging
import random
import uuid
from datetime import timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone

from kaleem import metrics
from kaleem.db import on_commit
from kaleem.models import OutboxEvent
from kaleem.outbox.registry import handlers_for

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CLAIM_TIMEOUT = timedelta(minutes=5)


def emit(*, merchant: Any, event_type: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record an event in the current transaction; the relay is kicked once the transaction commits."""
    event = OutboxEvent.objects.create(
        merchant_id=getattr(merchant, "pk", merchant),
        event_type=event_type,
        payload=payload,
        available_at=timezone.now(),
    )
    on_commit(_kick_relay)
    return event


def _kick_relay() -> None:
    from kaleem.tasks import outbox_relay

    try:
        outbox_relay.delay()
    except Exception:  # broker down: the beat sweep picks the event up later
        logger.warning("outbox relay could not be enqueued; beat sweep will deliver", exc_info=True)


def _claim(event_id: uuid.UUID) -> uuid.UUID | None:
    """Conditional update instead of a row lock: exactly one relay wins each event."""
    now = timezone.now()
    token = uuid.uuid4()
    claimed = OutboxEvent.objects.filter(id=event_id, state=OutboxEvent.State.PENDING, available_at__lte=now).update(
        state=OutboxEvent.State.PROCESSING, claimed_at=now, claim_token=token
    )
    return token if claimed else None


def _backoff(attempts: int) -> timedelta:
    base = min(2**attempts, 3600)
    return timedelta(seconds=base + random.uniform(0, base / 2))  # noqa: S311 - jitter, not security


def relay_event(event: OutboxEvent, token: uuid.UUID) -> bool:
    try:
        for handler in handlers_for(event.event_type):
            handler(event)
    except Exception as exc:  # each handler is idempotent; the whole event is retried
        attempts = event.attempts + 1
        dead = attempts >= MAX_ATTEMPTS
        OutboxEvent.objects.filter(id=event.id, claim_token=token).update(
            state=OutboxEvent.State.DEAD if dead else OutboxEvent.State.PENDING,
            attempts=attempts,
            available_at=timezone.now() + _backoff(attempts),
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            claim_token=None,
        )
        metrics.OUTBOX_FAILURES.labels(event_type=event.event_type, outcome="dead" if dead else "retry").inc()
        logger.warning("outbox event %s failed (attempt %s)", event.id, attempts, exc_info=True)
        return False
    now = timezone.now()
    OutboxEvent.objects.filter(id=event.id, claim_token=token).update(
        state=OutboxEvent.State.DONE, processed_at=now, attempts=event.attempts + 1, claim_token=None
    )
    metrics.OUTBOX_LAG.observe(max((now - event.created_at).total_seconds(), 0.0))
    metrics.OUTBOX_DELIVERED.labels(event_type=event.event_type).inc()
    return True


def relay_pending(*, batch_size: int = 500, max_batches: int = 20) -> int:
    """Deliver due events oldest first; returns how many were delivered."""
    release_stale_claims()
    delivered = 0
    for _ in range(max_batches):
        due = list(
            OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING, available_at__lte=timezone.now())
            .order_by("created_at")
            .values_list("id", flat=True)[:batch_size]
        )
        if not due:
            break
        for event_id in due:
            token = _claim(event_id)
            if token is None:
                continue
            event = OutboxEvent.objects.get(id=event_id)
            delivered += relay_event(event, token)
    update_backlog_metrics()
    return delivered


def release_stale_claims() -> int:
    """A relay that died mid-event leaves it PROCESSING; hand it back after the claim timeout.

    The lost attempt counts, so an event whose handler kills its worker every time ends as a dead
    letter instead of being retried forever."""
    stale = OutboxEvent.objects.filter(
        state=OutboxEvent.State.PROCESSING, claimed_at__lt=timezone.now() - CLAIM_TIMEOUT
    )
    released = stale.update(
        state=OutboxEvent.State.PENDING,
        claim_token=None,
        attempts=F("attempts") + 1,
        last_error="relay stopped while handling the event (claim timed out)",
    )
    if released:
        OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING, attempts__gte=MAX_ATTEMPTS).update(
            state=OutboxEvent.State.DEAD
        )
    return released


def replay_dead(*, event_ids: list[Any], merchant: Any = None) -> int:
    qs = OutboxEvent.objects.filter(id__in=event_ids, state=OutboxEvent.State.DEAD)
    if merchant is not None:
        qs = qs.filter(merchant_id=getattr(merchant, "pk", merchant))
    count = qs.update(state=OutboxEvent.State.PENDING, attempts=0, available_at=timezone.now(), last_error="")
    if count:
        on_commit(_kick_relay)
    return count


def update_backlog_metrics() -> None:
    metrics.OUTBOX_BACKLOG.set(OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING).count())
    metrics.OUTBOX_DEAD.set(OutboxEvent.objects.filter(state=OutboxEvent.State.DEAD).count())
