#!/usr/bin/env python
"""Cache hit ratios of kaleem.caching under a hot-read load (targets from the seeds: L1 >= 40 %, L2 >= 80 %).

Several OS processes play the API workers (each has its own L1, all share one Redis L2 and one
database). Each reads store profiles (`kaleem.caching.store_profile`) of 300 stores with a Zipf
popularity (s = 1.1: a few stores are hot, most are rarely read) for --duration seconds, and with
probability --write-ratio saves a store instead (a real `Merchant.save()`, which invalidates that
store's entries in every process through the version key). The warm-up beat task
(`kaleem.caching.warm`, default limit 200 = CACHE_WARM_LIMIT) runs once before the load, as beat would;
--warm-limit 0 measures a cold start.

Reported per layer: hit ratio = hits / lookups at that layer (L2 sees only L1 misses), database loads,
and read latency by where the read was answered.

    .venv/bin/python benchmarks/cache_hit_ratio.py [--processes 4] [--duration 8] [--redis-url redis://…]

Without --redis-url a private redis-server is started on a free loopback port. SQLite in a temp dir.
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
STORES = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaleem.settings.base")
    import django

    django.setup()


def worker(args: argparse.Namespace) -> None:
    _setup_django()
    import numpy as np

    from kaleem import caching
    from merchants.models import Merchant

    ids = [str(pk) for pk in Merchant.objects.order_by("slug").values_list("pk", flat=True)]
    rng = np.random.default_rng(args.seed)
    weights = 1.0 / np.arange(1, len(ids) + 1) ** 1.1
    weights /= weights.sum()
    caching.reset()
    latencies: dict[str, list[float]] = {"l1": [], "l2": [], "db": []}
    writes = 0
    deadline = time.perf_counter() + args.duration
    picks = rng.choice(len(ids), size=2_000_000, p=weights)
    coins = rng.random(size=2_000_000)
    i = 0
    while time.perf_counter() < deadline:
        merchant_id = ids[picks[i]]
        if coins[i] < args.write_ratio:
            merchant = Merchant.objects.get(pk=merchant_id)
            merchant.description = f"updated {time.time()}"
            merchant.save()  # post_save -> invalidate("store_profile", scope=merchant_id) after commit
            writes += 1
        else:
            before = caching.stats()
            started = time.perf_counter()
            caching.store_profile(merchant_id)
            elapsed = time.perf_counter() - started
            after = caching.stats()
            where = "l1" if after["l1_hit"] > before["l1_hit"] else "l2" if after["l2_hit"] > before["l2_hit"] else "db"
            latencies[where].append(elapsed)
        i += 1
    print(json.dumps({"stats": caching.stats(), "latencies": latencies, "writes": writes}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--write-ratio", type=float, default=0.005)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--warm-limit", type=int, default=200, help="keys the warm-up task loads (CACHE_WARM_LIMIT)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    tmp = Path(tempfile.mkdtemp(prefix="kaleem-cache-bench-"))
    redis_proc = None
    try:
        redis_url = args.redis_url
        if not redis_url:
            port = _free_port()
            redis_proc = subprocess.Popen(
                ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                stdout=subprocess.DEVNULL,
            )
            redis_url = f"redis://127.0.0.1:{port}/0"
            time.sleep(0.3)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kaleem.settings.base",
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
            "REDIS_URL": redis_url,
            "CACHE_REDIS_URL": redis_url,
            "QDRANT_PATH": str(tmp / "qdrant"),
            "LOG_LEVEL": "ERROR",
            "CELERY_TASK_ALWAYS_EAGER": "true",
        }
        os.environ.update(env)
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        _setup_django()
        from kaleem import caching
        from merchants.models import Merchant

        Merchant.objects.bulk_create(
            [
                Merchant(name=f"متجر {n}", slug=f"bench-store-{n:03d}", description="أزياء نسائية " * 20)
                for n in range(STORES)
            ]
        )
        warmed = caching.warm(limit=args.warm_limit)  # the beat task: the most recently active stores

        procs = [
            subprocess.Popen(
                [
                    PYTHON,
                    __file__,
                    "--worker",
                    "--duration",
                    str(args.duration),
                    "--write-ratio",
                    str(args.write_ratio),
                    "--seed",
                    str(n),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            for n in range(args.processes)
        ]
        results = [json.loads(p.communicate(timeout=args.duration + 120)[0].strip().splitlines()[-1]) for p in procs]
    finally:
        if redis_proc:
            redis_proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    total = {k: sum(r["stats"][k] for r in results) for k in results[0]["stats"]}
    lat = {k: [x for r in results for x in r["latencies"][k]] for k in ("l1", "l2", "db")}
    reads = total["l1_hit"] + total["l1_miss"]
    l1 = total["l1_hit"] / reads
    l2 = total["l2_hit"] / max(total["l2_hit"] + total["l2_miss"], 1)
    db_loads = total["l2_miss"]
    writes = sum(r["writes"] for r in results)

    def pct(values: list[float], q: float) -> str:
        if not values:
            return "-"
        values = sorted(values)
        return f"{values[min(len(values) - 1, int(q * len(values)))] * 1e6:,.0f} µs"

    print(f"cache hit ratio: {args.processes} processes x {args.duration:.0f} s, {STORES} stores (Zipf s=1.1), "
          f"write ratio {args.write_ratio:.1%}, warm-up loaded {warmed.get('store_profile', 0)} keys")  # fmt: skip
    print(f"  reads {reads:,} ({reads / args.duration:,.0f}/s), writes {writes:,}")
    print(f"  L1 hit ratio {l1:.1%} (target >= 40 %)   L2 hit ratio {l2:.1%} (target >= 80 %)")
    print(f"  database loads {db_loads:,} = {db_loads / reads:.2%} of reads")
    for layer, label in (("l1", "L1 hit"), ("l2", "L2 hit"), ("db", "database")):
        values = lat[layer]
        median = f"{statistics.median(values) * 1e6:,.0f} µs" if values else "-"
        print(f"  {label:9s} n={len(values):>9,}  p50 {median:>9}  p99 {pct(values, 0.99):>9}")
    ok = l1 >= 0.40 and l2 >= 0.80
    print("  targets met" if ok else "  TARGETS MISSED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
