"""Transactional outbox: same-transaction writes, delivery, retries with backoff, dead letters, replay,
and a claim that lets only one relay deliver each event."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from kaleem.db import atomic
from kaleem.models import OutboxEvent
from kaleem.outbox import emit, register_batch_handler, register_handler, registry
from kaleem.outbox.services import MAX_ATTEMPTS, _claim, relay_pending, release_stale_claims, replay_dead
from kaleem.testing.factories import MerchantFactory
from kaleem.testing.queries import assert_max_queries


@pytest.fixture
def event_type():
    """A unique event type per test; its handlers are unregistered afterwards."""
    name = f"test.{uuid.uuid4().hex[:8]}"
    yield name
    registry._handlers.pop(name, None)
    registry._batch_handlers.pop(name, None)


def _due_now():
    OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING).update(available_at=timezone.now())


@pytest.mark.django_db
def test_event_is_written_in_the_callers_transaction(event_type):
    merchant = MerchantFactory()
    with pytest.raises(RuntimeError):
        with atomic():
            merchant.name = "renamed"
            merchant.save()
            emit(merchant=merchant, event_type=event_type, payload={"n": 1})
            raise RuntimeError("the write failed")
    assert not OutboxEvent.objects.filter(event_type=event_type).exists()
    with atomic():
        emit(merchant=merchant, event_type=event_type, payload={"n": 2})
    event = OutboxEvent.objects.get(event_type=event_type)
    assert event.payload == {"n": 2} and event.state == OutboxEvent.State.PENDING


@pytest.mark.django_db
def test_commit_kicks_the_relay_which_delivers_to_handlers(event_type, django_capture_on_commit_callbacks):
    seen = []
    register_handler(event_type, lambda e: seen.append(("a", e.payload["n"])))
    register_handler(event_type, lambda e: seen.append(("b", e.payload["n"])))
    merchant = MerchantFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with atomic():
            emit(merchant=merchant, event_type=event_type, payload={"n": 1})
    assert sorted(seen) == [("a", 1), ("b", 1)]
    event = OutboxEvent.objects.get(event_type=event_type)
    assert event.state == OutboxEvent.State.DONE and event.processed_at and event.attempts == 1
    relay_pending()
    assert len(seen) == 2  # delivered once


@pytest.mark.django_db
def test_failing_handler_is_retried_with_backoff_then_dead_lettered_and_replayable(event_type):
    calls = []
    healthy = {"ok": False}

    def flaky(event):
        calls.append(timezone.now())
        if not healthy["ok"]:
            raise ConnectionError("receiver down")

    register_handler(event_type, flaky)
    emit(merchant=MerchantFactory(), event_type=event_type, payload={})
    assert relay_pending() == 0
    event = OutboxEvent.objects.get(event_type=event_type)
    assert event.state == OutboxEvent.State.PENDING and event.attempts == 1
    assert "receiver down" in event.last_error
    assert event.available_at > timezone.now() + timedelta(seconds=1)  # backed off
    relay_pending()
    assert len(calls) == 1  # not due yet: not retried early
    delays = []
    for _ in range(MAX_ATTEMPTS - 1):
        _due_now()
        before = timezone.now()
        relay_pending()
        event.refresh_from_db()
        delays.append((event.available_at - before).total_seconds())
    assert event.state == OutboxEvent.State.DEAD
    assert event.attempts == MAX_ATTEMPTS
    assert len(calls) == MAX_ATTEMPTS
    assert delays[3] > delays[0]  # exponential
    _due_now()
    relay_pending()
    assert len(calls) == MAX_ATTEMPTS  # dead letters are not retried by the sweep
    healthy["ok"] = True
    assert replay_dead(event_ids=[event.id]) == 1
    assert relay_pending() == 1
    event.refresh_from_db()
    assert event.state == OutboxEvent.State.DONE


@pytest.mark.django_db
def test_replay_can_be_limited_to_one_store(event_type):
    mine, theirs = MerchantFactory(), MerchantFactory()
    a = emit(merchant=mine, event_type=event_type, payload={})
    b = emit(merchant=theirs, event_type=event_type, payload={})
    OutboxEvent.objects.filter(id__in=[a.id, b.id]).update(state=OutboxEvent.State.DEAD)
    assert replay_dead(event_ids=[a.id, b.id], merchant=mine) == 1
    assert OutboxEvent.objects.get(id=b.id).state == OutboxEvent.State.DEAD


@pytest.mark.django_db
def test_claim_is_a_conditional_update_only_one_wins(event_type):
    event = emit(merchant=None, event_type=event_type, payload={})
    first, second = _claim(event.id), _claim(event.id)
    assert first is not None and second is None
    # a relay that died mid-event: the claim is released after the timeout
    OutboxEvent.objects.filter(id=event.id).update(claimed_at=timezone.now() - timedelta(minutes=10))
    assert release_stale_claims() == 1
    event.refresh_from_db()
    assert event.state == OutboxEvent.State.PENDING and event.attempts == 1
    assert _claim(event.id) is not None


@pytest.mark.django_db
def test_event_that_keeps_killing_its_relay_ends_dead(event_type):
    event = emit(merchant=None, event_type=event_type, payload={})
    OutboxEvent.objects.filter(id=event.id).update(
        state=OutboxEvent.State.PROCESSING, attempts=MAX_ATTEMPTS - 1, claimed_at=timezone.now() - timedelta(hours=1)
    )
    assert release_stale_claims() == 1
    event.refresh_from_db()
    assert event.state == OutboxEvent.State.DEAD
    assert "claim timed out" in event.last_error


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_relays_never_deliver_the_same_event_twice(event_type):
    delivered = []
    lock = threading.Lock()

    def handler(event):
        with lock:
            delivered.append(event.id)

    register_handler(event_type, handler)
    ids = {emit(merchant=None, event_type=event_type, payload={"i": i}).id for i in range(40)}
    errors = []
    start = threading.Barrier(2)

    def relay():
        try:
            start.wait()
            relay_pending(batch_size=10)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert len(delivered) == len(set(delivered)) == 40
    assert set(delivered) == ids
    assert OutboxEvent.objects.filter(event_type=event_type, state=OutboxEvent.State.DONE).count() == 40


@pytest.mark.django_db
def test_a_batch_is_claimed_and_marked_with_a_constant_number_of_queries(event_type):
    batches = []
    register_batch_handler(event_type, lambda events: batches.append([e.payload["i"] for e in events]))
    for i in range(120):
        emit(merchant=None, event_type=event_type, payload={"i": i})
    with assert_max_queries(12):  # stale release, due ids, claim, read back, mark done, backlog counts
        assert relay_pending(batch_size=500) == 120
    assert batches == [list(range(120))]  # one call, oldest first
    assert OutboxEvent.objects.filter(event_type=event_type, state=OutboxEvent.State.DONE, attempts=1).count() == 120
    assert relay_pending() == 0 and len(batches) == 1  # nothing delivered twice


@pytest.mark.django_db
def test_one_failing_event_in_a_batch_is_retried_alone(event_type):
    seen = []

    def batch(events):
        if any(e.payload["i"] == 3 for e in events):
            raise ValueError("event 3 is malformed")
        seen.extend(e.payload["i"] for e in events)

    plain = []
    register_handler(event_type, lambda e: plain.append(e.payload["i"]))
    register_batch_handler(event_type, batch)
    for i in range(6):
        emit(merchant=None, event_type=event_type, payload={"i": i})
    assert relay_pending() == 5
    assert sorted(seen) == [0, 1, 2, 4, 5] and sorted(plain) == list(range(6))
    bad = next(e for e in OutboxEvent.objects.filter(event_type=event_type) if e.payload["i"] == 3)
    assert bad.state == OutboxEvent.State.PENDING and bad.attempts == 1 and "malformed" in bad.last_error
    assert bad.claim_token is None and bad.available_at > timezone.now()
    assert OutboxEvent.objects.filter(event_type=event_type, state=OutboxEvent.State.DONE).count() == 5


@pytest.mark.django_db
def test_a_failing_plain_handler_keeps_the_event_from_batch_handlers_until_it_succeeds(event_type):
    batched = []
    healthy = {"ok": False}

    def plain(event):
        if not healthy["ok"]:
            raise ConnectionError("index down")

    register_handler(event_type, plain)
    register_batch_handler(event_type, lambda events: batched.extend(e.id for e in events))
    event = emit(merchant=None, event_type=event_type, payload={})
    assert relay_pending() == 0 and batched == []
    healthy["ok"] = True
    _due_now()
    assert relay_pending() == 1 and batched == [event.id]


@pytest.mark.django_db
def test_emit_many_writes_the_events_in_order_and_the_relay_delivers_them_so(event_type):
    seen = []
    register_batch_handler(event_type, lambda events: seen.extend(e.payload["n"] for e in events))
    merchant = MerchantFactory()
    with atomic():
        from kaleem.outbox import emit_many

        written = emit_many(merchant=merchant, events=[(event_type, {"n": n}) for n in range(5)])
    stored = list(OutboxEvent.objects.filter(event_type=event_type).order_by("created_at"))
    assert [e.payload["n"] for e in stored] == [0, 1, 2, 3, 4] and [e.id for e in stored] == [e.id for e in written]
    assert all(a.created_at < b.created_at for a, b in zip(stored, stored[1:], strict=False))  # no ties
    _due_now()
    relay_pending()
    assert seen == [0, 1, 2, 3, 4]
