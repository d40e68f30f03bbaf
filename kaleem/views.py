"""Health endpoints: /healthz says the process is alive; /readyz checks what it depends on."""

import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from kaleem.core.errors import error_response


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check(fn: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = fn()
    except Exception as exc:  # a readiness probe reports, it does not raise
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), **(detail or {})}


def _database() -> dict[str, Any]:
    connection.ensure_connection()
    from merchants.models import Merchant

    Merchant.objects.exists()
    return {"vendor": connection.vendor}


def _redis() -> dict[str, Any]:
    import redis

    redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    return {}


def _qdrant() -> dict[str, Any]:
    from kaleem.vectors import qdrant_client

    qdrant_client().get_collections()
    return {"mode": "server" if settings.QDRANT_URL else "local"}


def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _check(_database), "qdrant": _check(_qdrant)}
    if settings.REDIS_URL:
        checks["redis"] = _check(_redis)
    # Redis is a cache and broker: without it we still serve reads from the database (degraded).
    essential_ok = checks["database"]["ok"]
    degraded = not all(c["ok"] for c in checks.values())
    status = "ok" if not degraded else ("degraded" if essential_ok else "unavailable")
    return JsonResponse({"status": status, "checks": checks}, status=200 if essential_ok else 503)


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(404, "Not found.")


def api_server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500, "Internal server error.", code="server_error")
