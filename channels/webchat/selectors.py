"""Reads for the webchat public API: the channel behind a public key, a visitor's conversation, and
its customer-visible messages in (created_at, id) order with opaque, sortable cursors."""

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Q

from channels.models import Channel, ChannelKind
from conversations.models import Conversation, Message
from kaleem.core.errors import ApplicationError, NotFoundError

DEFAULT_PAGE = 30
MAX_PAGE = 100
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def channel_get_public(*, public_key: str) -> Channel:
    """A usable webchat channel by its public key; unknown, other-kind or disabled ⇒ 404."""
    channel = (
        Channel.objects.filter(public_key=str(public_key)[:64], kind=ChannelKind.WEBCHAT)
        .exclude(status=Channel.Status.DISABLED)
        .select_related("merchant")
        .first()
    )
    if channel is None or getattr(channel.merchant, "status", "active") != "active":
        raise NotFoundError("Chat channel not found.")
    return channel


def channel_webchat_for_merchant(*, merchant: Any) -> Channel | None:
    return (
        Channel.objects.for_merchant(merchant)
        .filter(kind=ChannelKind.WEBCHAT)
        .exclude(status=Channel.Status.DISABLED)
        .order_by("created_at")
        .first()
    )


def normalize_origin(value: str) -> str:
    """scheme://host[:port], lower-case, default ports dropped; '' when it is not an http(s) origin."""
    try:
        parts = urlsplit(str(value).strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    netloc = parts.hostname.lower() + (f":{port}" if port and port != default else "")
    return f"{parts.scheme}://{netloc}"


def channel_allowed_origins(*, channel: Channel) -> set[str]:
    raw = (channel.settings or {}).get("allowed_origins") or []
    if isinstance(raw, str):
        raw = [raw]
    return {o for o in (normalize_origin(v) for v in raw if isinstance(v, str)) if o}


def conversation_for_visitor(*, channel: Channel, external_id: str) -> Conversation | None:
    return (
        Conversation.objects.for_merchant(channel.merchant_id).filter(channel=channel, external_id=external_id).first()
    )


# ---------------------------------------------------------------- cursors


def message_cursor(message: Message) -> str:
    """Fixed-width so that string order equals (created_at, id) order (the widget compares them)."""
    micros = int((message.created_at - _EPOCH).total_seconds() * 1_000_000)
    return f"{micros:017d}.{message.id.hex}"


def cursor_parse(value: str) -> tuple[datetime, uuid.UUID]:
    try:
        micros_text, id_hex = str(value).split(".", 1)
        micros = int(micros_text)
        if micros < 0 or len(micros_text) > 17:
            raise ValueError
        when = datetime.fromtimestamp(micros // 1_000_000, tz=UTC).replace(microsecond=micros % 1_000_000)
        return when, uuid.UUID(hex=id_hex)
    except (ValueError, OverflowError, OSError):
        raise ApplicationError("Invalid cursor.", code="invalid_cursor", fields={"cursor": ["Invalid cursor."]})


def cursor_shift(cursor: str | None, *, seconds: float) -> str | None:
    """The cursor moved by `seconds` (an id of all zeros, so nothing at that instant is skipped)."""
    if not cursor:
        return cursor
    micros = int(cursor.split(".", 1)[0]) + int(seconds * 1_000_000)
    return f"{max(micros, 0):017d}.{'0' * 32}"


def _visible(conversation: Conversation) -> Any:
    # Private notes are for the team only: never leave through the public API.
    return Message.objects.for_merchant(conversation.merchant_id).filter(
        conversation=conversation, kind=Message.Kind.MESSAGE
    )


def messages_after(*, conversation: Conversation, cursor: str | None, limit: int = MAX_PAGE) -> list[Message]:
    qs = _visible(conversation)
    if cursor:
        when, mid = cursor_parse(cursor)
        qs = qs.filter(Q(created_at__gt=when) | Q(created_at=when, id__gt=mid))
    return list(qs.order_by("created_at", "id")[:limit])


def messages_before(
    *, conversation: Conversation, cursor: str | None, limit: int = DEFAULT_PAGE
) -> tuple[list[Message], bool]:
    """The `limit` messages before the cursor (newest page when None), oldest first, and has_more."""
    qs = _visible(conversation)
    if cursor:
        when, mid = cursor_parse(cursor)
        qs = qs.filter(Q(created_at__lt=when) | Q(created_at=when, id__lt=mid))
    page = list(qs.order_by("-created_at", "-id")[: limit + 1])
    has_more = len(page) > limit
    page = page[:limit]
    page.reverse()
    return page, has_more


# ---------------------------------------------------------------- shapes


_PUBLIC_ELEMENT_KEYS = {
    "product": ("type", "id", "sku", "title", "price", "currency", "image_url", "in_stock", "url"),
    "quick_reply": ("type", "title", "payload"),
    "button": ("type", "title", "payload", "url"),
}


def _public_elements(elements: Any) -> list[dict[str, Any]]:
    out = []
    for element in elements if isinstance(elements, list) else []:
        if not isinstance(element, dict):
            continue
        keys = _PUBLIC_ELEMENT_KEYS.get(element.get("type"))
        if keys:
            out.append({k: element[k] for k in keys if k in element and element[k] is not None})
    return out


def _display_text(message: Message) -> str:
    """A button press stores its payload as the text; the visitor sees the button's label."""
    if message.direction == Message.Direction.INBOUND and message.elements:
        first = message.elements[0] if isinstance(message.elements, list) else None
        if isinstance(first, dict) and first.get("payload") == message.text and first.get("title"):
            return str(first["title"])
    return message.text


def message_public(message: Message) -> dict[str, Any]:
    """What the widget sees: no author, intent, confidence or internal meta."""
    client_id = ""
    if message.direction == Message.Direction.INBOUND and message.provider_message_id:
        client_id = message.provider_message_id.rsplit(":", 1)[-1]
    status = message.delivery_status
    return {
        "id": str(message.id),
        "cursor": message_cursor(message),
        "direction": message.direction,
        "sender": message.sender,
        "text": _display_text(message),
        "elements": _public_elements(message.elements) if message.direction == Message.Direction.OUTBOUND else [],
        "created_at": message.created_at.isoformat(),
        "client_id": client_id,
        "delivery_status": status,
    }


def conversation_public(conversation: Conversation | None) -> dict[str, Any] | None:
    if conversation is None:
        return None
    return {"id": str(conversation.id), "status": conversation.status, "language": conversation.language}
