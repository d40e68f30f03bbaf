"""Token buckets: in Redis (shared by every worker) when REDIS_URL is set, in-process otherwise.

    if not acquire(f"wa:{channel.id}", rate=80, burst=80, timeout=5):
        ...  # could not get a token within 5 s

The Redis bucket is one Lua script (atomic refill + take) keyed per bucket, so N workers together
stay under the provider's documented limit."""

import logging
import threading
import time
from functools import lru_cache
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

_LUA = """
local key = KEYS[1]
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', key, 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = burst; ts = now end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = (cost - tokens) / rate
end
redis.call('HSET', key, 't', tokens, 'ts', now)
redis.call('EXPIRE', key, math.ceil(burst / rate) + 60)
return tostring(wait)
"""


# Several buckets in one round trip, all or nothing: tokens are taken only when every bucket has
# them (a per-recipient limit never burns the channel's token); returns the longest wait.
# KEYS = bucket keys; ARGV = now, cost, then rate, burst per key.
_LUA_MANY = """
local now = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local tokens = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local state = redis.call('HMGET', key, 't', 'ts')
  local t = tonumber(state[1])
  local ts = tonumber(state[2])
  if t == nil then t = burst; ts = now end
  t = math.min(burst, t + math.max(0, now - ts) * rate)
  tokens[i] = t
  if t < cost then wait = math.max(wait, (cost - t) / rate) end
end
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local t = tokens[i]
  if wait == 0 then t = t - cost end
  redis.call('HSET', key, 't', t, 'ts', now)
  redis.call('EXPIRE', key, math.ceil(burst / rate) + 60)
end
return tostring(wait)
"""


@lru_cache(maxsize=4)
def _redis(url: str) -> Any:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    return client, client.register_script(_LUA)


@lru_cache(maxsize=4)
def _redis_many(url: str) -> Any:
    client, _script = _redis(url)
    return client.register_script(_LUA_MANY)


class _LocalBuckets:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: dict[str, tuple[float, float]] = {}

    def take_many(self, buckets: list[tuple[str, float, float]], cost: float) -> float:
        now = time.monotonic()
        with self.lock:
            levels = []
            wait = 0.0
            for key, rate, burst in buckets:
                tokens, ts = self.state.get(key, (burst, now))
                tokens = min(burst, tokens + max(0.0, now - ts) * rate)
                levels.append(tokens)
                if tokens < cost:
                    wait = max(wait, (cost - tokens) / rate)
            for (key, _rate, _burst), tokens in zip(buckets, levels, strict=True):
                self.state[key] = (tokens - cost if wait == 0 else tokens, now)
            return wait

    def take(self, key: str, rate: float, burst: float, cost: float) -> float:
        now = time.monotonic()
        with self.lock:
            tokens, ts = self.state.get(key, (burst, now))
            tokens = min(burst, tokens + max(0.0, now - ts) * rate)
            if tokens >= cost:
                self.state[key] = (tokens - cost, now)
                return 0.0
            self.state[key] = (tokens, now)
            return (cost - tokens) / rate


_local = _LocalBuckets()


def try_acquire(key: str, *, rate: float, burst: float, cost: float = 1.0) -> float:
    """Take `cost` tokens if available; returns 0.0 on success, else the seconds to wait."""
    url = getattr(settings, "REDIS_URL", "")
    if url:
        try:
            _client, script = _redis(url)
            return float(script(keys=[f"kaleem:rl:{key}"], args=[rate, burst, time.time(), cost]))
        except Exception:  # Redis down: degrade to per-process limits rather than stop sending
            logger.warning("rate limiter: Redis unavailable, using in-process bucket", exc_info=True)
    return _local.take(key, rate, burst, cost)


def try_acquire_many(buckets: list[tuple[str, float, float]], *, cost: float = 1.0) -> float:
    """Take `cost` from every (key, rate, burst) bucket in one round trip, or from none; returns 0.0
    on success, else the seconds until all of them could serve it."""
    if len(buckets) == 1:
        key, rate, burst = buckets[0]
        return try_acquire(key, rate=rate, burst=burst, cost=cost)
    url = getattr(settings, "REDIS_URL", "")
    if url:
        try:
            script = _redis_many(url)
            args: list[Any] = [time.time(), cost]
            for _key, rate, burst in buckets:
                args += [rate, burst]
            return float(script(keys=[f"kaleem:rl:{key}" for key, _r, _b in buckets], args=args))
        except Exception:  # Redis down: degrade to per-process limits rather than stop sending
            logger.warning("rate limiter: Redis unavailable, using in-process bucket", exc_info=True)
    return _local.take_many(buckets, cost)


def acquire(key: str, *, rate: float, burst: float, cost: float = 1.0, timeout: float = 10.0) -> bool:
    """Block (sleeping) until a token is taken or `timeout` would be exceeded."""
    deadline = time.monotonic() + timeout
    while True:
        wait = try_acquire(key, rate=rate, burst=burst, cost=cost)
        if wait <= 0:
            return True
        if time.monotonic() + wait > deadline:
            return False
        time.sleep(min(wait, 1.0))
