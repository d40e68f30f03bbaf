"""Relay kicks are debounced: one per commit however many events it holds, and — with Redis shared by
every process and a real broker — at most one queued relay run that has not started yet. The run
clears that marker before it reads, so an event committed while a relay is already working still
gets a run of its own: nothing waits for the beat sweep because a kick was skipped."""

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from celery.signals import task_prerun
from django.conf import settings
from django.db import connection

from channels.testing.stack import REPO, database_url, stack_env, start_worker, stop
from kaleem.db import atomic
from kaleem.models import OutboxEvent
from kaleem.outbox import emit, register_handler, registry
from kaleem.outbox.services import relay_kicks_deferred
from kaleem.testing.factories import MerchantFactory
from kaleem.testing.services import redis_url_or_skip
from kaleem.tests.outbox_kick_support import SLOW_EVENT


@pytest.fixture
def relay_runs():
    """How many times the relay task ran (eager in the test profile: inside the kick)."""
    runs = []

    def count(sender=None, **_kw):  # noqa: ANN001, ANN003
        if getattr(sender, "name", "") == "kaleem.outbox_relay":
            runs.append(1)

    task_prerun.connect(count, weak=False)
    yield runs
    task_prerun.disconnect(count)


@pytest.fixture
def event_type():
    name = f"test.{uuid.uuid4().hex[:8]}"
    yield name
    registry._handlers.pop(name, None)


@pytest.mark.django_db(transaction=True)  # real commits: on_commit callbacks run as in production
def test_many_events_in_one_commit_kick_the_relay_once(event_type, relay_runs):
    seen = []
    register_handler(event_type, lambda e: seen.append(e.payload["n"]))
    merchant = MerchantFactory()
    with atomic():
        for n in range(5):
            emit(merchant=merchant, event_type=event_type, payload={"n": n})
    assert len(relay_runs) == 1 and sorted(seen) == [0, 1, 2, 3, 4]
    with atomic():
        emit(merchant=merchant, event_type=event_type, payload={"n": 5})
    assert len(relay_runs) == 2 and seen[-1] == 5  # the next commit kicks again


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_does_not_swallow_the_next_kick(event_type, relay_runs):
    merchant = MerchantFactory()
    with pytest.raises(RuntimeError), atomic():
        emit(merchant=merchant, event_type=event_type, payload={"n": 0})
        raise RuntimeError("rolled back")
    assert relay_runs == []
    with atomic():
        emit(merchant=merchant, event_type=event_type, payload={"n": 1})
    assert len(relay_runs) == 1
    assert OutboxEvent.objects.get(event_type=event_type).state == OutboxEvent.State.DONE


@pytest.mark.django_db(transaction=True)
def test_deferred_event_types_kick_once_after_the_block(event_type, relay_runs):
    """The assistant's worker sends its replies itself: their events kick the relay after the send."""
    merchant = MerchantFactory()
    with relay_kicks_deferred(event_type):
        with atomic():
            emit(merchant=merchant, event_type=event_type, payload={})
            emit(merchant=merchant, event_type=event_type, payload={})
        assert relay_runs == []  # committed, not relayed yet
        with atomic():
            emit(merchant=merchant, event_type=f"{event_type}.other", payload={})  # not deferred: kicks
        assert len(relay_runs) == 1
        OutboxEvent.objects.update(state=OutboxEvent.State.PENDING)
        emit(merchant=merchant, event_type=event_type, payload={})
        assert len(relay_runs) == 1
    assert len(relay_runs) == 2  # one kick after the block
    assert set(OutboxEvent.objects.values_list("state", flat=True)) == {OutboxEvent.State.DONE}


@pytest.mark.django_db(transaction=True)
def test_a_block_deferring_every_type_takes_over_the_kicks_of_blocks_inside_it(event_type, relay_runs):
    """The webhook task defers every kick to its end; the reply send inside it defers its own type."""
    merchant = MerchantFactory()
    with relay_kicks_deferred():
        with atomic():
            emit(merchant=merchant, event_type=f"{event_type}.received", payload={})
        with relay_kicks_deferred(event_type):
            with atomic():
                emit(merchant=merchant, event_type=event_type, payload={})
        assert relay_runs == []  # the inner block handed its kick to the outer one
    assert len(relay_runs) == 1
    assert set(OutboxEvent.objects.values_list("state", flat=True)) == {OutboxEvent.State.DONE}


def _emit_in_another_process(env: dict, merchant_id: str, script: str) -> None:
    code = (
        "import django; django.setup()\n"
        "from kaleem.db import atomic\n"
        "from kaleem.outbox import emit\n"
        f"merchant = {merchant_id!r}\n" + script
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=True, timeout=120)  # noqa: S603


