#!/usr/bin/env python
"""API baseline: an authenticated 50-row cursor page versus a bare constant Django view.

Both are served by the same gunicorn (2 sync workers, same settings, same middleware stack) on
127.0.0.1 and measured the same way with wrk:
  * throughput: 50 connections, requests/s;
  * latency: 10 concurrent clients, p50/p95/p99 (wrk Lua summary).

(a) `GET /api/v1/merchants/current/audit-log` with a real JWT: authentication (signature, revocation
    check, membership + merchant + user in one query), the viewer-role permission, a cursor page of 50
    audit rows of this store (1,000 seeded for it, 1,000 for another store) through DRF serializers.
(b) `GET /bench/constant`: a plain Django function returning a constant JSON body. It exists only in
    the throw-away urlconf this script writes next to its settings (the product never serves it).

Embedded defaults: SQLite in a temp directory, in-process cache, no Redis (pass --database-url /
--redis-url to measure PostgreSQL / Redis). Targets: list ≥ 25 % of bare throughput, p95 ≤ 15 ms.

    .venv/bin/python benchmarks/api_baseline.py [--duration 10] [--database-url postgres://…]
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
LIST_PATH = "/api/v1/merchants/current/audit-log"
BARE_PATH = "/bench/constant"

SETTINGS = """
from kaleem.settings.base import *  # noqa
ROOT_URLCONF = "bench_urls"
"""
URLS = """
from django.http import HttpResponse
from django.urls import include, path

def constant(request):
    return HttpResponse(b'{"status": "ok"}', content_type="application/json")

urlpatterns = [path("bench/constant", constant), path("", include("kaleem.urls"))]
"""
SEED = """
import django, json
django.setup()
from kaleem.testing.factories import MembershipFactory, MerchantFactory, UserFactory
from merchants.models import AuditLog
from merchants.tokens import token_pair_issue
store, other = MerchantFactory(name="Bench Store"), MerchantFactory(name="Other Store")
user = UserFactory(email="bench@example.com")
MembershipFactory(merchant=store, user=user, role="owner")
for merchant in (store, other):
    AuditLog.objects.bulk_create([
        AuditLog(merchant=merchant, actor=user, action="product.updated", target_type="Product",
                 target_id=f"{i:08d}", data={"fields": ["price", "title"]}, ip_address="10.0.0.1")
        for i in range({rows})
    ])
print(json.dumps({{"access": token_pair_issue(user=user, merchant_id=store.pk)["access"]}}))
"""
LUA = """
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency.max))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:  # noqa: S310 - loopback only
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not become ready: {url}")


