"""Start the real pieces as subprocesses for the worker test and the webhook benchmark:
gunicorn serving the app and Celery workers, on a given database and Redis (loopback only)."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
QUEUES = "webhooks,assistant,outbox,default"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for the database a Django connection points at (e.g. the pytest test DB)."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def stack_env(*, db_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "channels.testing.bench_settings",
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-secret-key-not-for-production-0123456789"),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "*",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(extra)
    return env


def start_gunicorn(
    env: dict[str, str], *, port: int, workers: int = 2, asgi: bool = True, threads: int = 1, log: Any = None
) -> subprocess.Popen:
    app = "kaleem.asgi:application" if asgi else "kaleem.wsgi:application"
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    if asgi:
        args += ["-k", "uvicorn.workers.UvicornWorker"]
    elif threads > 1:
        args += ["-k", "gthread", "--threads", str(threads)]
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603 - fixed argv
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError("gunicorn did not become healthy")


def start_worker(
    env: dict[str, str],
    *,
    queues: str = QUEUES,
    pool: str = "solo",
    concurrency: int = 1,
    beat: bool = False,
    workdir: Path | None = None,
    log: Any = None,
) -> subprocess.Popen:
    args = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "kaleem",
        "worker",
        "-Q",
        queues,
        "--pool",
        pool,
        "-c",
        str(concurrency),
        "-l",
        "WARNING",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
    ]
    if beat:
        args += [
            "-B",
            "-s",
            str((workdir or Path(tempfile.gettempdir())) / f"celerybeat-{os.getpid()}-{time.time_ns()}"),
        ]
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)  # noqa: S603


def kill_hard(proc: subprocess.Popen) -> None:
    """SIGKILL: no warm shutdown, nothing acknowledged or cleaned up."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
