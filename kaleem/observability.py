"""Tracing (OpenTelemetry) and error reporting (Sentry), both off unless configured.

- `OTEL_EXPORTER_OTLP_ENDPOINT=http://otel-collector:4318` turns on tracing of Django requests,
  Celery tasks (publish + run: the W3C `traceparent` travels in the task message headers, so a webhook's
  trace continues in the worker), httpx calls (outbound sends to providers) and Redis. Exported over
  OTLP/HTTP in batches. `OTEL_SERVICE_NAME` (default `kaleem-api` / `kaleem-worker`) names the process.
- Work that hops through the database instead of a Celery message (the outbox) carries the context
  explicitly: `trace_carrier()` when the event is written, `continue_trace(carrier, name)` when it is
  handled, so the outbound send joins the webhook's trace.
- `SENTRY_DSN` turns on Sentry (`init_sentry`), tagged with merchant and request ids, PII scrubbed.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

_tracing_enabled = False
TRACE_CARRIER_KEY = "_trace"  # key under which outbox payloads may carry the W3C context


def _is_worker_process() -> bool:
    return any(arg in ("worker", "beat") for arg in sys.argv[1:3]) or "celery" in os.path.basename(sys.argv[0])


def setup_tracing(
    *, endpoint: str | None = None, service_name: str | None = None, exporter: Any = None, force: bool = False
) -> bool:
    """Install the tracer provider and instrument Django, Celery, httpx and Redis (idempotent).

    `exporter` replaces the OTLP exporter (tests pass an in-memory one and get a synchronous processor)."""
    global _tracing_enabled
    from django.conf import settings

    endpoint = endpoint if endpoint is not None else getattr(settings, "OTEL_EXPORTER_OTLP_ENDPOINT", "")
    if _tracing_enabled and not force:
        return True
    if not endpoint and exporter is None:
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    name = (
        service_name
        or os.environ.get("OTEL_SERVICE_NAME")
        or ("kaleem-worker" if _is_worker_process() else "kaleem-api")
    )
    resource = Resource.create(
        {
            "service.name": name,
            "service.version": os.environ.get("KALEEM_VERSION", "dev"),
            "deployment.environment": os.environ.get("KALEEM_ENVIRONMENT", "development"),
        }
    )
    provider = TracerProvider(resource=resource, sampler=_sampler())
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        base = endpoint.rstrip("/")
        exporter = OTLPSpanExporter(endpoint=base if base.endswith("/v1/traces") else f"{base}/v1/traces")
        # Batch export runs in a thread that the SDK re-creates after fork (prefork workers, gunicorn).
        provider.add_span_processor(BatchSpanProcessor(exporter))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _instrument_libraries(provider)
    _tracing_enabled = True
    logger.info("OpenTelemetry tracing on", extra={"event": "otel_enabled", "service": name})
    return True


def _sampler() -> Any:
    """Keep every trace that starts at a request, task or our own span; drop client calls that start
    a trace on their own (the worker's broker polling, redis housekeeping): they are noise in Tempo."""
    from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
    from opentelemetry.trace import SpanKind

    class DropRootClientSpans(Sampler):
        def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None):  # noqa: ANN001, ANN201
            decision = Decision.DROP if kind == SpanKind.CLIENT else Decision.RECORD_AND_SAMPLE
            return SamplingResult(decision, attributes if decision != Decision.DROP else None)

        def get_description(self) -> str:
            return "DropRootClientSpans"

    return ParentBased(root=DropRootClientSpans())


def _instrument_libraries(provider: Any) -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    for instrumentor in (DjangoInstrumentor(), CeleryInstrumentor(), HTTPXClientInstrumentor(), RedisInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            kwargs: dict[str, Any] = {"tracer_provider": provider}
            if isinstance(instrumentor, DjangoInstrumentor):
                kwargs["excluded_urls"] = "healthz,readyz,metrics"  # probes and scrapes are noise
            instrumentor.instrument(**kwargs)


def tracing_enabled() -> bool:
    return _tracing_enabled


def current_trace_id() -> str:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else ""


def trace_carrier() -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`, `tracestate`); {} when none."""
    from opentelemetry.propagate import inject

    carrier: dict[str, str] = {}
    inject(carrier)
    return carrier


@contextmanager
def continue_trace(carrier: dict[str, str] | None, name: str, **attributes: Any) -> Iterator[Any]:
    """Run a block as a child span of the context in `carrier` (e.g. an outbox event's payload[_trace])."""
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.propagate import extract

    parent = extract(carrier or {})
    token = otel_context.attach(parent)
    try:
        tracer = trace.get_tracer("kaleem")
        with tracer.start_as_current_span(name, attributes={k: str(v) for k, v in attributes.items()}) as span:
            yield span
    finally:
        otel_context.detach(token)


# --- Sentry ------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"\+?\d[\d\s\-]{7,}\d")
_BEARER = re.compile(r"(?i)(bearer|token|api[_-]?key|secret|password)([\"'=:\s]+)([^\s\"',&]+)")
SENSITIVE_KEYS = {
    "authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-hub-signature-256",
    "x-telegram-bot-api-secret-token",
    "password",
    "secret",
    "token",
    "access",
    "refresh",
    "api_key",
    "credentials",
    "email",
    "phone",
    "text",
    "body",
}


def scrub_text(value: str) -> str:
    """Mask e-mail addresses, phone numbers and inline secrets in free text."""
    value = _EMAIL.sub("[email]", value)
    value = _PHONE.sub("[phone]", value)
    return _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", value)


def scrub(value: Any, depth: int = 0) -> Any:
    """Recursively redact sensitive keys and PII-looking strings in an event structure."""
    if depth > 12:
        return "[truncated]"
    if isinstance(value, dict):
        return {
            k: ("[redacted]" if str(k).lower() in SENSITIVE_KEYS else scrub(v, depth + 1)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v, depth + 1) for v in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Sentry hook: tag with merchant/request/trace ids, then scrub PII everywhere in the event."""
    from kaleem.logging import merchant_id_var, request_id_var

    tags = event.setdefault("tags", {})
    if merchant_id_var.get():
        tags.setdefault("merchant_id", merchant_id_var.get())
    if request_id_var.get():
        tags.setdefault("request_id", request_id_var.get())
    user = event.get("user")
    if isinstance(user, dict):  # keep only the opaque id: no e-mail, IP or username
        event["user"] = {"id": user["id"]} if user.get("id") else {}
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        request.pop("data", None)  # bodies are customer messages: never sent
        if isinstance(request.get("query_string"), str):
            request["query_string"] = scrub_text(request["query_string"])
    for key in ("request", "extra", "contexts", "breadcrumbs", "exception", "logentry", "message"):
        if key in event:
            event[key] = scrub(event[key])
    return event


def init_sentry(dsn: str) -> None:
    """Called from settings when SENTRY_DSN is set."""
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.threading import ThreadingIntegration

    sentry_sdk.init(
        dsn=dsn,
        # The threading integration probes the Django Channels library with `import channels`, which
        # finds our own `channels` app and crashes on its missing __version__: keep it off.
        disabled_integrations=[ThreadingIntegration],
        environment=os.environ.get("KALEEM_ENVIRONMENT", "development"),
        release=os.environ.get("KALEEM_VERSION") or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0")),
        before_send=before_send,
        max_request_body_size="never",
    )


def on_ready() -> None:
    """KaleemConfig.ready(): cache invalidation receivers and (when configured) tracing."""
    from kaleem import caching

    caching.connect_signals()
    try:
        setup_tracing()
    except Exception:  # observability must never stop the app from starting
        logger.exception("OpenTelemetry setup failed; continuing without tracing")