def _worker_cpu_seconds(master_pid: int) -> float:
    """User+system CPU seconds used so far by the gunicorn workers (children of the master).

    CPU per request does not depend on how busy the rest of the machine is, unlike requests/s."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def _wrk(url: str, *, connections: int, duration: int, headers: dict[str, str], lua: Path) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "5s", "-s", str(lua)]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    match = re.search(r"BENCH (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    if not match:
        raise RuntimeError(out)
    requests, duration_us, p50, p95, p99, errors, worst = map(int, match.groups())
    return {
        "rps": round(requests / (duration_us / 1e6), 1),
        "requests": requests,
        "errors": errors,
        "p50_ms": round(p50 / 1000, 2),
        "p95_ms": round(p95 / 1000, 2),
        "p99_ms": round(p99 / 1000, 2),
        "max_ms": round(worst / 1000, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--latency-clients", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1000, help="audit rows seeded per store")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--redis-url", default="", help="default: none (in-process cache)")
    parser.add_argument("--json", action="store_true", help="print the raw results as JSON too")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2

    work = Path(tempfile.mkdtemp(prefix="kaleem-bench-"))
    (work / "bench_settings.py").write_text(SETTINGS)
    (work / "bench_urls.py").write_text(URLS)
    lua = work / "summary.lua"
    lua.write_text(LUA)
    env = {
        **os.environ,
        "PYTHONPATH": f"{work}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DATABASE_URL": args.database_url or f"sqlite:///{work / 'bench.sqlite3'}",
        "REDIS_URL": args.redis_url,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": "bench-" + os.urandom(24).hex(),
        "QDRANT_PATH": str(work / "qdrant"),
    }
    server = None
    try:
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        seeded = subprocess.run(
            [
                PYTHON,
                "-c",
                textwrap.dedent(SEED).replace("{rows}", str(args.rows)).replace("{{", "{").replace("}}", "}"),
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        access = json.loads(seeded.stdout.strip().splitlines()[-1])["access"]
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                GUNICORN,
                "kaleem.wsgi:application",
                "-w",
                str(args.workers),
                "-k",
                "sync",
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stderr=open(work / "gunicorn.log", "w"),  # noqa: SIM115
        )
        _wait_ready(f"{base}/healthz")
        auth = {"Authorization": f"Bearer {access}"}
        page = json.loads(
            urllib.request.urlopen(urllib.request.Request(f"{base}{LIST_PATH}", headers=auth)).read()  # noqa: S310
        )
        assert len(page["results"]) == 50 and page["next"], "the list endpoint must return a full cursor page"
        for path, headers in ((BARE_PATH, {}), (LIST_PATH, auth)):  # warm both workers
            _wrk(f"{base}{path}", connections=4, duration=2, headers=headers, lua=lua)
        results = {}
        load_before = os.getloadavg()[0]
        for name, path, headers in (("bare", BARE_PATH, {}), ("list", LIST_PATH, auth)):
            cpu_before = _worker_cpu_seconds(server.pid)
            throughput = _wrk(
                f"{base}{path}", connections=args.connections, duration=args.duration, headers=headers, lua=lua
            )
            throughput["worker_cpu_ms_per_request"] = round(
                (_worker_cpu_seconds(server.pid) - cpu_before) * 1000 / max(throughput["requests"], 1), 3
            )
            latency = _wrk(
                f"{base}{path}", connections=args.latency_clients, duration=args.duration, headers=headers, lua=lua
            )
            results[name] = {"throughput": throughput, "latency": latency}
        load_after = os.getloadavg()[0]
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)

    db = "PostgreSQL" if env["DATABASE_URL"].startswith("postgres") else "SQLite"
    print(
        f"gunicorn {args.workers} sync workers, {db}, {'Redis' if args.redis_url else 'no Redis'}, "
        f"wrk {args.duration}s per run"
    )
    print(
        f"{'endpoint':<34}{'req/s @' + str(args.connections):>12}{'req/s @' + str(args.latency_clients):>12}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
    )
    for name, label in (("bare", f"bare constant view {BARE_PATH}"), ("list", f"auth list (50 rows) {LIST_PATH}")):
        t, lat = results[name]["throughput"], results[name]["latency"]
        print(
            f"{label[:33]:<34}{t['rps']:>12.0f}{lat['rps']:>12.0f}{lat['p50_ms']:>9.2f}{lat['p95_ms']:>9.2f}"
            f"{lat['p99_ms']:>9.2f}{t['errors'] + lat['errors']:>8}"
        )
    ratio = results["list"]["throughput"]["rps"] / results["bare"]["throughput"]["rps"]
    p95 = results["list"]["latency"]["p95_ms"]
    print(
        f"list / bare throughput: {ratio:.1%} (target ≥ 25 %)   list p95 @ {args.latency_clients} clients: "
        f"{p95:.2f} ms (target ≤ 15 ms)"
    )
    cpu_bare = results["bare"]["throughput"]["worker_cpu_ms_per_request"]
    cpu_list = results["list"]["throughput"]["worker_cpu_ms_per_request"]
    print(
        f"gunicorn worker CPU per request: bare {cpu_bare:.3f} ms, list {cpu_list:.3f} ms "
        f"(CPU-cost ratio {cpu_bare / cpu_list:.1%}); 1-min load average {load_before:.1f} -> {load_after:.1f} "
        f"on {os.cpu_count()} cores shared with other processes"
    )
    if args.json:
        print(json.dumps({"results": results, "ratio": ratio, "load": [load_before, load_after]}, indent=2))
    return 0 if ratio >= 0.25 and p95 <= 15 else 1


if __name__ == "__main__":
    sys.exit(main())
