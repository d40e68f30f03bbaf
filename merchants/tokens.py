"""JWT pairs with refresh-token families: rotation on every refresh, and reuse of a spent refresh
token revokes the whole family (the stolen-token signal from OAuth 2.0 Security BCP)."""

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError
from django.utils import timezone
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from kaleem.db import atomic, on_commit
from kaleem.tenancy.authentication import (
    FAMILY_REVOKED_PREFIX,
    blacklist_access_token,
    family_revoked_cached,
    touch_revocation_stamp,
)
from merchants.models import RefreshTokenRecord, RevokedTokenFamily

logger = logging.getLogger(__name__)


def _expiry(token: Any) -> datetime:
    return datetime.fromtimestamp(token["exp"], tz=UTC)


def token_pair_issue(*, user: Any, merchant_id: Any = None, family: uuid.UUID | None = None) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    refresh["fam"] = str(family or uuid.uuid4())
    if merchant_id:
        refresh["merchant"] = str(merchant_id)
    RefreshTokenRecord.objects.create(
        jti=refresh["jti"], family=uuid.UUID(refresh["fam"]), user=user, expires_at=_expiry(refresh)
    )
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def family_revoked(family: str) -> bool:
    if not family:
        return False
    if family_revoked_cached(family):
        return True
    return RevokedTokenFamily.objects.filter(family=family).exists()


def family_revoke(*, family: str, user_id: Any, reason: str) -> None:
    try:
        family = str(uuid.UUID(str(family)))
    except ValueError:
        return  # a token without a family was never issued by us
    try:
        with atomic():
            RevokedTokenFamily.objects.create(family=family, user_id=user_id, reason=reason)
            on_commit(touch_revocation_stamp)  # other worker processes reload their revoked set
    except IntegrityError:
        pass  # already revoked by a concurrent request
    # access tokens of the family live at most 15 minutes; the cache mark covers them (the database
    # row stays the truth when the cache is process-local or down)
    try:
        cache.set(f"{FAMILY_REVOKED_PREFIX}{family}", 1, timeout=15 * 60)
    except Exception:
        logger.warning("could not mark token family revoked in cache", exc_info=True)


def token_refresh(*, raw_refresh: str) -> dict[str, str]:
    try:
        refresh = RefreshToken(raw_refresh)
    except TokenError as exc:
        raise exceptions.AuthenticationFailed("Refresh token is invalid or expired.", code="token_not_valid") from exc
    family, jti = str(refresh.get("fam", "")), str(refresh["jti"])
    try:
        uuid.UUID(family)
    except ValueError:
        raise exceptions.AuthenticationFailed("Refresh token is invalid or expired.", code="token_not_valid") from None
    if family_revoked(family):
        raise exceptions.AuthenticationFailed("This session was revoked; log in again.", code="token_revoked")
    spent = RefreshTokenRecord.objects.filter(jti=jti, used_at__isnull=True).update(used_at=timezone.now())
    if spent != 1:
        family_revoke(family=family, user_id=refresh.get("user_id"), reason="refresh_reuse")
        raise exceptions.AuthenticationFailed(
            "Refresh token was already used; every session of this login is revoked.", code="token_reused"
        )
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=refresh.get("user_id"), is_active=True).first()
    if user is None:
        raise exceptions.AuthenticationFailed("User is inactive.", code="user_inactive")
    return token_pair_issue(user=user, merchant_id=refresh.get("merchant"), family=uuid.UUID(family))


def token_logout(*, access: AccessToken | Any, raw_refresh: str | None = None) -> None:
    """Blacklist the access token's jti until it expires; revoke the refresh family when given."""
    seconds_left = int(access["exp"] - timezone.now().timestamp())
    blacklist_access_token(str(access["jti"]), seconds_left)
    family = str(access.get("fam", ""))
    if raw_refresh:
        try:
            family = str(RefreshToken(raw_refresh).get("fam", family))
        except TokenError:
            pass
    if family:
        family_revoke(family=family, user_id=access.get("user_id"), reason="logout")
