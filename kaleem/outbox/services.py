import contextvars
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from kaleem import metrics
from kaleem.caching import shared_cache
from kaleem.db import on_commit
from kaleem.models import OutboxEvent
from kaleem.outbox.registry import batch_handlers_for, handlers_for

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
CLAIM_TIMEOUT = timedelta(minutes=5)
# Set (SET NX, in the shared cache) by the process that enqueues a relay run and deleted by that run
# when it starts: while it exists a relay is queued that has not read the pending events yet, so an
# event committed meanwhile needs no relay of its own. The TTL only matters if the queued run is lost
# (the beat sweep runs the same task every 5 s and deletes the marker too).
RELAY_KICK_KEY = "outbox:relay-kick"
_commit_kick = threading.local()
_deferred: contextvars.ContextVar["DeferredKicks | None"] = contextvars.ContextVar(
    "outbox_deferred_kicks", default=None
)


def emit(*, merchant: Any, event_type: str, payload: dict[str, Any]) -> OutboxEvent:
    """Record an event in the current transaction; the relay is kicked once the transaction commits
    (one kick per commit however many events it holds; see `kick_relay` for the debounce)."""
    return emit_many(merchant=merchant, events=[(event_type, payload)])[0]


def emit_many(*, merchant: Any, events: list[tuple[str, dict[str, Any]]]) -> list[OutboxEvent]:
    """`emit` for several events of one store, in this order, with one INSERT."""
    now = timezone.now()
    merchant_id = getattr(merchant, "pk", merchant)
    rows = [
        OutboxEvent(
            merchant_id=merchant_id,
            event_type=event_type,
            payload=payload,
            available_at=now,
            created_at=now + timedelta(microseconds=index),  # the relay delivers them in this order
        )
        for index, (event_type, payload) in enumerate(events)
    ]
    if len(rows) == 1:
        rows[0].save(force_insert=True)
    else:
        OutboxEvent.objects.bulk_create(rows)
    deferred = _deferred.get()
    covered = [deferred is not None and deferred.covers(event_type) for event_type, _payload in events]
    if any(covered):
        deferred.emitted = True
    if not all(covered):
        _kick_after_commit()  # one kick per commit however many events it holds
    return rows


class DeferredKicks:
    def __init__(self, event_types: frozenset[str]) -> None:
        self.event_types = event_types  # empty: every type
        self.emitted = False

    def covers(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    def covers_all(self, inner: "DeferredKicks") -> bool:
        return not self.event_types or (bool(inner.event_types) and inner.event_types <= self.event_types)


@contextmanager
def relay_kicks_deferred(*event_types: str) -> Iterator[DeferredKicks]:
    """Events of these types (no types: every type) emitted inside the block do not kick the relay
    when they commit; one kick follows the block instead (after the surrounding transaction commits,
    if there is one; also when the block raises). For a caller that does the events' main effect itself
    right after commit — the assistant's worker sends its replies directly — so the relay, kicked once
    that is done, finds the work taken instead of racing it, and the other subscribers (inbox,
    automations) still hear at once; and for a task that commits several times, so it kicks once.
    Events of other types kick as usual; an enclosing block that covers them takes over the kick; the
    beat sweep still covers a process that dies in the block."""
    deferred = DeferredKicks(frozenset(event_types))
    token = _deferred.set(deferred)
    try:
        yield deferred
    finally:
        _deferred.reset(token)
        if deferred.emitted:
            outer = _deferred.get()
            if outer is not None and outer.covers_all(deferred):
                outer.emitted = True
            else:
                _kick_after_commit()


def _kick_after_commit() -> None:
    # Every registration clears the flag and the first callback to run after a commit sets it, so the
    # other callbacks of that same commit (several events in one transaction) skip: the kick already
    # sent happened after their events were committed. A rolled-back block drops its callbacks, and
    # the next registration clears the flag again, so nothing is ever skipped that was not covered.
    _commit_kick.done = False
    on_commit(_kick_once_per_commit)


def _kick_once_per_commit() -> None:
    if getattr(_commit_kick, "done", False):
        return
    _commit_kick.done = True
    kick_relay()


def _kick_marker_ttl() -> float:
    """Seconds the marker lives (0 = no cross-process debounce). Only meaningful with a cache shared
    by every process (Redis) and a real broker: eager tasks run the relay inside the kick anyway, and a
    per-process cache could not be cleared by a relay running in a worker."""
    ttl = float(getattr(settings, "OUTBOX_RELAY_KICK_TTL", 10.0))
    if ttl <= 0 or getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) or not shared_cache():
        return 0.0
    return ttl


