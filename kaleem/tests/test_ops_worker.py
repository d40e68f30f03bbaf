"""Celery worker metrics: the backlog sampler against a real Redis broker, and a real prefork worker
exporting multiprocess-aggregated /metrics on its own port."""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from kombu import Connection
from prometheus_client import REGISTRY

from kaleem.tests.ops_support import free_port, private_redis, wait_for
from kaleem.worker_metrics import sample_queue_backlog, start_metrics_server, stop_metrics_server

REPO = Path(__file__).resolve().parents[2]


def _publish(url: str, queue: str, n: int) -> None:
    with Connection(url) as conn:
        q = conn.SimpleQueue(queue)
        for i in range(n):
            q.put({"n": i})
        q.close()


def test_backlog_sampler_reads_queue_lengths_from_the_broker():
    with private_redis() as url:
        assert sample_queue_backlog(broker_url=url)["assistant"] == 0  # never declared: 0, no error
        _publish(url, "assistant", 3)
        counts = sample_queue_backlog(broker_url=url)
    assert counts == {"default": 0, "webhooks": 0, "outbox": 0, "embeddings": 0, "assistant": 3}
    assert REGISTRY.get_sample_value("kaleem_celery_queue_backlog", {"queue": "assistant"}) == 3.0


def test_metrics_server_serves_this_process_registry_without_multiproc_dir(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    port = start_metrics_server(port=0, addr="127.0.0.1")
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert "kaleem_cache_requests_total" in body or "# HELP kaleem_" in body
        assert start_metrics_server(port=0, addr="127.0.0.1") == port  # once per process
    finally:
        stop_metrics_server()
    monkeypatch.delenv("WORKER_METRICS_PORT", raising=False)
    assert start_metrics_server() is None  # off unless WORKER_METRICS_PORT is set


@pytest.mark.worker
@pytest.mark.slow
def test_prefork_worker_exports_child_metrics_on_its_own_port(tmp_path):
    port = free_port()
    with private_redis() as url:
        _publish(url, "embeddings", 2)  # nobody consumes this queue in the test worker
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kaleem.settings.test",
            "REDIS_URL": url,
            "CELERY_BROKER_URL": url,
            "CACHE_REDIS_URL": url,
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "WORKER_METRICS_PORT": str(port),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        }
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kaleem", "worker", "-Q", "default", "--pool", "prefork",
             "-c", "2", "-l", "WARNING", "--without-heartbeat", "--without-mingle", "--without-gossip"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:

            def scrape() -> str:
                try:
                    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
                except OSError:
                    return ""

            assert wait_for(scrape, timeout=60), "worker metrics server did not come up"
            from kaleem.celery import app

            with app.connection_for_write(url) as conn:
                app.send_task("kaleem.queue_backlog_sample", queue="default", connection=conn)
            # sampled in a pool child, exported by the parent's server from the multiprocess files
            body = wait_for(
                lambda: (b := scrape()) and 'kaleem_celery_queue_backlog{queue="embeddings"} 2.0' in b and b,
                timeout=30,
            )
            assert body, scrape()
            assert list(tmp_path.glob("gauge_livemax_*.db")), "children wrote no multiprocess files"
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def test_ops_beat_tasks_are_scheduled_registered_and_run(settings, db):
    from django.conf import settings as live

    from kaleem import caching
    from kaleem.celery import app
    from kaleem.testing.factories import MerchantFactory

    schedule = {entry["task"] for entry in live.CELERY_BEAT_SCHEDULE.values()}
    assert {"kaleem.cache_warm", "kaleem.queue_backlog_sample"} <= schedule
    app.loader.import_default_modules()
    assert {"kaleem.cache_warm", "kaleem.queue_backlog_sample"} <= set(app.tasks)
    MerchantFactory()
    caching.reset()
    result = app.tasks["kaleem.cache_warm"].apply().get()
    assert result["store_profile"] >= 1
    assert REGISTRY.get_sample_value("kaleem_cache_warmed_total", {"namespace": "store_profile"}) >= 1
