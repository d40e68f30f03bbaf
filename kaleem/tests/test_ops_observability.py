"""Tracing and Sentry, each exercised in a fresh interpreter so instrumentation never leaks into other
tests: a trace started at webhook receipt continues in a real Celery worker (context carried in the
task message headers) and reaches the outbound HTTP send; Sentry events arrive tagged and scrubbed."""

import gzip
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kaleem.observability import before_send, scrub, scrub_text
from kaleem.tests.ops_support import private_redis

REPO = Path(__file__).resolve().parents[2]


class _Recorder(BaseHTTPRequestHandler):
    """A provider (or Sentry) endpoint that records requests."""

    seen: list

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    handler = type("Rec", (_Recorder,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler.seen, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


TRACE_SCRIPT = r"""
import json, os, sys, threading, time
import django
django.setup()
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry import trace
from kaleem import observability
exporter = InMemorySpanExporter()
assert observability.setup_tracing(exporter=exporter, service_name="kaleem-test", force=True)
from celery import shared_task
import httpx
from kaleem.celery import app

@shared_task(name="opstest.send_reply")
def send_reply(url):
    # the outbound send a channel adapter makes after the assistant ran
    httpx.post(url + "/send", json={"text": "hello"}, timeout=5)
    return observability.current_trace_id()

app.conf.task_always_eager = False
worker = app.Worker(pool="solo", queues=["opstest"], concurrency=1, without_heartbeat=True,
                    without_mingle=True, without_gossip=True, loglevel="ERROR", hostname="opstest@local",
                    redirect_stdouts=False)
threading.Thread(target=worker.start, daemon=True).start()

tracer = trace.get_tracer("test")
with tracer.start_as_current_span("POST /webhooks/telegram", kind=trace.SpanKind.SERVER) as span:
    webhook_trace = format(span.get_span_context().trace_id, "032x")
    send_reply.apply_async(args=[sys.argv[1]], queue="opstest")

# outbox-style hop through the database: the carrier travels in the event payload
with tracer.start_as_current_span("assistant.reply"):
    carrier = observability.trace_carrier()
with observability.continue_trace(carrier, "outbox.message.outbound", event_type="message.outbound") as s:
    outbox_trace = format(s.get_span_context().trace_id, "032x")

deadline = time.time() + 30
while time.time() < deadline and not any(s.name.startswith("run/opstest") for s in exporter.get_finished_spans()):
    time.sleep(0.1)
time.sleep(0.3)
spans = [{"name": s.name, "trace": format(s.context.trace_id, "032x"), "kind": s.kind.name}
         for s in exporter.get_finished_spans()]
with open(sys.argv[2], "w") as out:  # the worker may own stdout
    json.dump({"webhook": webhook_trace, "outbox": outbox_trace, "carrier": carrier, "spans": spans}, out)
os._exit(0)
"""


@pytest.mark.worker
@pytest.mark.slow
def test_trace_continues_from_webhook_through_worker_to_outbound_send(recorder, tmp_path):
    seen, base = recorder
    with private_redis() as url:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kaleem.settings.test",
            "REDIS_URL": url,
            "CELERY_BROKER_URL": url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
        out = tmp_path / "result.json"
        proc = subprocess.run(
            [sys.executable, "-c", TRACE_SCRIPT, base, str(out)],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=90,
        )  # fmt: skip
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    trace_id = result["webhook"]
    by_name = {s["name"]: s for s in result["spans"]}
    run = next(s for s in result["spans"] if s["name"].startswith("run/opstest"))
    send = next(s for s in result["spans"] if s["kind"] == "CLIENT" and "POST" in s["name"])
    # the worker thread shares no context with the publisher: only the message headers carry it
    assert run["trace"] == send["trace"] == trace_id, result["spans"]
    # broker polling (Redis commands outside any request/task) is not exported as trace noise
    assert all(s["trace"] in (trace_id, result["outbox"]) for s in result["spans"]), result["spans"]
    # the provider saw the same trace in its W3C header
    assert len(seen) == 1
    assert seen[0]["headers"]["traceparent"].split("-")[1] == trace_id
    # the explicit carrier (outbox payload) continues its trace too
    assert result["carrier"]["traceparent"].split("-")[1] == result["outbox"]
    assert "outbox.message.outbound" in by_name


SENTRY_SCRIPT = r"""
import sys
import django
django.setup()
import sentry_sdk
from kaleem import observability
from kaleem.logging import merchant_id_var, request_id_var
observability.init_sentry(sys.argv[1])
merchant_id_var.set("3f2a0000-0000-0000-0000-000000000001")
request_id_var.set("req-abc123")
try:
    raise ValueError("order for layla@example.com phone +966 55 123 4567 failed, token=sk_live_SECRET")
except ValueError:
    sentry_sdk.capture_exception()
sentry_sdk.flush(5)
"""


def test_sentry_events_are_tagged_and_scrubbed(recorder, tmp_path):
    seen, base = recorder
    dsn = base.replace("http://", "http://publickey@") + "/42"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kaleem.settings.test", "SENTRY_DSN": ""}
    proc = subprocess.run(
        [sys.executable, "-c", SENTRY_SCRIPT, dsn], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert seen, "no event reached the fake Sentry"
    raw = b"".join(r["body"] for r in seen).decode("utf-8", "replace")
    assert "layla@example.com" not in raw and "123 4567" not in raw and "sk_live_SECRET" not in raw
    assert "[email]" in raw and "[phone]" in raw and "[redacted]" in raw
    event = next(json.loads(ln) for ln in raw.splitlines() if '"exception"' in ln)
    assert event["tags"]["merchant_id"] == "3f2a0000-0000-0000-0000-000000000001"
    assert event["tags"]["request_id"] == "req-abc123"


def test_before_send_drops_bodies_cookies_and_user_details():
    event = {
        "user": {"id": "u1", "email": "a@b.co", "ip_address": "1.2.3.4"},
        "request": {
            "cookies": {"sessionid": "x"},
            "data": {"text": "my address is ..."},
            "headers": {"Authorization": "Bearer abc", "X-Hub-Signature-256": "sha256=..", "Accept": "json"},
            "query_string": "email=a@b.co&page=2",
        },
        "extra": {"customer": {"phone": "+966551234567", "note": "call 0551234567"}},
    }
    out = before_send(event, {})
    assert out["user"] == {"id": "u1"}
    assert "cookies" not in out["request"] and "data" not in out["request"]
    assert out["request"]["headers"]["Authorization"] == "[redacted]"
    assert out["request"]["headers"]["X-Hub-Signature-256"] == "[redacted]"
    assert out["request"]["headers"]["Accept"] == "json"
    assert out["request"]["query_string"] == "email=[email]&page=2"
    assert out["extra"]["customer"]["phone"] == "[redacted]"
    assert out["extra"]["customer"]["note"] == "call [phone]"


def test_scrub_handles_arabic_text_and_deep_structures():
    assert scrub_text("راسلني على layla@example.com") == "راسلني على [email]"
    deep: dict = {"a": None}
    node = deep
    for _ in range(30):
        node["a"] = {"a": None}
        node = node["a"]
    assert "[truncated]" in json.dumps(scrub(deep))


def test_tracing_is_off_without_endpoint(settings):
    from kaleem import observability

    settings.OTEL_EXPORTER_OTLP_ENDPOINT = ""
    if not observability.tracing_enabled():
        assert observability.setup_tracing() is False
    assert observability.trace_carrier() == {} or "traceparent" in observability.trace_carrier()


def test_json_log_lines_carry_request_merchant_and_trace_ids():
    """The production LOGGING config: one JSON object per line with the ids Loki queries filter on."""
    import io
    import logging.config

    from opentelemetry.sdk.trace import TracerProvider

    from kaleem.logging import merchant_id_var, request_id_var
    from kaleem.settings import base

    stream = io.StringIO()
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": base.LOGGING["filters"],
        "formatters": base.LOGGING["formatters"],
        "handlers": {"console": {**base.LOGGING["handlers"]["console"], "stream": stream}},
        "loggers": {"ops.test": {"handlers": ["console"], "level": "INFO", "propagate": False}},
    }
    logging.config.dictConfig(config)
    tracer = TracerProvider().get_tracer("test")  # local provider: no global instrumentation
    r_token, m_token = request_id_var.set("req-42"), merchant_id_var.set("m-7")
    try:
        with tracer.start_as_current_span("webhook") as span:
            logging.getLogger("ops.test").info("رسالة واردة")
            ctx = span.get_span_context()
    finally:
        request_id_var.reset(r_token)
        merchant_id_var.reset(m_token)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["message"] == "رسالة واردة" and line["level"] == "INFO" and line["logger"] == "ops.test"
    assert line["request_id"] == "req-42" and line["merchant_id"] == "m-7"
    assert line["trace_id"] == format(ctx.trace_id, "032x") and line["span_id"] == format(ctx.span_id, "016x")


OTLP_SCRIPT = r"""
import django
django.setup()  # KaleemConfig.ready() -> setup_tracing() because OTEL_EXPORTER_OTLP_ENDPOINT is set
from django.test import Client
from opentelemetry import trace
from kaleem import observability
assert observability.tracing_enabled()
client = Client()
assert client.get("/api/v1/merchants/current").status_code == 401
assert client.get("/healthz").status_code == 200  # excluded from tracing
trace.get_tracer_provider().force_flush(10_000)
"""


def test_otlp_export_from_django_requests_reaches_the_collector(recorder, tmp_path):
    """The production wiring: endpoint set -> app start instruments Django -> batches POSTed as OTLP/HTTP."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    seen, base = recorder
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kaleem.settings.test",
        "OTEL_EXPORTER_OTLP_ENDPOINT": base,
        "OTEL_SERVICE_NAME": "kaleem-api",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    proc = subprocess.run(
        [sys.executable, "-c", OTLP_SCRIPT], cwd=REPO, env=env, capture_output=True, text=True, timeout=90
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    posts = [r for r in seen if r["path"] == "/v1/traces"]
    assert posts, [r["path"] for r in seen]
    spans, services = [], set()
    for post in posts:
        request = ExportTraceServiceRequest.FromString(post["body"])
        for resource_spans in request.resource_spans:
            attrs = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            services.add(attrs.get("service.name"))
            for scope in resource_spans.scope_spans:
                spans += [s.name for s in scope.spans]
    assert services == {"kaleem-api"}
    assert any("merchants/current" in name or name.startswith("GET") for name in spans), spans
    assert not any("healthz" in name for name in spans), spans
