"""Provider HTTP client: one pooled httpx client per process, bounded timeouts, retries with
exponential backoff + full jitter that honour Retry-After, no retry on 4xx that cannot succeed,
and a per-key circuit breaker (state in the Django cache, so shared through Redis when configured).

    resp = provider_request("POST", url, provider="telegram", breaker_key=f"ch:{channel.id}", json=body)

Raises ProviderError (``.retryable`` tells the caller whether a later attempt may succeed) or
CircuitOpenError (a subclass) without touching the network while the circuit is open."""

import email.utils
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache

from kaleem import metrics

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class ProviderError(Exception):
    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retryable = retryable
        self.retry_after = retry_after
        self.body = body


class CircuitOpenError(ProviderError):
    def __init__(self, key: str, retry_after: float) -> None:
        super().__init__(f"circuit open for {key}", retryable=True, retry_after=retry_after)


def _setting(name: str, default: Any) -> Any:
    """Django setting, else environment variable, else the default."""
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(name)
    return default if raw is None else type(default)(raw)


_local = threading.local()


def http_client() -> httpx.Client:
    """A pooled client per process and thread (fork-safe: keyed by pid)."""
    client = getattr(_local, "client", None)
    if client is None or getattr(_local, "pid", None) != os.getpid():
        timeout = float(_setting("PROVIDER_HTTP_TIMEOUT", 10.0))
        client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            headers={"User-Agent": "Kaleem/1.0"},
        )
        _local.client, _local.pid = client, os.getpid()
    return client


# --- circuit breaker -------------------------------------------------------------------------


class CircuitBreaker:
    """Opens after `threshold` consecutive failures for `cooldown` seconds, then lets one probe
    through (half-open); a success closes it. Counters live in the cache with a TTL so a breaker
    of a deleted channel simply expires."""

    def __init__(self, key: str, *, provider: str = "", threshold: int | None = None, cooldown: float | None = None):
        self.key = key
        self.provider = provider
        self.threshold = threshold or int(_setting("PROVIDER_BREAKER_THRESHOLD", 5))
        self.cooldown = cooldown if cooldown is not None else float(_setting("PROVIDER_BREAKER_COOLDOWN", 30.0))
        self._failures_seen = True  # until a check has read the counters: a success resets them

    @property
    def _fail_key(self) -> str:
        return f"cb:{self.key}:fails"

    @property
    def _open_key(self) -> str:
        return f"cb:{self.key}:open_until"

    def remaining_open(self) -> float:
        try:
            # the failure count rides along: a success only has something to reset if there was one
            found = cache.get_many([self._open_key, self._fail_key])
        except Exception:  # cache down: fail open (allow traffic) rather than block every send
            self._failures_seen = True
            return 0.0
        self._failures_seen = bool(found)
        until = found.get(self._open_key)
        if not until:
            return 0.0
        return max(0.0, float(until) - time.time())

    def check(self) -> None:
        remaining = self.remaining_open()
        if remaining > 0:
            raise CircuitOpenError(self.key, remaining)

    def record_success(self) -> None:
        # After a check that saw neither a failure count nor an open circuit there is nothing to
        # reset (no round trip); a failure another process counts meanwhile is reset by the next
        # success that sees it.
        if self._failures_seen:
            try:
                cache.delete_many([self._fail_key, self._open_key])
            except Exception:
                logger.debug("circuit breaker cache unavailable", exc_info=True)
        metrics.CIRCUIT_STATE.labels(provider=self.provider).set(0)

    def record_failure(self) -> None:
        try:
            cache.add(self._fail_key, 0, timeout=int(self.cooldown * 10) or 300)
            fails = cache.incr(self._fail_key)
            if fails >= self.threshold:
                cache.set(self._open_key, time.time() + self.cooldown, timeout=int(self.cooldown) + 5)
                cache.set(self._fail_key, self.threshold - 1, timeout=int(self.cooldown * 10) or 300)
                metrics.CIRCUIT_STATE.labels(provider=self.provider).set(1)
        except Exception:
            logger.debug("circuit breaker cache unavailable", exc_info=True)


# --- retries -----------------------------------------------------------------------------------


def parse_retry_after(response: httpx.Response) -> float | None:
    """Retry-After header (seconds or HTTP date), else Telegram's `parameters.retry_after`."""
    value = response.headers.get("Retry-After")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value) if value else None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - time.time())
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        params = body.get("parameters")
        if isinstance(params, dict) and params.get("retry_after") is not None:
            try:
                return float(params["retry_after"])
            except (TypeError, ValueError):
                return None
    return None


def backoff_delay(attempt: int, *, base: float | None = None, cap: float | None = None) -> float:
    """Full jitter: uniform(0, min(cap, base * 2**attempt))."""
    base = float(_setting("PROVIDER_BACKOFF_BASE", 0.5)) if base is None else base
    cap = float(_setting("PROVIDER_BACKOFF_CAP", 8.0)) if cap is None else cap
    return random.uniform(0, min(cap, base * (2**attempt)))  # noqa: S311 - jitter, not security


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def provider_request(
    method: str,
    url: str,
    *,
    provider: str,
    breaker_key: str | None = None,
    max_attempts: int | None = None,
    max_retry_after: float | None = None,
    timeout: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> httpx.Response:
    """Send with retries; returns the 2xx response or raises ProviderError/CircuitOpenError.

    A Retry-After longer than `max_retry_after` is not slept through inline: the error is raised
    (retryable, with `.retry_after`) so the caller can reschedule instead of blocking a worker."""
    attempts = max_attempts or int(_setting("PROVIDER_RETRY_ATTEMPTS", 4))
    max_retry_after = (
        float(_setting("PROVIDER_MAX_INLINE_RETRY_AFTER", 10.0)) if max_retry_after is None else max_retry_after
    )
    breaker = CircuitBreaker(breaker_key, provider=provider) if breaker_key else None
    if timeout is not None:
        kwargs["timeout"] = timeout
    last: ProviderError | None = None
    for attempt in range(attempts):
        if breaker is not None:
            breaker.check()
        try:
            response = http_client().request(method, url, **kwargs)
        except httpx.TimeoutException as exc:
            last = ProviderError(f"{provider}: timeout ({type(exc).__name__})", retryable=True)
            metrics.PROVIDER_ERRORS.labels(provider=provider, reason="timeout").inc()
        except httpx.TransportError as exc:
            last = ProviderError(f"{provider}: connection error ({type(exc).__name__})", retryable=True)
            metrics.PROVIDER_ERRORS.labels(provider=provider, reason="connection").inc()
        else:
            if response.is_success:
                if breaker is not None:
                    breaker.record_success()
                return response
            status = response.status_code
            retryable = status in RETRYABLE_STATUS
            metrics.PROVIDER_ERRORS.labels(provider=provider, reason=str(status)).inc()
            last = ProviderError(
                f"{provider}: HTTP {status}",
                status_code=status,
                retryable=retryable,
                retry_after=parse_retry_after(response) if retryable else None,
                body=_body(response),
            )
            if not retryable:
                # the request itself is wrong (bad token, invalid recipient…): the provider is up
                if breaker is not None:
                    breaker.record_success()
                raise last
        if breaker is not None and (last.status_code is None or last.status_code >= 500):
            breaker.record_failure()  # 429 is back-pressure, not an outage
        if attempt + 1 >= attempts:
            break
        delay = backoff_delay(attempt)
        if last.retry_after is not None:
            if last.retry_after > max_retry_after:
                raise last
            delay = max(delay, last.retry_after)
        sleep(delay)
    assert last is not None
    raise last
