"""Request-scoped log context: request_id, merchant_id and trace ids on every JSON log line."""

import contextvars
import logging

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
merchant_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("merchant_id", default="")


def current_request_id() -> str:
    return request_id_var.get()


def _trace_ids() -> tuple[str, str]:
    try:
        from opentelemetry import trace
    except ImportError:
        return "", ""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return "", ""
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.merchant_id = merchant_id_var.get()
        record.trace_id, record.span_id = _trace_ids()
        return True
