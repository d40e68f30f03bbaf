"""Messenger and Instagram Messaging (protocols.md §C): same handshake and signature as WhatsApp,
`entry[].messaging[]` events deduped on message.mid, echoes skipped; text, quick replies and
generic-template carousels (≤ 10 cards, ≤ 3 buttons, titles ≤ 80)."""

from typing import Any

from django.http import HttpRequest

from channels.providers.base import (
    Ignored,
    Inbound,
    Item,
    Part,
    Provider,
    StatusUpdate,
    canonical_id,
    download,
    meta_signature_valid,
    price_line,
    split_text,
    truncate,
    truncate_bytes,
)
from channels.providers.whatsapp import meta_handshake
from kaleem.http import provider_request

MAX_QUICK_REPLIES = 13
MAX_CARDS = 10
MAX_CARD_BUTTONS = 3
CARD_TEXT = 80


class MetaMessaging(Provider):
    header_subset = ("Content-Type", "User-Agent", "X-Hub-Signature-256")
    window_hours = 24
    human_agent_tag = True

    def __init__(self, kind: str, *, rate: float, text_limit: int, text_limit_bytes: bool) -> None:
        self.kind = kind
        self.channel_rate = (rate, rate)
        self.text_limit = text_limit
        self.text_limit_bytes = text_limit_bytes

    def verify(self, request: HttpRequest, raw: bytes, channel: Any) -> bool:
        return meta_signature_valid(request, raw, channel.credential("app_secret"))

    def handshake(self, request: HttpRequest, channel: Any) -> tuple[int, str]:
        return meta_handshake(request, channel)

    def split(self, body: Any) -> list[Item]:
        items: list[Item] = []
        if not isinstance(body, dict):
            return items
        for entry in body.get("entry") or []:
            for event in (entry or {}).get("messaging") or []:
                if not isinstance(event, dict):
                    continue
                sender = str((event.get("sender") or {}).get("id") or "")
                ts = int(event.get("timestamp") or 0)
                message = event.get("message")
                if isinstance(message, dict):
                    event_type = "echo" if message.get("is_echo") else "message"
                    if event_type == "echo":  # our own send reflected back: key on the customer thread
                        sender = str((event.get("recipient") or {}).get("id") or "")
                    items.append(Item(str(message.get("mid") or canonical_id(event)), event_type, sender, ts, event))
                elif isinstance(event.get("postback"), dict):
                    mid = event["postback"].get("mid")
                    items.append(Item(str(mid) if mid else canonical_id(event), "postback", sender, ts, event))
                elif "reaction" in event:
                    items.append(Item(canonical_id(event), "reaction", sender, ts, event))
                elif "read" in event or "delivery" in event:
                    items.append(Item(canonical_id(event), "status", sender, ts, event))
                else:
                    items.append(Item(canonical_id(event), "other", sender, ts, event))
        return items

    def parse(self, item_payload: dict[str, Any], event_type: str) -> Inbound | StatusUpdate | Ignored:
        sender = str((item_payload.get("sender") or {}).get("id") or "")
        ts = int(item_payload.get("timestamp") or 0)
        if event_type == "message":
            message = item_payload["message"]
            inbound = Inbound(
                external_id=sender,
                provider_message_id=str(message.get("mid")),
                text=str(message.get("text") or ""),
                sent_at_ms=ts,
            )
            if isinstance(message.get("quick_reply"), dict):
                payload = str(message["quick_reply"].get("payload") or "")
                inbound.elements.append({"type": "quick_reply", "title": inbound.text, "payload": payload})
            for attachment in message.get("attachments") or []:
                kind = attachment.get("type")
                payload = attachment.get("payload") or {}
                if kind in ("image", "video", "audio", "file") and payload.get("url"):
                    inbound.media.append({"type": kind, "ref": payload["url"]})
                elif kind == "location" and isinstance(payload.get("coordinates"), dict):
                    c = payload["coordinates"]
                    inbound.attachments.append(
                        {"type": "location", "latitude": c.get("lat"), "longitude": c.get("long")}
                    )
                elif payload.get("url"):
                    inbound.attachments.append({"type": kind or "link", "url": payload["url"]})
            if not (inbound.text or inbound.media or inbound.attachments):
                return Ignored("empty message")
            return inbound
        if event_type == "postback":
            postback = item_payload["postback"]
            mid = postback.get("mid")
            return Inbound(
                external_id=sender,
                provider_message_id=str(mid) if mid else canonical_id(item_payload),
                text=str(postback.get("title") or postback.get("payload") or ""),
                elements=[
                    {"type": "button", "title": postback.get("title", ""), "payload": postback.get("payload", "")}
                ],
                sent_at_ms=ts,
            )
        if event_type == "status" and "delivery" in item_payload:
            # delivery receipts carry mids (Messenger); read receipts only a watermark
            mids = (item_payload.get("delivery") or {}).get("mids") or []
            if mids:
                return StatusUpdate(provider_message_id=str(mids[0]), status="delivered", at_ms=ts)
        return Ignored(f"{self.kind} {event_type}")

    def fetch_media(self, channel: Any, media: dict[str, Any]) -> tuple[bytes, str]:
        return download(str(media["ref"]), provider=self.kind)

    def _text(self, text: str) -> str:
        return truncate_bytes(text, self.text_limit) if self.text_limit_bytes else truncate(text, self.text_limit)

    def render(self, *, channel: Any, recipient: str, text: str, elements: list[dict[str, Any]]) -> list[Part]:
        base = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE"}
        parts: list[Part] = []
        # chunk by chars; Instagram's limit is in bytes, so give Arabic (2 bytes/char) room
        limit = self.text_limit // 2 if self.text_limit_bytes else self.text_limit
        chunks = split_text(text, limit)
        replies = [
            e for e in elements if e.get("type") == "quick_reply" or (e.get("type") == "button" and not e.get("url"))
        ]
        for index, chunk in enumerate(chunks):
            message: dict[str, Any] = {"text": self._text(chunk)}
            if replies and index == len(chunks) - 1:
                message["quick_replies"] = [
                    {
                        "content_type": "text",
                        "title": truncate(str(r.get("title") or "…"), 20),
                        "payload": truncate(str(r.get("payload") or r.get("title")), 1000),
                    }
                    for r in replies[:MAX_QUICK_REPLIES]
                ]
            parts.append(Part("me/messages", {**base, "message": message}))
        cards = [e for e in elements if e.get("type") == "product"][:MAX_CARDS]
        links = [e for e in elements if e.get("type") == "button" and e.get("url")]
        if cards:
            template_elements = []
            for card in cards:
                buttons: list[dict[str, Any]] = []
                if card.get("url"):
                    buttons.append({"type": "web_url", "url": card["url"], "title": "عرض" if _ar(text) else "View"})
                buttons.append(
                    {
                        "type": "postback",
                        "title": "اطلب" if _ar(text) else "Order",
                        "payload": f"product:{card.get('sku') or card.get('id')}",
                    }
                )
                element: dict[str, Any] = {
                    "title": truncate(str(card.get("title") or "…"), CARD_TEXT),
                    "subtitle": truncate(price_line(card), CARD_TEXT),
                    "buttons": buttons[:MAX_CARD_BUTTONS],
                }
                if card.get("image_url"):
                    element["image_url"] = card["image_url"]
                template_elements.append(element)
            parts.append(
                Part(
                    "me/messages",
                    {
                        **base,
                        "message": {
                            "attachment": {
                                "type": "template",
                                "payload": {"template_type": "generic", "elements": template_elements},
                            }
                        },
                    },
                )
            )
        elif links and not parts:
            parts.append(
                Part(
                    "me/messages",
                    {
                        **base,
                        "message": {"text": self._text("\n".join(f"{e.get('title', '')}: {e['url']}" for e in links))},
                    },
                )
            )
        elif links:
            last = parts[-1].body["message"]
            last["text"] = self._text("\n".join([last["text"], *[f"{e.get('title', '')}: {e['url']}" for e in links]]))
        return parts

    def send(self, channel: Any, part: Part) -> str:
        kwargs: dict[str, Any] = {"json": part.body}
        if self.kind == "instagram":
            kwargs["headers"] = {"Authorization": f"Bearer {channel.credential('access_token')}"}
        else:
            kwargs["params"] = {"access_token": channel.credential("access_token")}
        resp = provider_request(
            part.method, f"{channel.base_url}/{part.path}", provider=self.kind, breaker_key=f"ch:{channel.id}", **kwargs
        )
        return str(resp.json().get("message_id") or "")


def _ar(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text or "")


MESSENGER = MetaMessaging("messenger", rate=300.0, text_limit=2000, text_limit_bytes=False)
INSTAGRAM = MetaMessaging("instagram", rate=100.0, text_limit=1000, text_limit_bytes=True)  # safe side of 100 vs 300/s
