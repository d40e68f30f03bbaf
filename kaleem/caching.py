"""Two-level read-through cache for hot reads: L1 per process (TTL, bounded), L2 Redis (shared).

    profile = read_through("store_profile", str(merchant.pk), lambda: load(merchant), scope=str(merchant.pk))

Keys are versioned per (namespace, scope): a write bumps the version in Redis (`invalidate`), so every
process stops using old entries without deleting anything (old L2 entries expire by TTL). The writer
sees its write at once; other processes after at most `CACHE_VERSION_TTL` seconds, because L1 keeps
the version number briefly to answer L1 hits without a Redis round trip. While Redis is unreachable a
write drops the writer's L1 entries and is replayed (INCR) before the next Redis read.

Redis is optional: no URL, or Redis failing, means L1 + loader (the database). A failure opens a short
circuit (`CACHE_L2_RETRY_SECONDS`) so a dead Redis costs one timeout, not one per read; it is counted in
`kaleem_cache_errors_total`, shown by `kaleem_cache_l2_up` and logged once per outage. Invalidations
that could not reach Redis are replayed when it answers again.

Values go to Redis as JSON (never pickle: a Redis writer must not be able to run code in the app), so
loaders return JSON-friendly data (dicts, lists, strings, numbers); dates/UUIDs/Decimals become strings.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings

from kaleem import metrics

logger = logging.getLogger(__name__)

T = TypeVar("T")
_MISSING = object()
PREFIX = "kaleem:rc"


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


class _L1:
    """Bounded LRU with per-entry expiry; one per process, shared by threads."""

    def __init__(self) -> None:
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        now = time.monotonic()
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return _MISSING
            if item[0] < now:
                del self._data[key]
                return _MISSING
            self._data.move_to_end(key)
            return item[1]

    def set(self, key: str, value: Any, ttl: float) -> None:
        limit = int(_setting("CACHE_L1_MAX_ENTRIES", 10_000))
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, value)
            self._data.move_to_end(key)
            while len(self._data) > limit:
                self._data.popitem(last=False)

    def delete_prefix(self, prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._data if k.startswith(prefix)]:
                del self._data[key]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class _L2:
    """Redis with a circuit breaker; every method degrades to 'not available' instead of raising."""

    def __init__(self) -> None:
        self._client: Any = None
        self._url = ""
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()
        self.pending_invalidations: set[str] = set()

    def url(self) -> str:
        return _setting("CACHE_REDIS_URL", "") or _setting("REDIS_URL", "")

    def client(self) -> Any:
        url = self.url()
        if not url:
            return None
        if time.monotonic() < self._down_until:
            return None
        with self._lock:
            if self._client is None or self._url != url:
                import redis

                timeout = float(_setting("CACHE_L2_TIMEOUT", 0.25))
                self._client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
                self._url = url
        return self._client

    def failed(self, operation: str, exc: BaseException) -> None:
        metrics.CACHE_ERRORS.labels(operation=operation).inc()
        metrics.CACHE_L2_UP.set(0)
        self._down_until = time.monotonic() + float(_setting("CACHE_L2_RETRY_SECONDS", 5.0))
        if not self._down:
            self._down = True
            logger.warning(
                "cache L2 (Redis) unavailable, serving from L1 and the database",
                extra={"event": "cache_l2_down", "operation": operation, "error": f"{type(exc).__name__}: {exc}"},
            )

    def succeeded(self) -> None:
        if self._down:
            self._down = False
            logger.warning("cache L2 (Redis) answering again", extra={"event": "cache_l2_up"})
        metrics.CACHE_L2_UP.set(1)

    def replay_invalidations(self) -> None:
        """INCR the versions this process bumped while Redis was unreachable (raises on failure)."""
        client = self.client()
        if client is None:
            return
        pending, self.pending_invalidations = self.pending_invalidations, set()
        try:
            for version_key in sorted(pending):
                client.incr(version_key)
        except Exception:
            self.pending_invalidations |= pending
            raise

    def reset(self) -> None:
        with self._lock:
            self._client = None
            self._down_until = 0.0
            self._down = False
            self.pending_invalidations.clear()


_l1 = _L1()
_l2 = _L2()
# The circuit starts closed: report "up" where Redis is configured until an operation fails, so an idle
# process does not look like an outage (CacheL2Down alerts on the minimum across processes).
metrics.CACHE_L2_UP.set(1 if _l2.url() else 0)
_stats = {"l1_hit": 0, "l1_miss": 0, "l2_hit": 0, "l2_miss": 0}


def _version_key(namespace: str, scope: str) -> str:
    return f"{PREFIX}:ver:{namespace}:{scope}"


def _version(namespace: str, scope: str) -> str:
    """The current version of a (namespace, scope), briefly cached in L1. "x" while there is no L2:
    then only L1 holds entries, and a local write drops them directly."""
    vkey = _version_key(namespace, scope)
    cached = _l1.get(vkey)
    if cached is not _MISSING:
        return str(cached)
    client = _l2.client()
    if client is None:
        return "x"
    try:
        if _l2.pending_invalidations:  # writes made while Redis was away count before any read
            _l2.replay_invalidations()
        raw = client.get(vkey)
        _l2.succeeded()
    except Exception as exc:
        _l2.failed("version", exc)
        return "x"
    version = int(raw) if raw is not None else 0
    _l1.set(vkey, version, float(_setting("CACHE_VERSION_TTL", 2.0)))
    return str(version)


def read_through(
    namespace: str,
    key: str,
    loader: Callable[[], T],
    *,
    scope: str = "global",
    ttl: float | None = None,
    l1_ttl: float | None = None,
) -> T:
    """The cached value for (namespace, scope, key), loading and storing it on a miss in both layers.

    `scope` is what a write invalidates together (usually the merchant id); `key` distinguishes
    entries inside it (e.g. a product-list page). Never raises because of Redis."""
    version = _version(namespace, scope)
    full_key = f"{PREFIX}:{namespace}:{scope}:v{version}:{key}"
    value = _l1.get(full_key)
    if value is not _MISSING:
        _count("l1", "hit")
        return value  # type: ignore[return-value]
    _count("l1", "miss")
    l1_seconds = float(l1_ttl if l1_ttl is not None else _setting("CACHE_L1_TTL", 30.0))
    client = _l2.client()
    if client is not None:
        try:
            raw = client.get(full_key)
            _l2.succeeded()
        except Exception as exc:
            _l2.failed("get", exc)
            raw = None
            client = None
        if raw is not None:
            try:
                value = json.loads(raw)
            except ValueError:  # a foreign or corrupted entry: reload it
                value = _MISSING
            if value is not _MISSING:
                _count("l2", "hit")
                _l1.set(full_key, value, l1_seconds)
                return value  # type: ignore[return-value]
        if client is not None:
            _count("l2", "miss")
    return _store(full_key, loader(), client, ttl=ttl, l1_seconds=l1_seconds)


def _store(full_key: str, value: Any, client: Any, *, ttl: float | None, l1_seconds: float) -> Any:
    # Store what a reader from L2 would get back, so L1 and L2 hits return the same shapes.
    encoded = json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))
    value = json.loads(encoded)
    _l1.set(full_key, value, l1_seconds)
    if client is not None:
        try:
            client.set(full_key, encoded, ex=int(ttl if ttl is not None else _setting("CACHE_L2_TTL", 300)))
        except Exception as exc:
            _l2.failed("set", exc)
    return value


def refill(namespace: str, key: str, loader: Callable[[], Any], *, scope: str = "global") -> Any:
    """Load and store an entry without looking it up first (after a write): not counted as a read."""
    full_key = f"{PREFIX}:{namespace}:{scope}:v{_version(namespace, scope)}:{key}"
    return _store(full_key, loader(), _l2.client(), ttl=None, l1_seconds=float(_setting("CACHE_L1_TTL", 30.0)))


def invalidate(namespace: str, *, scope: str = "global") -> None:
    """Make every entry of (namespace, scope) stale in all processes; call it after the write commits."""
    vkey = _version_key(namespace, scope)
    _l1.delete_prefix(f"{PREFIX}:{namespace}:{scope}:")
    _l1.delete_prefix(vkey)
    client = _l2.client()
    if client is None:
        if _l2.url():  # Redis configured but unreachable: bump it when it answers again
            _l2.pending_invalidations.add(vkey)
        return
    try:
        version = client.incr(vkey)
        _l2.succeeded()
    except Exception as exc:
        _l2.pending_invalidations.add(vkey)
        _l2.failed("invalidate", exc)
        return
    _l1.set(vkey, int(version), float(_setting("CACHE_VERSION_TTL", 2.0)))  # the writer reads its own write


def _count(layer: str, result: str) -> None:
    metrics.CACHE_REQUESTS.labels(layer=layer, result=result).inc()
    _stats[f"{layer}_{result}"] += 1


def stats() -> dict[str, int]:
    """This process's hit/miss counts since start (or `reset`): what the benchmark reports."""
    return dict(_stats)