@contextmanager
def _private_stack(**settings_env: str) -> Iterator[tuple[str, dict]]:
    """A throw-away redis-server (no other worker eats our tasks) and the environment of processes that
    share this test's database and that Redis."""
    if connection.vendor == "sqlite":
        pytest.skip("needs a database shared with subprocesses: run with DATABASE_URL=postgres://… (CI does)")
    redis_url_or_skip()
    from kaleem.tests.ops_support import private_redis

    with private_redis() as redis_url:
        yield (
            redis_url,
            stack_env(
                db_url=database_url(connection.settings_dict),
                redis_url=redis_url,
                DJANGO_SETTINGS_MODULE="kaleem.tests.outbox_kick_settings",
                SECRET_KEY=settings.SECRET_KEY,
                **settings_env,
            ),
        )


def _wait(predicate, timeout: float):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.worker
@pytest.mark.slow
def test_a_burst_queues_one_relay_and_an_event_emitted_while_it_runs_gets_its_own(transactional_db, tmp_path):
    import redis

    from kaleem.worker_metrics import sample_queue_backlog

    with _private_stack() as (redis_url, env):
        marker = "kaleem:1:outbox:relay-kick"  # the cache key (KEY_PREFIX "kaleem", version 1)
        client = redis.Redis.from_url(redis_url)
        merchant = str(MerchantFactory().id)
        # a burst with no worker running: 10 events in one transaction, then 10 transactions of one
        _emit_in_another_process(
            env,
            merchant,
            "with atomic():\n"
            "    for n in range(10): emit(merchant=merchant, event_type='test.burst', payload={'n': n})\n"
            "for n in range(10, 20):\n"
            "    with atomic(): emit(merchant=merchant, event_type='test.burst', payload={'n': n})\n",
        )
        assert sample_queue_backlog(broker_url=redis_url)["outbox"] == 1  # one relay queued, not 11
        assert client.exists(marker)

        worker = start_worker(env, queues="outbox", log=open(tmp_path / "worker.log", "wb"))  # noqa: SIM115 - no beat
        try:
            burst = OutboxEvent.objects.filter(event_type="test.burst")
            assert _wait(lambda: burst.filter(state=OutboxEvent.State.DONE).count() == 20, 60), (
                tmp_path / "worker.log"
            ).read_text()[-3000:]
            assert not client.exists(marker)  # the run cleared it when it started

            # a relay busy with a slow event; an event committed meanwhile was not read by that run
            _emit_in_another_process(
                env, merchant, f"emit(merchant=merchant, event_type={SLOW_EVENT!r}, payload={{'seconds': 10}})\n"
            )
            slow = OutboxEvent.objects.filter(event_type=SLOW_EVENT)
            assert _wait(lambda: slow.filter(state=OutboxEvent.State.PROCESSING).exists(), 30)
            _emit_in_another_process(env, merchant, "emit(merchant=merchant, event_type='test.late', payload={})\n")
            assert slow.get().state == OutboxEvent.State.PROCESSING  # committed while that run was working
            assert sample_queue_backlog(broker_url=redis_url)["outbox"] == 1  # and kicked a run of its own
            late = OutboxEvent.objects.filter(event_type="test.late")
            # no beat runs here: only that kick can deliver it
            assert _wait(lambda: late.filter(state=OutboxEvent.State.DONE).exists(), 30)
            assert slow.get().state == OutboxEvent.State.DONE
            assert sample_queue_backlog(broker_url=redis_url)["outbox"] == 0 and not client.exists(marker)
        finally:
            stop(worker)


@pytest.mark.worker
def test_under_a_stream_of_events_a_process_spaces_its_relay_runs(transactional_db):
    """After a quiet spell the kick is immediate; the next one within OUTBOX_RELAY_KICK_SPACING is queued
    to run later (an ETA), so one run delivers the events of that interval."""
    import json

    import redis

    with _private_stack(OUTBOX_RELAY_KICK_SPACING="5") as (redis_url, env):
        merchant = str(MerchantFactory().id)
        _emit_in_another_process(
            env,
            merchant,
            "from django.core.cache import cache\n"
            "from kaleem.outbox.services import RELAY_KICK_KEY\n"
            "emit(merchant=merchant, event_type='test.first', payload={})\n"
            "cache.delete(RELAY_KICK_KEY)  # as a relay run starting would\n"
            "emit(merchant=merchant, event_type='test.second', payload={})\n",
        )
        queued = [json.loads(raw) for raw in redis.Redis.from_url(redis_url).lrange("outbox", 0, -1)]
        etas = sorted((m["headers"].get("eta") or "") for m in queued)
        assert len(queued) == 2 and etas[0] == "" and etas[1]  # the first at once, the second later