_last_kick_at = [float("-inf")]


def _kick_countdown() -> float:
    """Seconds the next kicked run waits: none after a quiet spell; under a steady stream of events a
    process kicks at most once per OUTBOX_RELAY_KICK_SPACING, so each run delivers a batch (the relay's
    cost is mostly per run) and the stream's events reach the inbox and automations that much later."""
    spacing = float(getattr(settings, "OUTBOX_RELAY_KICK_SPACING", 0.2))
    now = time.monotonic()
    countdown = max(0.0, _last_kick_at[0] + spacing - now)
    _last_kick_at[0] = now + countdown
    return countdown


def kick_relay() -> None:
    """Enqueue one relay run, unless one is already queued that has not started yet: it will read
    every event committed before it starts (`relay_run` deletes the marker before it reads)."""
    from kaleem.tasks import outbox_relay

    ttl = _kick_marker_ttl()
    marked = False
    if ttl:
        from django.core.cache import cache

        try:
            if not cache.add(RELAY_KICK_KEY, 1, timeout=ttl):
                return
            marked = True
        except Exception:  # cache unreachable: kick without the debounce
            logger.info("outbox relay kick marker unavailable", exc_info=True)
    try:
        countdown = _kick_countdown() if ttl else 0.0
        if countdown:
            outbox_relay.apply_async(countdown=countdown)
        else:
            outbox_relay.delay()
    except Exception:  # broker down: the beat sweep picks the event up later
        logger.warning("outbox relay could not be enqueued; beat sweep will deliver", exc_info=True)
        if marked:
            _clear_kick_marker()


def _clear_kick_marker() -> None:
    if not _kick_marker_ttl():
        return
    from django.core.cache import cache

    try:
        cache.delete(RELAY_KICK_KEY)
    except Exception:  # the marker expires on its own
        logger.info("outbox relay kick marker could not be cleared", exc_info=True)


def relay_run() -> int:
    """The relay task's body (kicks and the beat sweep): clear the kick marker FIRST, then read the
    pending events. An event committed after the clear kicks a new run; one committed before it is
    read by this run — so no event waits for the sweep because a kick was skipped."""
    _clear_kick_marker()
    return relay_pending()


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


def _claim_batch(event_ids: list[uuid.UUID]) -> tuple[uuid.UUID, list[OutboxEvent]]:
    """Claim many due events with one conditional update (no row lock): the rows still pending get this
    relay's token, then one SELECT reads back exactly the rows carrying it. A concurrent relay that
    selected the same ids claims only what is still pending, so each event has one owner."""
    now = timezone.now()
    token = uuid.uuid4()
    claimed = OutboxEvent.objects.filter(
        id__in=event_ids, state=OutboxEvent.State.PENDING, available_at__lte=now
    ).update(state=OutboxEvent.State.PROCESSING, claimed_at=now, claim_token=token)
    if not claimed:
        return token, []
    return token, list(OutboxEvent.objects.filter(claim_token=token).order_by("created_at"))