def reset() -> None:
    """Forget L1, local versions, counters and the circuit state (tests, benchmarks)."""
    _l1.clear()
    _l2.reset()
    for name in _stats:
        _stats[name] = 0


def l2_available() -> bool:
    """True when an L2 URL is configured and Redis answers a PING now."""
    client = _l2.client()
    if client is None:
        return False
    try:
        client.ping()
        _l2.replay_invalidations()
    except Exception as exc:
        _l2.failed("ping", exc)
        return False
    _l2.succeeded()
    return True


# --- invalidation on write, by model -------------------------------------------------------------

Refresh = Callable[[str], Iterable[tuple[str, Callable[[], Any]]]]  # scope -> (key, loader) pairs
_invalidations: dict[str, list[tuple[str, str, Refresh | None]]] = {}


def invalidate_on_write(
    model_label: str, namespace: str, *, scope_attr: str = "merchant_id", refresh: Refresh | None = None
) -> None:
    """After any save/delete of `model_label` ("catalog.Product"), invalidate `namespace` for the
    instance's `scope_attr` (once the transaction commits). With `refresh`, the writer then reloads the
    hottest keys of that scope into L2 itself, so readers in other processes hit Redis instead of the
    database right after a write. Bulk `update()`/`bulk_create()` send no signals: services doing them
    call `invalidate()` themselves."""
    entries = _invalidations.setdefault(model_label, [])
    if not any(ns == namespace and attr == scope_attr for ns, attr, _ in entries):
        entries.append((namespace, scope_attr, refresh))


