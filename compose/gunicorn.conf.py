"""gunicorn for the API containers: uvicorn workers serving kaleem.asgi (SSE streams do not pin a worker)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "uvicorn.workers.UvicornWorker"
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, min(4, multiprocessing.cpu_count()))))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # recycle slowly leaking workers
max_requests_jitter = 200
accesslog = None  # nginx logs requests; the app logs JSON with request_id
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")  # only nginx reaches us on the backend net


def when_ready(server):  # noqa: ANN001 - gunicorn hook signature
    # One exporter for all workers, in the master: Prometheus scrapes api:API_METRICS_PORT/metrics.
    port = os.environ.get("API_METRICS_PORT")
    if port and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(int(port), registry=registry)
        server.log.info("metrics of all workers on :%s/metrics", port)


def child_exit(server, worker):  # noqa: ANN001 - gunicorn hook signature
    # Multiprocess Prometheus: drop a dead worker's live gauges from /metrics.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
