"""Prometheus `/metrics` for Celery workers, on their own port, plus the ops beat tasks.

A prefork worker is several processes; each child counts its own metrics. With
`PROMETHEUS_MULTIPROC_DIR` set (an empty, writable directory, wiped at container start, the same for
the parent and its children) prometheus_client writes every process's samples there and the server
below, started in the parent when the worker is ready, aggregates them. Without it (solo/threads pool,
development) the server exports the parent's own registry.

Enable with `WORKER_METRICS_PORT=9101`; Prometheus scrapes `worker:9101/metrics` (job `kaleem-worker`).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready
from django.conf import settings

from kaleem import metrics

logger = logging.getLogger(__name__)

_server_lock = threading.Lock()
_server: Any = None


def metrics_registry() -> Any:
    """The registry to export: all processes' samples in multiprocess mode, this process's otherwise."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def start_metrics_server(port: int | None = None, addr: str = "0.0.0.0") -> int | None:  # noqa: S104 - scraped in-network
    """Start the exporter once per process; returns the bound port (0 = pick a free one) or None if off."""
    global _server
    if port is None:
        raw = os.environ.get("WORKER_METRICS_PORT", "")
        if not raw:
            return None
        port = int(raw)
    with _server_lock:
        if _server is not None:
            return _server[0].server_port
        from prometheus_client import start_http_server

        _server = start_http_server(port, addr=addr, registry=metrics_registry())
        bound = _server[0].server_port
    logger.info("worker metrics on :%s/metrics", bound, extra={"event": "worker_metrics_started"})
    return bound


def stop_metrics_server() -> None:
    global _server
    with _server_lock:
        if _server is not None:
            _server[0].shutdown()
            _server[0].server_close()
            _server = None


@worker_ready.connect
def _on_worker_ready(**_: Any) -> None:
    # The parent (or the only process with the solo pool) serves the aggregated registry.
    try:
        start_metrics_server()
    except OSError:
        logger.exception("worker metrics server could not bind WORKER_METRICS_PORT")


@worker_process_init.connect
def _on_child_init(**_: Any) -> None:
    # A forked child inherits the parent's in-memory samples; multiprocess mode keys files by pid,
    # so nothing to copy, but the child must not think it owns the parent's HTTP server.
    global _server
    _server = None


@worker_process_shutdown.connect
def _on_child_exit(pid: int | None = None, **_: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


def queue_names() -> list[str]:
    return list(getattr(settings, "CELERY_QUEUE_NAMES", ["default", "webhooks", "outbox", "embeddings", "assistant"]))


def sample_queue_backlog(*, broker_url: str | None = None) -> dict[str, int]:
    """Messages waiting in each Celery queue, read from the broker (any kombu transport) into
    `kaleem_celery_queue_backlog{queue}`. A queue the broker does not know yet counts 0."""
    from kaleem.celery import app

    counts: dict[str, int] = {}
    with app.connection_for_read(broker_url) as connection:
        channel = connection.default_channel
        for name in queue_names():
            try:
                counts[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
            except Exception:  # not declared yet (no producer/consumer ever) = empty
                counts[name] = 0
                channel = connection.channel()  # AMQP closes the channel on a failed passive declare
            metrics.CELERY_QUEUE_BACKLOG.labels(queue=name).set(counts[name])
    return counts


@shared_task(name="kaleem.queue_backlog_sample", ignore_result=True)
def queue_backlog_sample() -> dict[str, int]:
    return sample_queue_backlog()


@shared_task(name="kaleem.cache_warm", ignore_result=True)
def cache_warm() -> dict[str, int]:
    from kaleem import caching

    return caching.warm()