def _dispatch(events: list[OutboxEvent]) -> dict[uuid.UUID, Exception]:
    """Run every handler for the events; returns the failures by event id.

    Plain handlers run per event, in registration order; batch handlers then get, in one call, the
    events whose plain handlers succeeded (oldest first). A batch handler that raises is called again
    event by event, so one bad event does not hold back the rest of the batch."""
    failed: dict[uuid.UUID, Exception] = {}
    for event in events:
        try:
            for handler in handlers_for(event.event_type):
                handler(event)
        except Exception as exc:  # each handler is idempotent; the whole event is retried
            failed[event.id] = exc
    groups: dict[Any, list[OutboxEvent]] = {}
    for event in events:
        if event.id in failed:
            continue
        for batch_handler in batch_handlers_for(event.event_type):
            groups.setdefault(batch_handler, []).append(event)
    for batch_handler, group in groups.items():
        try:
            batch_handler(group)
        except Exception:
            logger.info("outbox batch handler failed for %s events; retrying one by one", len(group), exc_info=True)
            for event in group:
                try:
                    batch_handler([event])
                except Exception as exc:
                    failed.setdefault(event.id, exc)
    return failed


def _record_failure(event: OutboxEvent, token: uuid.UUID, exc: Exception) -> None:
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
    logger.warning("outbox event %s failed (attempt %s)", event.id, attempts, exc_info=exc)


def relay_claimed(events: list[OutboxEvent], token: uuid.UUID) -> int:
    """Dispatch events claimed with `token`, then mark the delivered ones DONE in one update (the
    token in the filter means a relay whose claim was released as stale cannot overwrite the new
    owner's state). Failures go back to PENDING with backoff, or DEAD after MAX_ATTEMPTS."""
    if not events:
        return 0
    failed = _dispatch(events)
    for event in events:
        if event.id in failed:
            _record_failure(event, token, failed[event.id])
    delivered = [event for event in events if event.id not in failed]
    if not delivered:
        return 0
    now = timezone.now()
    OutboxEvent.objects.filter(id__in=[event.id for event in delivered], claim_token=token).update(
        state=OutboxEvent.State.DONE, processed_at=now, attempts=F("attempts") + 1, claim_token=None
    )
    for event in delivered:
        metrics.OUTBOX_LAG.observe(max((now - event.created_at).total_seconds(), 0.0))
        metrics.OUTBOX_DELIVERED.labels(event_type=event.event_type).inc()
    return len(delivered)


def relay_event(event: OutboxEvent, token: uuid.UUID) -> bool:
    """Deliver one event claimed with `token` (see `_claim`)."""
    return relay_claimed([event], token) == 1


def relay_pending(*, batch_size: int = 500, max_batches: int = 20) -> int:
    """Deliver due events oldest first, a batch at a time: one SELECT of due ids, one conditional
    UPDATE to claim them, one SELECT to read the claimed rows, the handlers, one UPDATE to mark them
    done. Returns how many were delivered.

    Housekeeping (releasing stale claims, the backlog gauges: three queries) runs at most every
    OUTBOX_HOUSEKEEPING_SECONDS per process — relays are kicked many times a second under load, while
    a claim goes stale only after CLAIM_TIMEOUT (minutes)."""
    housekeeping = _housekeeping_due()
    if housekeeping:
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
        token, events = _claim_batch(due)
        delivered += relay_claimed(events, token)
    if housekeeping:
        update_backlog_metrics()
    return delivered


_housekeeping_at = [float("-inf")]


def _housekeeping_due() -> bool:
    interval = float(getattr(settings, "OUTBOX_HOUSEKEEPING_SECONDS", 2.0))
    now = time.monotonic()
    if now - _housekeeping_at[0] < interval:
        return False
    _housekeeping_at[0] = now
    return True


def release_stale_claims() -> int:
    """A relay that died mid-event leaves it PROCESSING; hand it back after the claim timeout.

    The lost attempt counts, so an event whose handler kills its worker every time ends as a dead
    letter instead of being retried forever."""
    stale = OutboxEvent.objects.filter(
        state=OutboxEvent.State.PROCESSING, claimed_at__lt=timezone.now() - CLAIM_TIMEOUT
    )
    if not stale.exists():  # the usual case: a read, not a write (on SQLite an UPDATE takes the writer lock)
        return 0
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
        _kick_after_commit()
    return count


def update_backlog_metrics() -> None:
    metrics.OUTBOX_BACKLOG.set(OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING).count())
    metrics.OUTBOX_DEAD.set(OutboxEvent.objects.filter(state=OutboxEvent.State.DEAD).count())
