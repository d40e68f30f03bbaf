"""JWT authentication that also resolves which merchant the request acts for.

Order: `X-Merchant` header (id or slug) → the token's `merchant` claim → the user's only/first
membership. The choice is verified against memberships; a merchant the user does not belong to is
answered with 404, exactly like a missing one."""

from typing import Any

from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

ACCESS_BLACKLIST_PREFIX = "jwt:blacklist:"


def access_token_blacklisted(jti: str) -> bool:
    return bool(cache.get(f"{ACCESS_BLACKLIST_PREFIX}{jti}"))


def blacklist_access_token(jti: str, seconds_left: int) -> None:
    cache.set(f"{ACCESS_BLACKLIST_PREFIX}{jti}", 1, timeout=max(int(seconds_left), 1))


def attach_merchant(request: Request, user: Any, preferred: str | None) -> None:
    from merchants.selectors import membership_resolve

    header = request.headers.get("X-Merchant")
    membership = membership_resolve(user=user, merchant_ref=header or preferred)
    if membership is None:
        if header:
            raise exceptions.NotFound("Merchant not found.")
        request.merchant = None
        request.membership_role = None
        return
    request.merchant = membership.merchant
    request.membership_role = membership.role
    from kaleem.tenancy.context import set_current_merchant_id

    set_current_merchant_id(membership.merchant_id)


def _family_revoked(family: str) -> bool:
    return bool(family) and bool(cache.get(f"jwt:family-revoked:{family}"))


class KaleemJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        if token.get("token_type") != "access":
            raise InvalidToken("Token is not an access token.")
        if access_token_blacklisted(str(token.get("jti", ""))) or _family_revoked(str(token.get("fam", ""))):
            raise exceptions.AuthenticationFailed("Token has been revoked.", code="token_revoked")
        attach_merchant(request, user, token.get("merchant"))
        return user, token
