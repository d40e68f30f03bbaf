"""Visitor tokens and merchant-supplied identity.

A visitor token is a Django-signed value (not a JWT) naming the visitor and, once `identify()` was
verified, the merchant's customer id. The salt includes the channel id, so a token minted for one
channel never verifies on another one (rotating the public key keeps visitors' conversations)."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.utils.crypto import salted_hmac

from kaleem.core.errors import ApplicationError

TOKEN_MAX_AGE = 60 * 60 * 24 * 365  # a year: the conversation survives returning visits


class VisitorTokenError(ApplicationError):
    code = "invalid_visitor_token"
    status_code = 401


@dataclass(frozen=True)
class Visitor:
    visitor_id: str
    user_id: str = ""  # the merchant's customer id once identify() was verified
    name: str = ""
    email: str = ""

    @property
    def external_id(self) -> str:
        """The conversation key: an identified customer keeps one conversation across devices."""
        return f"u:{self.user_id}" if self.user_id else f"v:{self.visitor_id}"


def _salt(channel: Any) -> str:
    return f"kaleem.webchat.visitor:{channel.pk}"


def visitor_new() -> Visitor:
    return Visitor(visitor_id=secrets.token_urlsafe(16))


def visitor_token_issue(*, channel: Any, visitor: Visitor) -> str:
    data = {"v": visitor.visitor_id}
    if visitor.user_id:
        data.update({"u": visitor.user_id, "n": visitor.name, "e": visitor.email})
    return signing.dumps(data, salt=_salt(channel), compress=True)


def visitor_token_read(*, channel: Any, token: str) -> Visitor:
    """The visitor a token names; forged, expired or other-channel tokens raise 401."""
    if not token or len(token) > 2048:
        raise VisitorTokenError("Missing or invalid visitor token.")
    try:
        data = signing.loads(token, salt=_salt(channel), max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        raise VisitorTokenError("Missing or invalid visitor token.")
    if not isinstance(data, dict) or not isinstance(data.get("v"), str) or not data["v"]:
        raise VisitorTokenError("Missing or invalid visitor token.")
    return Visitor(
        visitor_id=data["v"],
        user_id=str(data.get("u") or ""),
        name=str(data.get("n") or ""),
        email=str(data.get("e") or ""),
    )


def identity_secret_for(channel: Any) -> str:
    """The per-channel secret the merchant's server uses to sign customer ids.

    An explicit `identity_secret` credential wins (rotatable); otherwise it is derived from the
    platform secret and the channel id, so every channel has one without a migration."""
    explicit = channel.credential("identity_secret") if hasattr(channel, "credential") else ""
    if explicit:
        return explicit
    return salted_hmac("kaleem.webchat.identity", str(channel.pk), algorithm="sha256").hexdigest()


def identity_hmac(*, channel: Any, user_id: str) -> str:
    """What the merchant computes: hex HMAC-SHA256(identity secret, customer id)."""
    return hmac.new(identity_secret_for(channel).encode(), str(user_id).encode(), hashlib.sha256).hexdigest()


def identity_verify(*, channel: Any, user_id: str, signature: str) -> bool:
    if not user_id or not signature:
        return False
    return hmac.compare_digest(identity_hmac(channel=channel, user_id=user_id), str(signature).strip().lower())
