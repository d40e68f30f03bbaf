#!/usr/bin/env python
"""Webhook ingest and first response (issue 5), on this machine, loopback only.

Stack: PostgreSQL (a dedicated database this script drops and recreates), a private redis-server
(broker + cache), gunicorn serving the app, Celery workers, and the fake WhatsApp Cloud API from
channels/testing/fake_providers.py in this process.

Phase 1 — ingest: wrk (Lua) posts signed WhatsApp text webhooks, every body a new `wamid`
(pre-signed, HMAC-SHA256 over the exact bytes). Workers are stopped so the two cores serve HTTP
only; the queued processing is discarded afterwards. Reports throughput and the p50/p99 ack latency
at two loads (saturating, and moderate).

Phase 2 — end to end: workers running; a paced client opens NEW conversations at a fixed rate
(default 50/s for 20 s), one signed WhatsApp text each. First response = the fake provider
receiving our reply's first part minus the moment the webhook POST was sent (the assistant's burst
quiet period is set to 0 here: production waits ASSISTANT_QUIET_PERIOD_SECONDS=1.2 s by design).
Then every conversation is checked: exactly one inbound, exactly one reply, sent once.

Since issue 5's pipeline cut the webhook task also runs the assistant's turn and sends the reply (quiet
period 0), so phase 2 also prints CPU per conversation by process tree (web, each worker) and for the
PostgreSQL backends, the 1-minute load average, and stage medians from the rows' timestamps.

    .venv/bin/python benchmarks/webhook_ingest.py [--duration 10] [--rate 50] [--e2e-seconds 20]
    .venv/bin/python benchmarks/webhook_ingest.py --wsgi --threads 4 --skip-ingest --rate 50 --e2e-seconds 10
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_NAME = "kaleem_bench_channels"
APP_SECRET = "bench-app-secret"

LUA = r"""
local lines = {}
local counter = 0
local path = "/"
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  path = args[1]
  local nthreads = tonumber(args[3])
  local first, last = tonumber(args[4]), tonumber(args[5])
  local i = 0
  for line in io.lines(args[2]) do
    if i >= first and i < last and i % nthreads == tid then lines[#lines + 1] = line end
    i = i + 1
  end
  idx = 0
end
function request()
  idx = idx % #lines + 1
  local tab = string.find(lines[idx], "\t", 1, true)
  local sig = string.sub(lines[idx], 1, tab - 1)
  local body = string.sub(lines[idx], tab + 1)
  return wrk.format("POST", path, {["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = sig}, body)
end
function done(summary, latency, requests)
  io.write(string.format("JSON{\"requests\":%d,\"duration_us\":%d,\"errors\":%d,\"non2xx\":%d,\"p50\":%d,\"p90\":%d,\"p99\":%d,\"max\":%d}\n",
    summary.requests, summary.duration, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def sign(raw: bytes) -> str:
    import hashlib
    import hmac

    return "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()


def wa_body(wamid: str, sender: str, text: str) -> bytes:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "966500000001", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "عميل"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": wamid, "timestamp": str(int(time.time())), "type": "text",
                          "text": {"body": text}}],
        }}]}],
    }  # fmt: skip
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()  # escaped like Meta


