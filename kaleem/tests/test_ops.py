"""/healthz, /readyz, /metrics and JSON logs carrying request_id and merchant_id."""

import io
import json
import logging

import pytest
from rest_framework.test import APIClient

from kaleem.settings import base
from kaleem.testing.api import member_client

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_without_touching_dependencies(django_assert_num_queries):
    with django_assert_num_queries(0):
        r = APIClient().get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_reports_each_dependency(settings):
    settings.REDIS_URL = ""
    r = APIClient().get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["qdrant"]["ok"] is True
    assert "redis" not in body["checks"]  # not configured ⇒ not checked


def test_readyz_is_degraded_not_down_when_redis_is_unreachable(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    r = APIClient().get("/readyz")
    assert r.status_code == 200  # still serving from the database
    body = r.json()
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["ok"] is False
    assert "Connection" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_readyz_with_real_redis_is_ok(settings):
    from kaleem.testing.services import redis_url_or_skip

    settings.REDIS_URL = redis_url_or_skip()
    body = APIClient().get("/readyz").json()
    assert body["checks"]["redis"]["ok"] is True


def test_metrics_expose_prometheus_text():
    APIClient().get("/healthz")
    r = APIClient().get("/metrics")
    assert r.status_code == 200
    assert r["Content-Type"].startswith("text/plain")
    text = r.content.decode()
    assert "# TYPE django_http_requests_total_by_method" in text
    assert 'django_http_requests_total_by_method_total{method="GET"}' in text
    assert "# HELP kaleem_outbox_backlog" in text  # our business metrics are registered too


def _json_handler():
    """The production formatter and context filter from settings.base.LOGGING, writing to a buffer."""
    from pythonjsonlogger.json import JsonFormatter

    from kaleem.logging import ContextFilter

    spec = base.LOGGING["formatters"]["json"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(spec["fmt"], rename_fields=spec["rename_fields"]))
    handler.addFilter(ContextFilter())
    return handler, stream


def test_json_logs_carry_request_id_and_merchant_id():
    handler, stream = _json_handler()
    audit_logger = logging.getLogger("merchants.services")
    audit_logger.addHandler(handler)
    previous = audit_logger.level
    audit_logger.setLevel(logging.INFO)
    try:
        owner, merchant, _ = member_client("owner")
        r = owner.patch(
            "/api/v1/merchants/current", {"description": "logged"}, format="json", HTTP_X_REQUEST_ID="log-req-42"
        )
        assert r.status_code == 200
    finally:
        audit_logger.removeHandler(handler)
        audit_logger.setLevel(previous)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    record = next(line for line in lines if line["message"] == "audit merchant.updated")
    assert record["request_id"] == "log-req-42"
    assert record["merchant_id"] == str(merchant.pk)
    assert record["level"] == "INFO"
    assert record["logger"] == "merchants.services"
    # outside a request the context is empty, not stale
    from kaleem.logging import merchant_id_var, request_id_var

    assert request_id_var.get() == "" and merchant_id_var.get() == ""


def test_readyz_is_503_when_the_database_is_down():
    """A separate process whose DATABASE_URL points at a port nobody listens on."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    code = (
        "import django, json; django.setup(); from django.test import Client; "
        "r = Client().get('/readyz'); print(r.status_code, json.dumps(r.json()))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kaleem.settings.test",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
        "REDIS_URL": "",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )
    status, body = out.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503", out.stderr[-2000:]
    body = json.loads(body)
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is False
