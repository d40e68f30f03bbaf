#!/usr/bin/env python
"""Outbox relay throughput and lag with automation subscriptions (issue 7).

A producer thread writes domain events the way request handlers do (order.created-sized payloads,
a few per transaction) at a steady rate; a relay thread runs `relay_pending` continuously, as the
outbox worker does. Each event goes through every registered handler — including the automation
handler, which writes one delivery row per matching subscription (2 here). Lag = processed_at −
created_at per event. Then the automation sender posts every delivery, signed, to a local n8n-like
receiver (in order per subscription) and we report deliveries/s.

Targets: ≥ 500 events/s through the relay, p95 lag ≤ 1 s.

    .venv/bin/python benchmarks/commerce_outbox.py [--events 5000] [--rate 800] [--database-url postgres://…]
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=800.0, help="events/s the producer writes")
    parser.add_argument("--per-transaction", type=int, default=4)
    parser.add_argument("--no-subscriptions", action="store_true", help="relay cost without automation rows")
    parser.add_argument("--relays", type=int, default=1, help="relay workers (threads, each its own connection)")
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--producer-thread",
        action="store_true",
        help="write events from a thread of the relay's process (default: a forked process, as web workers are "
        "separate from the outbox worker in production; in one process the two share the GIL)",
    )
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="write all events first, then start the relay: measures how fast it drains a backlog (its capacity); "
        "lag is then meaningless",
    )
    parser.add_argument("--no-send", action="store_true", help="skip the automation sender (POSTs) part")
    parser.add_argument(
        "--no-fsync-per-commit",
        action="store_true",
        help="SQLite synchronous=NORMAL / PostgreSQL synchronous_commit=off for this process: shows the relay's "
        "own cost when commits are not bound by the disk's fsync latency",
    )
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="kaleem-outbox-bench-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="kaleem.settings.base",
        DATABASE_URL=args.database_url or f"sqlite:///{workdir}/bench.sqlite3",
        QDRANT_PATH=":memory:",
        CELERY_TASK_ALWAYS_EAGER="0",  # the post-commit kick only enqueues; the relay thread does the work
        CELERY_BROKER_URL="memory://",
        LOG_LEVEL="ERROR",
        SSRF_ALLOW_PRIVATE="1",
        MEDIA_ROOT=f"{workdir}/media",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    call_command("migrate", verbosity=0)
    if args.no_fsync_per_commit:
        from django.db.backends.signals import connection_created

        def relaxed(sender, connection, **kwargs) -> None:  # noqa: ANN001
            with connection.cursor() as cursor:
                if connection.vendor == "sqlite":
                    cursor.execute("PRAGMA synchronous=NORMAL")
                elif connection.vendor == "postgresql":
                    cursor.execute("SET synchronous_commit TO off")

        connection_created.connect(relaxed)
        connection.close()

    from django.utils import timezone

    from integrations import services
    from integrations.automations.delivery import deliver_subscription
    from integrations.models import WebhookDelivery
    from integrations.tests.fakes import FakeN8n
    from kaleem.db import atomic
    from kaleem.models import OutboxEvent
    from kaleem.outbox import emit
    from kaleem.outbox.services import relay_pending
    from kaleem.testing.factories import MerchantFactory

    receiver = FakeN8n()
    merchant = MerchantFactory()
    subscriptions = (
        []
        if args.no_subscriptions
        else [
            services.subscription_create(merchant=merchant, url=f"{receiver.url}/webhook/a", events=["order.created"]),
            services.subscription_create(merchant=merchant, url=f"{receiver.url}/webhook/b", events=["*"]),
        ]
    )
    payload = {
        "version": 1,
        "order_id": "9b2f3f8e-7c9a-4a55-9d7e-3c1b2a9f0e11",
        "number": "K-10042",
        "status": "pending",
        "source": "chat",
        "payment_method": "cod",
        "currency": "SAR",
        "total": "349.00",
        "items": [{"sku": "ABAYA-01", "title": "عباية سوداء", "quantity": 1, "unit_price": "349.00"}],
        "conversation_id": None,
    }
    ctx = multiprocessing.get_context("fork")
    produced = ctx.Event()
    errors: list[BaseException] = []
    produced_in = ctx.Value("d", 0.0)  # seconds the producer needed for all its writes
    relay_cpu: list[float] = []  # CPU seconds of each relay thread (time.thread_time), load-independent

    def producer() -> None:
        try:
            interval = args.per_transaction / args.rate
            next_at = began = time.perf_counter()
            for start in range(0, args.events, args.per_transaction):
                with atomic():
                    for _ in range(min(args.per_transaction, args.events - start)):
                        emit(merchant=merchant, event_type="order.created", payload=payload)
                next_at += interval
                delay = next_at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            produced_in.value = time.perf_counter() - began
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            if not args.producer_thread:
                raise
        finally:
            produced.set()
            connection.close()

    def relay() -> None:
        cpu_at = time.thread_time()
        try:
            while True:
                done = relay_pending(batch_size=500, max_batches=4)
                if produced.is_set() and not done and not OutboxEvent.objects.filter(state="pending").exists():
                    return
                if not done:
                    time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            relay_cpu.append(time.thread_time() - cpu_at)
            connection.close()

    connections.close_all()  # a forked producer must not share the parent's connections
    producer_runner = threading.Thread(target=producer) if args.producer_thread else ctx.Process(target=producer)
    threads = [threading.Thread(target=relay) for _ in range(args.relays)]
    producer_runner.start()
    if args.backlog:
        producer_runner.join()
    started, cpu_started = time.perf_counter(), time.process_time()
    relay_started = timezone.now()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    producer_runner.join()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if errors:
        raise errors[0]
    if getattr(producer_runner, "exitcode", 0):
        raise SystemExit("the producer process failed")

    rows = list(OutboxEvent.objects.filter(merchant_id=merchant.pk).values_list("created_at", "processed_at", "state"))
    lags = [(p - c).total_seconds() for c, p, s in rows if p is not None]
    first, last = min(c for c, _p, _s in rows), max(p for _c, p, _s in rows if p is not None)
    if args.backlog:
        first = relay_started
    span = (last - first).total_seconds()
    load = os.getloadavg()[0]
    print(
        f"outbox relay, {len(rows)} events produced at ~{args.rate:.0f}/s, {args.relays} relay worker(s), "
        f"{len(subscriptions)} automation subscriptions"
    )
    if produced_in.value:
        where = "a thread of this process" if args.producer_thread else "its own process"
        print(
            f"producer ({where}) wrote {len(rows)} events in {produced_in.value:.2f} s = "
            f"{len(rows) / produced_in.value:.0f} events/s "
            f"(asked {args.rate:.0f}/s; if lower, the producer, not the relay, limits the run)"
        )
    mode = "no fsync per commit" if args.no_fsync_per_commit else "fsync per commit (default)"
    print(f"DB {os.environ['DATABASE_URL'].split(':')[0]} ({mode}), load average {load:.1f} on {os.cpu_count()} cores")
    since = "relay start" if args.backlog else "first write"
    print(f"relayed {len(lags)} events in {span:.2f} s ({since} → last relayed) = {len(lags) / span:.0f} events/s")
    print(
        f"lag p50 {statistics.median(lags) * 1000:.0f} ms  p95 {_pct(lags, 0.95) * 1000:.0f} ms  "
        f"max {max(lags) * 1000:.0f} ms   (wall {wall:.2f} s)"
    )
    sides = "producing + relaying" if args.producer_thread else "relaying (this process)"
    print(f"CPU: {cpu:.2f} s for {sides} = {len(lags) / cpu:.0f} events per CPU-second")
    relay_seconds = sum(relay_cpu)
    print(
        f"relay CPU (relay threads: handlers, ORM, driver; with SQLite also the database engine): {relay_seconds:.2f} s = "
        f"{relay_seconds / max(len(lags), 1) * 1000:.2f} ms per event = {len(lags) / max(relay_seconds, 1e-9):.0f} "
        "events per relay CPU-second"
    )
    deliveries = WebhookDelivery.objects.filter(merchant_id=merchant.pk).count()
    print(f"automation deliveries queued: {deliveries} (expected {len(subscriptions) * len(rows)})")

    started, cpu_started = time.perf_counter(), time.process_time()
    sent = 0
    for subscription in [] if args.no_send else subscriptions:
        sent += deliver_subscription(subscription_id=subscription.id)["sent"]
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if sent:
        print(
            f"signed POSTs to the local receiver, in order per subscription: {sent} in {seconds:.2f} s = "
            f"{sent / seconds:.0f}/s ({sent / max(cpu, 1e-9):.0f} per CPU-second, receiver threads included)"
        )
    met = len(lags) / span >= 500 and _pct(lags, 0.95) <= 1.0
    print(
        f"RESULT: {len(lags) / span:.0f} events/s, p95 lag {_pct(lags, 0.95) * 1000:.0f} ms — "
        f"target ≥ 500 events/s and p95 lag ≤ 1 s: {'met' if met else 'MISSED'}"
    )
    receiver.close()


if __name__ == "__main__":
    main()
