"""Channel-neutral shapes shared by every provider module."""

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest


@dataclass
class Item:
    """One dedupable unit cut out of a webhook delivery (a message, a status, a callback…)."""

    provider_event_id: str
    event_type: str  # message | status | callback | echo | reaction | other
    sender_id: str
    provider_timestamp: int  # ms
    payload: dict[str, Any]


@dataclass
class Inbound:
    external_id: str
    provider_message_id: str
    text: str = ""
    elements: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    media: list[dict[str, Any]] = field(default_factory=list)  # to fetch: {"type", "ref", "mime_type", …}
    contact_name: str = ""
    language_hint: str = ""
    sent_at_ms: int = 0
    callback_id: str = ""  # Telegram callback_query id to answer


@dataclass
class StatusUpdate:
    provider_message_id: str
    status: str  # sent|delivered|read|failed
    at_ms: int = 0
    error: str = ""


@dataclass
class Ignored:
    reason: str


@dataclass
class Part:
    """One provider API call of a rendered outbound message."""

    path: str
    body: dict[str, Any]
    method: str = "POST"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_id(obj: Any) -> str:
    """A stable id for events the provider gives no id (Messenger delivery/read, reactions…)."""
    return "h:" + sha256_hex(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode("utf-8"))[:40]


def meta_signature_valid(request: HttpRequest, raw: bytes, app_secret: str) -> bool:
    """X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>, compared in constant time.
    Computed over the bytes as received: re-serialised JSON differs on escaped Arabic."""
    header = request.headers.get("X-Hub-Signature-256", "")
    if not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256=") :].strip().lower())


def truncate(text: str, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def truncate_bytes(text: str, limit: int) -> str:
    data = (text or "").encode("utf-8")
    if len(data) <= limit:
        return text or ""
    return data[:limit].decode("utf-8", errors="ignore")


def split_text(text: str, limit: int) -> list[str]:
    """Split long text on paragraph/line/word boundaries into chunks of at most `limit` chars."""
    text = (text or "").strip()
    chunks: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        if cut <= limit // 2:
            cut = limit
        chunks.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        chunks.append(text)
    return chunks


def price_line(element: dict[str, Any]) -> str:
    price = element.get("price")
    if price in (None, ""):
        return ""
    return f"{price} {element.get('currency') or ''}".strip()


class Provider:
    """Interface each provider module implements (as a module-level instance)."""

    kind = ""
    header_subset: tuple[str, ...] = ()

    def verify(self, request: HttpRequest, raw: bytes, channel: Any) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def handshake(self, request: HttpRequest, channel: Any) -> tuple[int, str]:
        return 405, "Method not allowed"

    def split(self, body: Any) -> list[Item]:  # pragma: no cover - interface
        raise NotImplementedError

    def parse(self, item_payload: dict[str, Any], event_type: str) -> Inbound | StatusUpdate | Ignored:
        raise NotImplementedError  # pragma: no cover - interface

    def fetch_media(self, channel: Any, media: dict[str, Any]) -> tuple[bytes, str]:
        raise NotImplementedError  # pragma: no cover - interface

    def render(self, *, channel: Any, recipient: str, text: str, elements: list[dict[str, Any]]) -> list[Part]:
        raise NotImplementedError  # pragma: no cover - interface

    def send(self, channel: Any, part: Part) -> str:
        raise NotImplementedError  # pragma: no cover - interface

    def after_inbound(self, channel: Any, inbound: Inbound) -> None:
        """Provider follow-up after an inbound is recorded (Telegram: answerCallbackQuery)."""

    # rate limits: (rate per second, burst) per channel, and per recipient where documented
    channel_rate: tuple[float, float] = (30.0, 30.0)
    recipient_rate: tuple[float, float] | None = None
    window_hours: int | None = None  # Meta's customer-service window
    # Messenger/Instagram: an agent's reply 24 h – 7 days after the customer's last message goes
    # out with messaging_type=MESSAGE_TAG, tag=HUMAN_AGENT
    human_agent_tag: bool = False


MEDIA_MAX_BYTES = 16 * 1024 * 1024


def download(url: str, *, provider: str, headers: dict[str, str] | None = None) -> tuple[bytes, str]:
    """Fetch media (SSRF-guarded, size-capped, retried on transient errors)."""
    from kaleem.http import ProviderError, provider_request
    from kaleem.ssrf import assert_public_url

    assert_public_url(url)
    response = provider_request("GET", url, provider=provider, headers=headers or {}, max_attempts=3)
    if len(response.content) > MEDIA_MAX_BYTES:
        raise ProviderError(f"{provider}: media larger than {MEDIA_MAX_BYTES} bytes", retryable=False)
    return response.content, response.headers.get("Content-Type", "application/octet-stream").split(";")[0]
