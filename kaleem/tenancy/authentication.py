"""JWT authentication that also resolves which merchant the request acts for.

Order: `X-Merchant` header (id or slug) → the token's `merchant` claim → the user's first
membership. The choice is verified against memberships; a merchant the user does not belong to is
answered with 404, exactly like a missing one.

Hot path: one query loads membership + merchant + user together; revocation is checked in the
shared cache (Redis). When the cache is process-local (embedded default) or unreachable, the
revoked-family table in the database is consulted instead, so a logout holds across workers."""

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from kaleem.tenancy.context import set_current_merchant_id

logger = logging.getLogger(__name__)

ACCESS_BLACKLIST_PREFIX = "jwt:blacklist:"
FAMILY_REVOKED_PREFIX = "jwt:family-revoked:"
_LOCAL_CACHE_BACKENDS = ("locmem.LocMemCache", "dummy.DummyCache")


def shared_cache() -> bool:
    """True when the default cache is shared by every process (Redis), so revocations marked there
    are seen by all workers."""
    return not settings.CACHES["default"]["BACKEND"].endswith(_LOCAL_CACHE_BACKENDS)


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


def attach_merchant(request: Request, membership: Any) -> None:
    request.merchant = membership.merchant if membership else None
    request.membership_role = membership.role if membership else None
    if membership is not None:
        set_current_merchant_id(membership.merchant_id)


def _family_revoked(family: str) -> bool:
    cached = family_revoked_cached(family)
    if cached is not None:
        return cached
    from merchants.models import RevokedTokenFamily

    return RevokedTokenFamily.objects.filter(family=family).exists()


class KaleemJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        if token.get("token_type") != "access":
            raise InvalidToken("Token is not an access token.")
        if access_token_blacklisted(str(token.get("jti", ""))) or _family_revoked(str(token.get("fam", ""))):
            raise exceptions.AuthenticationFailed("Token has been revoked.", code="token_revoked")
        from merchants.selectors import membership_resolve

        merchant_header = request.headers.get("X-Merchant")
        user_id = token.get(api_settings.USER_ID_CLAIM)
        membership = membership_resolve(user_id=user_id, merchant_ref=merchant_header or token.get("merchant"))
        if membership is not None:
            user = membership.user
        else:
            user = self.get_user(token)  # 401 for a deleted or deactivated user
            if merchant_header:
                raise exceptions.NotFound("Merchant not found.")
        attach_merchant(request, membership)
        return user, token
