"""A throw-away Kaleem server with the demo store, for the webchat benchmark and screenshots.

Embedded defaults only (SQLite file, in-process cache, eager tasks, local Qdrant) in a temp
directory; `manage.py runserver` on a free loopback port."""

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
from kaleem.testing.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402,F401 - one definition

DEMO_KEY = "ch_demo_webchat"
DEMO_SLUG = "demo-fashion"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def demo_server(server: str = "runserver") -> Iterator[str]:
    """`server`: "runserver" (WSGI, the README's dev server) or "uvicorn" (ASGI, as in production)."""
    with tempfile.TemporaryDirectory(prefix="kaleem-webchat-") as tmp:
        port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kaleem.settings.base",
            "DATABASE_URL": f"sqlite:///{tmp}/kaleem.sqlite3",
            "QDRANT_PATH": f"{tmp}/qdrant",
            "MEDIA_ROOT": f"{tmp}/media",
            "REDIS_URL": "",
            "DEBUG": "true",
            "LOG_LEVEL": "WARNING",
            "KALEEM_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
        env.pop("CELERY_BROKER_URL", None)
        for cmd in (["migrate", "-v0"], ["load_demo"]):
            subprocess.run([PYTHON, "manage.py", *cmd], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        if server == "uvicorn":
            cmd = [PYTHON, "-m", "uvicorn", "kaleem.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
        else:
            cmd = [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