def _after_write(namespace: str, scope: str, refresh: Refresh | None) -> None:
    invalidate(namespace, scope=scope)
    if refresh is None:
        return
    try:
        for key, loader in refresh(scope):
            refill(namespace, key, loader, scope=scope)
    except Exception:  # a failed refresh only costs the next reader a database load
        logger.warning("cache refresh after write failed for %s/%s", namespace, scope, exc_info=True)


def _on_write(sender: Any, instance: Any, **kwargs: Any) -> None:
    targets = _invalidations.get(getattr(getattr(sender, "_meta", None), "label", ""), ())
    if not targets:
        return
    from kaleem.db import on_commit

    for namespace, scope_attr, refresh in targets:
        scope = str(getattr(instance, scope_attr, "") or "global")
        on_commit(lambda ns=namespace, sc=scope, rf=refresh: _after_write(ns, sc, rf))


def connect_signals() -> None:
    """Called from KaleemConfig.ready(): one receiver for all models, filtered by the registry."""
    from django.db.models.signals import post_delete, post_save

    post_save.connect(_on_write, dispatch_uid="kaleem.caching.post_save")
    post_delete.connect(_on_write, dispatch_uid="kaleem.caching.post_delete")


# --- hot reads and the warm-up task ----------------------------------------------------------------

