"""Webchat public API operations: origin and rate-limit guards, session start/resume, sending,
identity. Messages go through `conversations.services.record_inbound` like every other channel."""

import re
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import OperationalError

from channels.models import Channel
from channels.webchat import live, selectors
from channels.webchat.tokens import Visitor, identity_verify, visitor_new, visitor_token_issue, visitor_token_read
from conversations.models import Conversation, Message
from conversations.services import record_inbound
from kaleem.core.errors import ApplicationError
from kaleem.ratelimit import try_acquire

MAX_TEXT = 4000
LOCKED_RETRIES = 5
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

DEFAULT_LIMITS = {
    # (tokens per second, burst)
    "ip": (10.0, 120.0),  # every public call from one address
    "start": (0.5, 30.0),  # new visitors per address
    "send": (1.0, 12.0),  # messages per visitor
}


class OriginForbidden(ApplicationError):
    code = "origin_not_allowed"
    status_code = 403


class Throttled(ApplicationError):
    code = "throttled"
    status_code = 429

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after + 0.999))


def _limits() -> dict[str, tuple[float, float]]:
    return {**DEFAULT_LIMITS, **getattr(settings, "WEBCHAT_RATE_LIMITS", {})}


def rate_limit_check(*, scope: str, key: str) -> None:
    rate, burst = _limits()[scope]
    wait = try_acquire(f"webchat:{scope}:{key}", rate=rate, burst=burst)
    if wait > 0:
        raise Throttled("Too many requests; slow down.", retry_after=wait)


def origin_check(*, channel: Channel, origin: str | None, own_origins: set[str]) -> str | None:
    """The normalised Origin to echo in CORS headers, or None when the request carried none.

    Browsers always send Origin on cross-origin requests, so an absent header means a same-origin GET
    or a non-browser client (which CORS cannot restrict anyway). Kaleem's own origin (the demo
    storefront, dashboard preview) is always allowed; anything else must be in the channel's list."""
    if origin is None:
        return None
    normal = selectors.normalize_origin(origin)
    if normal and (normal in own_origins or normal in selectors.channel_allowed_origins(channel=channel)):
        return normal
    raise OriginForbidden("This website is not allowed to use this chat channel.")


def webchat_config(*, channel: Channel) -> dict[str, Any]:
    """Public, cacheable settings for the widget (no secrets)."""
    cfg = channel.settings or {}
    merchant = channel.merchant
    colours = cfg.get("colours") or cfg.get("colors") or {}
    return {
        "name": str(cfg.get("title") or merchant.name)[:120],
        "greeting": cfg.get("greeting") or "",
        "subtitle": cfg.get("subtitle") or {},
        "colours": {k: v for k, v in colours.items() if isinstance(v, str)} if isinstance(colours, dict) else {},
        "logo": cfg.get("logo") or cfg.get("logo_url") or getattr(merchant, "logo_url", "") or "",
        "default_language": cfg.get("default_language") or getattr(merchant, "default_language", "ar") or "ar",
        "languages": ["ar", "en"],
        "max_text": MAX_TEXT,
    }


@dataclass
class Session:
    visitor: Visitor
    token: str
    conversation: Conversation | None
    messages: list[Message]
    has_more: bool


def visitor_from_token(*, channel: Channel, token: str | None) -> Visitor:
    return visitor_token_read(channel=channel, token=token or "")


def session_start(*, channel: Channel, token: str | None, client_ip: str) -> Session:
    """Resume the visitor named by `token` (forged ⇒ 401) or mint a new anonymous visitor."""
    if token:
        visitor = visitor_token_read(channel=channel, token=token)
    else:
        rate_limit_check(scope="start", key=client_ip)
        visitor = visitor_new()
    conversation = selectors.conversation_for_visitor(channel=channel, external_id=visitor.external_id)
    messages, has_more = ([], False)
    if conversation is not None:
        messages, has_more = selectors.messages_before(conversation=conversation, cursor=None)
    return Session(
        visitor=visitor,
        token=visitor_token_issue(channel=channel, visitor=visitor),
        conversation=conversation,
        messages=messages,
        has_more=has_more,
    )


@dataclass
class SendResult:
    message: Message
    conversation: Conversation
    created: bool


def message_send(
    *, channel: Channel, visitor: Visitor, client_id: str, text: str, payload: str = "", language: str = ""
) -> SendResult:
    """Record the visitor's message once per client id (a retry returns the stored message)."""
    text = (text or "").strip()
    if not CLIENT_ID_RE.match(client_id or ""):
        raise ApplicationError("Invalid client message id.", code="invalid", fields={"client_id": ["Invalid id."]})
    if not text:
        raise ApplicationError("Write a message.", code="invalid", fields={"text": ["This field may not be blank."]})
    if len(text) > MAX_TEXT:
        raise ApplicationError(
            f"Message too long (at most {MAX_TEXT} characters).",
            code="message_too_long",
            fields={"text": [f"Ensure this field has no more than {MAX_TEXT} characters."]},
        )
    rate_limit_check(scope="send", key=f"{channel.pk}:{visitor.visitor_id}")
    payload = (payload or "").strip()[:500]
    # A button press is recorded like a Telegram callback: the payload is the text the assistant
    # reads ("cart:add:<id>", a quick reply's payload), the label the visitor saw rides along.
    elements = [{"type": "quick_reply", "title": text[:200], "payload": payload}] if payload else []
    inbound = {
        "merchant": channel.merchant,
        "channel": channel,
        "external_id": visitor.external_id,
        "text": payload or text,
        # Scoped by visitor: another visitor re-using a client id can never see this message.
        "provider_message_id": f"{visitor.visitor_id}:{client_id}",
        "elements": elements,
        "contact_name": visitor.name,
        # Only a button press carries the widget's language: typed text speaks for itself.
        "language_hint": language if payload and language in ("ar", "en") else "",
    }
    for attempt in range(LOCKED_RETRIES + 1):
        try:
            result = record_inbound(**inbound)
            break
        except OperationalError as exc:
            # SQLite (embedded default) refuses a write transaction at once when another thread is
            # finishing the previous turn; the call is idempotent by client id, so simply try again.
            if "locked" not in str(exc).lower() or attempt == LOCKED_RETRIES:
                raise
            time.sleep(0.05 * (attempt + 1))
    # The visitor's other tabs, and (embedded default: eager tasks) the reply already written.
    live.notify_conversation(result.conversation)
    return SendResult(message=result.message, conversation=_fresh(result.conversation), created=result.created)


def _fresh(conversation: Conversation) -> Conversation:
    return Conversation.objects.filter(id=conversation.id).first() or conversation


def visitor_identify(
    *, channel: Channel, visitor: Visitor, user_id: str, name: str, email: str, signature: str
) -> tuple[Visitor, str]:
    """Link the visitor to the merchant's customer when the HMAC verifies; returns the new token."""
    user_id = (user_id or "").strip()[:128]
    if not user_id:
        raise ApplicationError("A customer id is required.", code="invalid", fields={"id": ["Required."]})
    if not identity_verify(channel=channel, user_id=user_id, signature=signature):
        raise ApplicationError("Identity could not be verified.", code="identity_not_verified", status_code=403)
    identified = Visitor(visitor_id=visitor.visitor_id, user_id=user_id, name=name[:200], email=email[:254])
    return identified, visitor_token_issue(channel=channel, visitor=identified)
