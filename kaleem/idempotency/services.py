import hashlib
import json
from datetime import timedelta
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from kaleem.core.errors import ApplicationError
from kaleem.db import atomic
from kaleem.models import IdempotencyRecord

TTL = timedelta(hours=24)
# a request still "in flight" after this long died with its worker: the key may be taken over
IN_FLIGHT_TIMEOUT = timedelta(minutes=5)


def request_fingerprint(*, method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).hexdigest()


def idempotency_begin(*, scope: str, key: str, fingerprint: str) -> IdempotencyRecord | None:
    """Reserve the key. Returns the finished record to replay, or None if the caller should execute.

    The unique (scope, key) constraint decides races: the loser sees the winner's row."""
    now = timezone.now()
    IdempotencyRecord.objects.filter(scope=scope, key=key, expires_at__lte=now).delete()
    try:
        with atomic():
            IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=fingerprint, expires_at=now + TTL)
        return None
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if existing is None:  # expired and purged in between: try once more
        return idempotency_begin(scope=scope, key=key, fingerprint=fingerprint)
    if existing.request_hash != fingerprint:
        raise ApplicationError(
            "This Idempotency-Key was already used with a different request body.",
            code="idempotency_key_reused",
            status_code=422,
        )
    if existing.state == IdempotencyRecord.State.IN_FLIGHT:
        stale_before = now - IN_FLIGHT_TIMEOUT
        taken = IdempotencyRecord.objects.filter(
            id=existing.id, state=IdempotencyRecord.State.IN_FLIGHT, created_at__lt=stale_before
        ).update(created_at=now)
        if taken:  # conditional update: only one retry wins the abandoned key
            return None
        raise ApplicationError(
            "A request with this Idempotency-Key is still being processed.",
            code="idempotency_in_flight",
            status_code=409,
        )
    return existing


def idempotency_finish(*, scope: str, key: str, status: int, body: Any) -> None:
    IdempotencyRecord.objects.filter(scope=scope, key=key).update(
        state=IdempotencyRecord.State.DONE, response_status=status, response_body=body
    )


def idempotency_abandon(*, scope: str, key: str) -> None:
    """The request failed unexpectedly: free the key so the client can retry."""
    IdempotencyRecord.objects.filter(scope=scope, key=key, state=IdempotencyRecord.State.IN_FLIGHT).delete()


def purge_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