def stage_breakdown(conversation_ids: set) -> dict:
    """Where the time goes, from the rows' own timestamps (one clock: this machine). With the quiet
    period 0 the webhook task records the message, runs the assistant and sends the reply itself, so
    "processed" (the event row closed) comes after the inbound message was written."""
    from channels.models import OutboundDelivery, WebhookEvent
    from conversations.models import Message

    stages: dict[str, list[float]] = {
        "webhook_to_inbound_written": [],
        "inbound_written_to_reply_written": [],
        "reply_written_to_sent": [],
        "webhook_to_sent": [],
    }
    inbound = {
        m.conversation_id: m for m in Message.objects.filter(conversation_id__in=conversation_ids, direction="in")
    }
    events = {
        e.provider_event_id: e
        for e in WebhookEvent.objects.filter(provider_event_id__in=[m.provider_message_id for m in inbound.values()])
    }
    replies = {
        m.conversation_id: m for m in Message.objects.filter(conversation_id__in=conversation_ids, direction="out")
    }
    sent = {d.message_id: d for d in OutboundDelivery.objects.filter(conversation_id__in=conversation_ids)}
    for conv, message in inbound.items():
        event, reply = events.get(message.provider_message_id), replies.get(conv)
        if not event or not reply:
            continue
        stages["webhook_to_inbound_written"].append((message.created_at - event.received_at).total_seconds() * 1000)
        stages["inbound_written_to_reply_written"].append(
            (reply.created_at - message.created_at).total_seconds() * 1000
        )
        delivery = sent.get(reply.id)
        if delivery and delivery.sent_at:
            stages["reply_written_to_sent"].append((delivery.sent_at - reply.created_at).total_seconds() * 1000)
            stages["webhook_to_sent"].append((delivery.sent_at - event.received_at).total_seconds() * 1000)
    out = {}
    for name, values in stages.items():
        values.sort()
        if values:
            out[name] = [
                round(values[len(values) // 2], 1),
                round(values[min(len(values) - 1, int(len(values) * 0.95))], 1),
            ]
    return out


def tree_cpu_seconds(root_pid: int) -> float:
    """user+system CPU of a process and its live children (gunicorn/celery workers), from /proc.
    CPU per request does not depend on what else the machine runs; wall-clock figures do."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    total, stack = 0.0, [root_pid]
    while stack:
        pid = stack.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        stack.extend(children.get(pid, []))
    return total


def pg_cpu_seconds() -> float:
    """CPU of the PostgreSQL backends serving the benchmark database (persistent connections only:
    a backend that exits takes its CPU time with it)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if DB_NAME.encode() not in Path(f"/proc/{entry}/cmdline").read_bytes():
                continue
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        check=True,
        capture_output=True,
    )


def main() -> None:  # noqa: PLR0915 - a linear script reads best top to bottom
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--moderate-connections", type=int, default=4)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=50.0, help="new conversations per second (phase 2)")
    parser.add_argument("--e2e-seconds", type=float, default=20.0)
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--celery-pool", default="prefork", help="prefork | threads | solo")
    parser.add_argument("--webhook-workers", type=int, default=1, help="worker processes consuming webhooks,outbox")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true", help="phase 2 only (end to end)")
    parser.add_argument("--wsgi", action="store_true", help="gunicorn WSGI workers instead of uvicorn/ASGI")
    parser.add_argument("--threads", type=int, default=1, help="WSGI: gthread threads per worker")
    args = parser.parse_args()

    from kaleem.tests.ops_support import start_redis
    from kaleem.tests.ops_support import stop as stop_redis

    tmp = Path(tempfile.mkdtemp(prefix="kaleem-webhook-bench-"))
    psql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    psql(f"CREATE DATABASE {DB_NAME}")
    redis_proc, redis_url = start_redis()
    db_url = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"

    from channels.testing.stack import free_port, stack_env, start_gunicorn, start_worker, stop

    # Under ASGI Django's persistent connections leak one per request thread ("too many clients"):
    # Django's advice is CONN_MAX_AGE=0 there; sync WSGI workers keep theirs.
    env = stack_env(
        db_url=db_url,
        redis_url=redis_url,
        ASSISTANT_QUIET_PERIOD_SECONDS="0",
        DB_CONN_MAX_AGE="600" if args.wsgi else "0",
    )
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
                                           "SECRET_KEY", "ASSISTANT_QUIET_PERIOD_SECONDS")})  # fmt: skip
    print("migrating a fresh PostgreSQL database …", flush=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    import django

    django.setup()
    from channels.models import Channel, OutboundDelivery, WebhookEvent
    from channels.services import channel_create
    from channels.testing.fake_providers import FakeProviders
    from conversations.models import Message
    from kaleem.testing.factories import MerchantFactory

    fake = FakeProviders().start()
    merchant = MerchantFactory(name="متجر القياس", slug="bench-webhooks")
    channel = channel_create(
        merchant=merchant,
        kind="whatsapp",
        name="bench",
        credentials={"access_token": "t", "phone_number_id": "106540352242922", "app_secret": APP_SECRET},
        provider_base_url=fake.url,
    )
    Channel.objects.filter(id=channel.id).update(status=Channel.Status.ACTIVE)
    path = f"/webhooks/whatsapp/{channel.public_key}"
    port = free_port()
    web = start_gunicorn(
        env,
        port=port,
        workers=args.web_workers,
        asgi=not args.wsgi,
        threads=args.threads,
        log=open(tmp / "web.log", "wb"),
    )  # noqa: SIM115
    kind = (
        (f"gthread/WSGI ({args.threads} threads)" if args.threads > 1 else "sync/WSGI") if args.wsgi else "uvicorn/ASGI"
    )
    results: dict = {"server": f"gunicorn {kind} × {args.web_workers}"}
    workers: list[subprocess.Popen] = []
    try:
        # ---------------------------------------------------------------- phase 1: ingest
        count = 0 if args.skip_ingest else 60_000
        bodies = tmp / "bodies.tsv"
        with bodies.open("w") as fh:
            for i in range(count):
                raw = wa_body(f"wamid.BENCH{i:08d}", f"9665{i:08d}", "السلام عليكم، هل المنتج متوفر؟")
                fh.write(f"{sign(raw)}\t{raw.decode()}\n")
        (tmp / "bench.lua").write_text(LUA)

        def wrk(connections: int, threads: int, duration: int, first: int, last: int) -> dict:
            cpu_before, pg_before = tree_cpu_seconds(web.pid), pg_cpu_seconds()
            # each run posts its own slice of bodies: every request is a new message, not a re-delivery
            out = subprocess.run(
                ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency",
                 "-s", str(tmp / "bench.lua"), f"http://127.0.0.1:{port}", "--", path, str(bodies), str(threads),
                 str(first), str(last)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            data = json.loads(re.search(r"JSON(\{.*\})", out.stdout).group(1))
            data["pg_cpu_ms_per_request"] = round((pg_cpu_seconds() - pg_before) * 1000 / max(data["requests"], 1), 2)
            data["web_cpu_ms_per_request"] = round(
                (tree_cpu_seconds(web.pid) - cpu_before) * 1000 / max(data["requests"], 1), 2
            )
            data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
            return data

        if not args.skip_ingest:
            wrk(4, 1, 2, 0, 5_000)  # warm-up: connections, imports, caches
            before = WebhookEvent.objects.count()
            saturating = wrk(args.connections, 2, args.duration, 5_000, 45_000)
            moderate = wrk(args.moderate_connections, 1, args.duration, 45_000, 60_000)
            stored = WebhookEvent.objects.count() - before
            results["ingest"] = {
                "saturating": {"connections": args.connections, "req_per_s": round(saturating["rps"]),
                               "p50_ms": saturating["p50"] / 1000, "p99_ms": saturating["p99"] / 1000,
                               "non2xx": saturating["non2xx"], "errors": saturating["errors"],
                               "web_cpu_ms_per_request": saturating["web_cpu_ms_per_request"],
                               "pg_cpu_ms_per_request": saturating["pg_cpu_ms_per_request"]},
                "moderate": {"connections": args.moderate_connections, "req_per_s": round(moderate["rps"]),
                             "p50_ms": moderate["p50"] / 1000, "p99_ms": moderate["p99"] / 1000,
                             "non2xx": moderate["non2xx"], "errors": moderate["errors"],
                             "web_cpu_ms_per_request": moderate["web_cpu_ms_per_request"],
                             "pg_cpu_ms_per_request": moderate["pg_cpu_ms_per_request"]},
                "events_stored": stored,
                "requests": saturating["requests"] + moderate["requests"],
            }  # fmt: skip
            print(json.dumps(results["ingest"], ensure_ascii=False), flush=True)
        # discard the queued processing of phase 1 (60k conversations is not what phase 2 measures)
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        WebhookEvent.objects.filter(state=WebhookEvent.State.PENDING).update(state=WebhookEvent.State.IGNORED)

        if args.skip_e2e:
            return
        # ---------------------------------------------------------------- phase 2: end to end
        for n in range(args.webhook_workers):
            workers.append(
                start_worker(
                    env,
                    queues="webhooks,outbox",
                    pool=args.celery_pool,
                    concurrency=args.celery_concurrency,
                    log=open(tmp / f"worker-webhooks-{n}.log", "wb"),
                )
            )  # noqa: SIM115
        workers.append(
            start_worker(
                env,
                queues="assistant,default",
                pool="prefork",
                concurrency=args.celery_concurrency,
                log=open(tmp / "worker-assistant.log", "wb"),
            )
        )  # noqa: SIM115
        time.sleep(8)  # workers boot (imports, embedder) before the clock starts
        fake.reset()
        # warm-up conversation through the whole pipeline
        import httpx

        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
        warm = wa_body("wamid.WARM", "966499999999", "مرحبا")
        client.post(path, content=warm, headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(warm)})
        deadline = time.time() + 60
        while time.time() < deadline and not fake.sends_for("whatsapp"):
            time.sleep(0.1)
        fake.reset()
        # every worker process loads the embedder and intent model at start (conversations.tasks):
        # wait until the workers are idle so that one-off cost is not counted per conversation
        deadline = time.time() + 90
        while time.time() < deadline:
            busy = sum(tree_cpu_seconds(p.pid) for p in workers)
            time.sleep(1.0)
            if sum(tree_cpu_seconds(p.pid) for p in workers) - busy < 0.05:
                break

        total = int(args.rate * args.e2e_seconds)
        sent_at: dict[str, float] = {}
        statuses: list[int] = []
        lock = threading.Lock()
        texts = ["السلام عليكم", "كم سعر التوصيل إلى جدة؟", "Hello, do you ship to Riyadh?", "ما هي سياسة الإرجاع؟"]

        from concurrent.futures import ThreadPoolExecutor

        shared = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=httpx.Limits(max_connections=64))

        def post(i: int) -> None:
            sender = f"9667{i:08d}"
            raw = wa_body(f"wamid.E2E{i:08d}", sender, texts[i % len(texts)])
            t0 = time.time()
            try:
                r = shared.post(
                    path, content=raw, headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw)}
                )
                code = r.status_code
            except httpx.HTTPError:
                code = 0
            with lock:
                sent_at[sender] = t0
                statuses.append(code)

        procs = {"web": web, "worker_assistant_default": workers[-1]}
        procs.update({f"worker_webhooks_outbox_{n}": w for n, w in enumerate(workers[:-1])})
        cpu_split_before = {name: tree_cpu_seconds(p.pid) for name, p in procs.items()}
        pg_before = pg_cpu_seconds()
        # the rest of the 2-core budget: this process (paced client + fake provider) and Redis
        harness_before, redis_before = sum(os.times()[:2]), tree_cpu_seconds(redis_proc.pid)
        start = time.time()
        with ThreadPoolExecutor(max_workers=64) as pool:
            for i in range(total):
                delay = start + i / args.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(post, i)
            submitted = time.time()
        offered = total / (submitted - start)
        deadline = time.time() + max(120.0, total * 0.6)  # a saturated run drains after the offered load
        while time.time() < deadline:
            answered = {s.body.get("to") for s in fake.sends_for("whatsapp")}
            if len(answered & set(sent_at)) >= total:
                break
            time.sleep(0.25)
        time.sleep(3)  # let any duplicate show up before counting
        cpu_split = {name: tree_cpu_seconds(p.pid) - cpu_split_before[name] for name, p in procs.items()}
        cpu_used = sum(cpu_split.values())
        pg_used = pg_cpu_seconds() - pg_before
        harness_used = sum(os.times()[:2]) - harness_before
        redis_used = tree_cpu_seconds(redis_proc.pid) - redis_before

        first_send: dict[str, float] = {}
        for s in fake.sends_for("whatsapp"):
            first_send.setdefault(s.body.get("to"), s.at)
        latencies = sorted((first_send[k] - sent_at[k]) * 1000 for k in sent_at if k in first_send)
        inbound = Message.objects.filter(channel=channel, direction="in", provider_message_id__startswith="wamid.E2E")
        conv_ids = set(inbound.values_list("conversation_id", flat=True))
        replies = Message.objects.filter(conversation_id__in=conv_ids, direction="out")
        per_conv: dict = {}
        for conv in replies.values_list("conversation_id", flat=True):
            per_conv[conv] = per_conv.get(conv, 0) + 1
        deliveries = OutboundDelivery.objects.filter(conversation_id__in=conv_ids)
        parts_expected = sum(deliveries.values_list("parts_sent", flat=True))
        parts_seen = len([s for s in fake.sends_for("whatsapp") if s.body.get("to") in sent_at])

        def pct(values: list[float], p: float) -> float:
            return round(values[min(len(values) - 1, int(len(values) * p))], 1) if values else float("nan")

        results["end_to_end"] = {
            "conversations": total,
            "offered_rate_per_s": round(offered, 1),
            "webhook_non200": sum(1 for s in statuses if s != 200),
            "answered": len(latencies),
            "first_response_ms": {"p50": pct(latencies, 0.50), "p95": pct(latencies, 0.95), "p99": pct(latencies, 0.99),
                                  "max": round(latencies[-1], 1) if latencies else None,
                                  "mean": round(statistics.mean(latencies), 1) if latencies else None},
            "inbound_stored": inbound.count(),
            "conversations_with_exactly_one_reply": sum(1 for n in per_conv.values() if n == 1),
            "conversations_with_more_than_one_reply": sum(1 for n in per_conv.values() if n > 1),
            "lost": total - len(latencies),
            "provider_sends": parts_seen,
            "parts_recorded_sent": parts_expected,
            "duplicated_sends": parts_seen - parts_expected,
            "app_cpu_ms_per_conversation": round(cpu_used * 1000 / max(total, 1), 1),
            "app_cpu_ms_per_conversation_by_process": {
                name: round(used * 1000 / max(total, 1), 1) for name, used in cpu_split.items()
            },
            "pg_cpu_ms_per_conversation": round(pg_used * 1000 / max(total, 1), 1),
            "redis_cpu_ms_per_conversation": round(redis_used * 1000 / max(total, 1), 1),
            "harness_cpu_ms_per_conversation": round(harness_used * 1000 / max(total, 1), 1),
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        }  # fmt: skip
        results["end_to_end"]["stages_ms_p50_p95"] = stage_breakdown(conv_ids)
        print(json.dumps(results["end_to_end"], ensure_ascii=False), flush=True)
    finally:
        for w in workers:
            stop(w)
        stop(web)
        fake.stop()
        stop_redis(redis_proc)
    print("RESULT " + json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
