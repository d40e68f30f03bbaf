"""JWT authentication that also resolves which merchant the request acts for.

Order: `X-Merchant` header (id or slug) → the token's `merchant` claim → the user's first
membership. The choice is verified against memberships; a merchant the user does not belong to is
answered with 404, exactly like a missing one.

Hot path: one query loads membership + merchant + user together and is remembered in-process for
AUTH_MEMBERSHIP_CACHE_SECONDS (default 5 s; a role change or removal reaches other workers within that
window, the worker that made it at once). Revocation is exact across workers: it is checked in the
shared cache (Redis); when the cache is process-local (embedded default) or unreachable, the
revoked-family table decides. On a SQLite file (one machine by definition) each process keeps the
recently revoked families in memory and reloads them when the revocation stamp file next to the
database changes (one stat() per request); elsewhere it asks the table."""

import logging
import os
import pickle
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from kaleem.caching import shared_cache
from kaleem.tenancy.context import set_current_merchant_id

logger = logging.getLogger(__name__)

ACCESS_BLACKLIST_PREFIX = "jwt:blacklist:"
FAMILY_REVOKED_PREFIX = "jwt:family-revoked:"


def access_token_blacklisted(jti: str) -> bool:
    try:
        return bool(cache.get(f"{ACCESS_BLACKLIST_PREFIX}{jti}"))
    except Exception:  # Redis down: the family check below falls back to the database
        logger.warning("token blacklist unavailable", exc_info=True)
        return False


def blacklist_access_token(jti: str, seconds_left: int) -> None:
    try:
        cache.set(f"{ACCESS_BLACKLIST_PREFIX}{jti}", 1, timeout=max(int(seconds_left), 1))
    except Exception:  # logout also revokes the family in the database, which still holds
        logger.warning("token blacklist unavailable; relying on family revocation", exc_info=True)


def family_revoked_cached(family: str) -> bool | None:
    """True/False from the shared cache; None when the answer must come from the database."""
    if not family:
        return False
    try:
        if cache.get(f"{FAMILY_REVOKED_PREFIX}{family}"):
            return True
    except Exception:
        return None
    return False if shared_cache() else None


_memberships: dict[tuple[str, str], tuple[float, bytes]] = {}
_MAX_CACHED_MEMBERSHIPS = 10_000


def forget_memberships() -> None:
    """Drop this process's remembered memberships (called after role, membership or store changes)."""
    _memberships.clear()


def resolve_membership(*, user_id: Any, merchant_ref: str | None) -> Any:
    """membership_resolve() behind a short in-process cache. Instances are unpickled per request, so a
    request that mutates its merchant or user never leaks the change into another request."""
    from merchants.selectors import membership_resolve

    ttl = getattr(settings, "AUTH_MEMBERSHIP_CACHE_SECONDS", 5.0)
    key = (str(user_id), str(merchant_ref or ""))
    now = time.monotonic()
    if ttl > 0:
        hit = _memberships.get(key)
        if hit is not None and hit[0] > now:
            return pickle.loads(hit[1])  # noqa: S301 - our own bytes, never from outside the process
    membership = membership_resolve(user_id=user_id, merchant_ref=merchant_ref)
    if ttl > 0 and membership is not None:  # misses are not remembered: a new membership works at once
        if len(_memberships) >= _MAX_CACHED_MEMBERSHIPS:
            _memberships.clear()
        _memberships[key] = (now + ttl, pickle.dumps(membership))
    return membership


def attach_merchant(request: Request, membership: Any) -> None:
    request.merchant = membership.merchant if membership else None
    request.membership_role = membership.role if membership else None
    if membership is not None:
        set_current_merchant_id(membership.merchant_id)


def revocation_stamp_path() -> Path | None:
    """The stamp file signalling "a token family was revoked" to every process on this machine, or None
    when processes may live on several machines (a server database) or share no file (in-memory)."""
    configured = getattr(settings, "AUTH_REVOCATION_STAMP", None)
    if configured is not None:
        return Path(configured) if configured else None
    db = settings.DATABASES["default"]
    name = str(db.get("NAME", ""))
    if not db["ENGINE"].endswith("sqlite3") or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(f"{name}.revocations")


def touch_revocation_stamp() -> None:
    """Replace the stamp (new inode) after a revocation commits, so every process reloads its set."""
    path = revocation_stamp_path()
    if path is None:
        return
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".revocations-")
        with os.fdopen(fd, "w") as handle:
            handle.write(uuid.uuid4().hex)
        os.replace(tmp, path)
    except OSError:
        logger.warning("could not write the revocation stamp %s", path, exc_info=True)


_stamp_state: dict[str, Any] = {"signature": None, "families": frozenset()}


def _stamp_signature(path: Path) -> tuple:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return ("missing",)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _locally_known_revocations(path: Path) -> frozenset[str]:
    from merchants.models import RevokedTokenFamily

    signature = _stamp_signature(path)  # read before loading: a revocation racing us forces a reload
    if signature != _stamp_state["signature"]:
        # only families revoked within an access token's lifetime can still have live access tokens
        since = timezone.now() - api_settings.ACCESS_TOKEN_LIFETIME - timedelta(minutes=1)
        families = RevokedTokenFamily.objects.filter(revoked_at__gte=since).values_list("family", flat=True)
        _stamp_state.update(signature=signature, families=frozenset(str(f) for f in families))
    return _stamp_state["families"]


def _family_revoked(family: str) -> bool:
    cached = family_revoked_cached(family)
    if cached is not None:
        return cached
    path = revocation_stamp_path()
    if path is not None:
        return family in _locally_known_revocations(path)
    from merchants.models import RevokedTokenFamily

    return RevokedTokenFamily.objects.filter(family=family).exists()


_verified_tokens: dict[bytes, tuple[float, Any]] = {}
_MAX_VERIFIED_TOKENS = 4096


def _validated_token_cached(raw_token: bytes, validate: Any) -> Any:
    """A token whose signature and claims this process already verified, until it expires.

    Keyed by the token's exact bytes, so a forged or altered token never matches an entry; revocation
    and membership are still checked on every request by the caller."""
    now = time.time()
    hit = _verified_tokens.get(raw_token)
    if hit is not None and hit[0] > now:
        return hit[1]
    token = validate(raw_token)
    if len(_verified_tokens) >= _MAX_VERIFIED_TOKENS:
        _verified_tokens.clear()
    _verified_tokens[raw_token] = (float(token.get("exp", now)), token)
    return token


class KaleemJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        token = _validated_token_cached(raw_token, self.get_validated_token)
        if token.get("token_type") != "access":
            raise InvalidToken("Token is not an access token.")
        if access_token_blacklisted(str(token.get("jti", ""))) or _family_revoked(str(token.get("fam", ""))):
            raise exceptions.AuthenticationFailed("Token has been revoked.", code="token_revoked")
        merchant_header = request.headers.get("X-Merchant")
        user_id = token.get(api_settings.USER_ID_CLAIM)
        membership = resolve_membership(user_id=user_id, merchant_ref=merchant_header or token.get("merchant"))
        if membership is not None:
            user = membership.user
        else:
            user = self.get_user(token)  # 401 for a deleted or deactivated user
            if merchant_header:
                raise exceptions.NotFound("Merchant not found.")
        attach_merchant(request, membership)
        return user, token