WarmItem = tuple[str, str, Callable[[], Any]]  # (scope, key, loader)
_hot_reads: dict[str, Callable[[int], Iterable[WarmItem]]] = {}


def register_hot_read(namespace: str, items: Callable[[int], Iterable[WarmItem]]) -> None:
    """Register the hottest entries of a namespace for the warm-up beat task: `items(limit)` yields
    (scope, key, loader) for at most about `limit` entries, most valuable first."""
    _hot_reads[namespace] = items


def warm(*, limit: int | None = None) -> dict[str, int]:
    """Load every registered hot entry through the cache (fills L2 for all API replicas)."""
    limit = int(limit if limit is not None else _setting("CACHE_WARM_LIMIT", 200))
    loaded: dict[str, int] = {}
    for namespace, items in list(_hot_reads.items()):
        count = 0
        try:
            for scope, key, loader in items(limit):
                read_through(namespace, key, loader, scope=scope)
                count += 1
        except Exception:  # one broken warmer must not stop the others
            logger.exception("cache warm-up failed for %s", namespace)
        metrics.CACHE_WARMED.labels(namespace=namespace).inc(count)
        loaded[namespace] = count
    return loaded


# --- built-in hot read: the store profile (read by the assistant, webchat and dashboard on every turn)

STORE_PROFILE_FIELDS = (
    "id",
    "name",
    "slug",
    "default_language",
    "timezone",
    "currency",
    "status",
    "description",
    "website_url",
    "support_email",
    "support_phone",
    "logo_url",
)


def _load_store_profile(merchant_id: str) -> dict[str, Any] | None:
    from merchants.models import Merchant

    row = Merchant.objects.filter(pk=merchant_id).values(*STORE_PROFILE_FIELDS).first()
    return {k: (str(v) if k == "id" else v) for k, v in row.items()} if row else None


def store_profile(merchant_id: Any) -> dict[str, Any] | None:
    """The merchant's public store profile as a dict (None for an unknown id), cached."""
    scope = str(merchant_id)
    return read_through("store_profile", "profile", lambda: _load_store_profile(scope), scope=scope)


def _hot_store_profiles(limit: int) -> Iterable[WarmItem]:
    from merchants.models import Merchant

    ids = Merchant.objects.filter(status=Merchant.Status.ACTIVE).order_by("-updated_at").values_list("pk", flat=True)
    for pk in ids[:limit]:
        scope = str(pk)
        yield scope, "profile", (lambda s=scope: _load_store_profile(s))


invalidate_on_write(
    "merchants.Merchant",
    "store_profile",
    scope_attr="pk",
    refresh=lambda scope: [("profile", lambda: _load_store_profile(scope))],
)
register_hot_read("store_profile", _hot_store_profiles)


_LOCAL_CACHE_BACKENDS = ("locmem.LocMemCache", "dummy.DummyCache")


def shared_cache() -> bool:
    """True when Django's default cache is shared by every process (Redis): a mark one process sets
    there (a revoked token, a queued relay run) is seen by all the others."""
    return not settings.CACHES["default"]["BACKEND"].endswith(_LOCAL_CACHE_BACKENDS)


def release_lock(key: str, token: Any) -> None:
    """Delete a lock taken with `cache.add(key, token)` if this holder still has it (it may have
    expired and been taken by another): one atomic round trip on Redis, a read then a delete elsewhere."""
    from django.core.cache import cache

    delete_if_equal = getattr(cache, "delete_if_equal", None)
    if delete_if_equal is not None:
        delete_if_equal(key, token)
    elif cache.get(key) == token:
        cache.delete(key)
