"""The Redis cache backend (kaleem.redis_cache): Django's, with one client per connection pool."""

import uuid

from kaleem.redis_cache import RedisCache
from kaleem.testing.services import redis_url_or_skip


def test_behaves_like_djangos_backend_and_reuses_its_client():
    cache = RedisCache(redis_url_or_skip(), {"KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"})
    assert cache.add("k", 1, timeout=5) and not cache.add("k", 2, timeout=5)
    assert cache.get("k") == 1 and cache.get_many(["k", "missing"]) == {"k": 1}
    cache.delete("k")
    assert cache.get("k") is None
    client = cache._cache.get_client(write=True)
    assert client is cache._cache.get_client("another key", write=True)  # built once, not per call


def test_delete_if_equal_releases_only_the_holders_lock():
    cache = RedisCache(redis_url_or_skip(), {"KEY_PREFIX": f"test-{uuid.uuid4().hex[:8]}"})
    assert cache.add("lock", "token-a", timeout=30)
    assert not cache.delete_if_equal("lock", "token-b")  # expired and taken by another: not ours
    assert cache.get("lock") == "token-a"
    assert cache.delete_if_equal("lock", "token-a") and cache.get("lock") is None


def test_release_lock_without_redis_reads_then_deletes(settings):
    from django.core.cache import caches

    from kaleem.caching import release_lock

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"}}
    cache = caches["default"]
    cache.add("lock", "mine", timeout=30)
    release_lock("lock", "someone else's")
    assert cache.get("lock") == "mine"
    release_lock("lock", "mine")
    assert cache.get("lock") is None
