"""The read-through cache against real Redis servers: hits, invalidation on write, Redis dying mid-run."""

import shutil
import subprocess
import time

import pytest
import redis
from prometheus_client import REGISTRY

from kaleem import caching
from kaleem.testing.factories import MerchantFactory
from kaleem.testing.services import redis_url_or_skip
from kaleem.tests.ops_support import start_redis, stop


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    caching.reset()
    yield
    caching.reset()


@pytest.fixture
def real_redis(settings):
    url = redis_url_or_skip()
    settings.CACHE_REDIS_URL = url
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{caching.PREFIX}:*"):
        client.delete(key)
    return client


@pytest.fixture
def doomed_redis(settings):
    """A private redis-server on a free port that the test may kill."""
    proc, url = start_redis()
    settings.CACHE_REDIS_URL = url
    settings.REDIS_URL = url
    # Django's cache (token blacklist, rate limits) on the same doomed Redis, as in production
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "kaleem-test",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    yield proc, url
    stop(proc)


def test_l1_then_l2_hits_and_loader_runs_once(real_redis, settings):
    calls = []

    def loader():
        calls.append(1)
        return {"n": 1, "ar": "مرحبا"}

    before = {r: _sample("kaleem_cache_requests_total", layer="l2", result=r) for r in ("hit", "miss")}
    assert caching.read_through("t", "k", loader, scope="m1") == {"n": 1, "ar": "مرحبا"}
    assert caching.read_through("t", "k", loader, scope="m1") == {"n": 1, "ar": "مرحبا"}
    assert len(calls) == 1
    assert caching.stats()["l1_hit"] == 1
    # another process (empty L1) gets it from Redis, not from the loader
    caching._l1.clear()
    assert caching.read_through("t", "k", loader, scope="m1")["n"] == 1
    assert len(calls) == 1
    assert _sample("kaleem_cache_requests_total", layer="l2", result="hit") == before["hit"] + 1
    assert _sample("kaleem_cache_requests_total", layer="l2", result="miss") == before["miss"] + 1


def test_invalidate_bumps_version_for_every_process(real_redis, settings):
    value = {"v": 1}
    assert caching.read_through("t", "k", lambda: dict(value), scope="m1") == {"v": 1}
    value["v"] = 2
    caching.invalidate("t", scope="m1")
    assert caching.read_through("t", "k", lambda: dict(value), scope="m1") == {"v": 2}
    # a process that never saw the write: its L1 version expires and Redis has the new version
    assert int(real_redis.get(caching._version_key("t", "m1"))) == 1
    # other scopes are untouched
    assert caching.read_through("t", "k", lambda: {"other": True}, scope="m2") == {"other": True}


def test_store_profile_invalidated_when_merchant_saved(real_redis, db, django_capture_on_commit_callbacks):
    merchant = MerchantFactory(name="Old name")
    assert caching.store_profile(merchant.pk)["name"] == "Old name"
    with django_capture_on_commit_callbacks(execute=True):
        merchant.name = "اسم جديد"
        merchant.save()
    # the writer refreshed L2 after commit: another process (empty L1) reads Redis, not the database
    caching._l1.clear()
    before = caching.stats()
    assert caching.store_profile(merchant.pk)["name"] == "اسم جديد"
    assert caching.stats()["l2_hit"] == before["l2_hit"] + 1
    assert caching.store_profile("00000000-0000-0000-0000-000000000000") is None


def test_warm_fills_l2_for_active_merchants(real_redis, db):
    merchants = [MerchantFactory() for _ in range(3)]
    loaded = caching.warm(limit=10)
    assert loaded["store_profile"] >= 3
    caching._l1.clear()
    before = caching.stats()["l2_hit"]
    assert caching.store_profile(merchants[0].pk)["slug"] == merchants[0].slug
    assert caching.stats()["l2_hit"] == before + 1


def test_without_redis_url_l1_and_database_only(settings, db):
    settings.CACHE_REDIS_URL = ""
    settings.REDIS_URL = ""
    merchant = MerchantFactory()
    assert caching.store_profile(merchant.pk)["slug"] == merchant.slug
    assert caching.store_profile(merchant.pk)["slug"] == merchant.slug
    assert caching.stats() == {"l1_hit": 1, "l1_miss": 1, "l2_hit": 0, "l2_miss": 0}


def test_non_json_entry_in_redis_is_reloaded(real_redis):
    caching.read_through("t", "k", lambda: {"ok": 1}, scope="m9")
    key = next(k for k in real_redis.scan_iter(f"{caching.PREFIX}:t:m9:*"))
    real_redis.set(key, b"\x80not json")
    caching._l1.clear()
    assert caching.read_through("t", "k", lambda: {"ok": 2}, scope="m9") == {"ok": 2}


def test_redis_killed_mid_run_reads_fall_back_to_database(doomed_redis, owner, settings, caplog):
    proc, url = doomed_redis
    client, merchant, _user = owner
    assert caching.store_profile(merchant.pk)["name"] == merchant.name
    assert client.get("/readyz").json()["status"] in ("ok", "degraded")  # qdrant local may be fine
    assert client.get("/readyz").json()["checks"]["redis"]["ok"] is True

    proc.kill()
    proc.wait()
    caching._l1.clear()
    errors_before = _sample("kaleem_cache_errors_total", operation="version")

    started = time.perf_counter()
    profile = caching.store_profile(merchant.pk)  # L2 times out once, then the database answers
    assert profile["slug"] == merchant.slug
    for _ in range(20):  # the circuit is open: no more Redis timeouts
        assert caching.store_profile(merchant.pk)["slug"] == merchant.slug
    assert time.perf_counter() - started < 2.0

    assert _sample("kaleem_cache_errors_total", operation="version") == errors_before + 1
    assert _sample("kaleem_cache_l2_up") == 0.0
    assert any(getattr(r, "event", "") == "cache_l2_down" for r in caplog.records)

    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["redis"]["ok"] is False
    # the API keeps serving tenant reads from the database
    assert client.get("/api/v1/merchants/current").status_code == 200
    scrape = client.get("/metrics").content.decode()
    assert "kaleem_cache_l2_up 0.0" in scrape


def test_write_during_outage_is_replayed_when_redis_returns(doomed_redis, settings):
    proc, url = doomed_redis
    caching.read_through("t", "k", lambda: {"v": 1}, scope="m1")
    port = url.rsplit(":", 1)[1].split("/")[0]
    proc.kill()
    proc.wait()
    caching.invalidate("t", scope="m1")  # cannot reach Redis: remembered
    assert caching._l2.pending_invalidations
    restarted = subprocess.Popen(
        [shutil.which("redis-server"), "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis.from_url(url)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        caching._l2._down_until = 0.0  # skip the retry delay
        assert caching.l2_available()
        assert not caching._l2.pending_invalidations
        assert int(client.get(caching._version_key("t", "m1"))) == 1
    finally:
        restarted.kill()
        restarted.wait()
