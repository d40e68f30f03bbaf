"""WhatsApp Business Cloud API (protocols.md §B): GET handshake, X-Hub-Signature-256 over the raw
body, batches split per message (dedupe on wamid) and per status (dedupe on (wamid, status)),
text ≤ 1024, interactive buttons (≤ 3, titles ≤ 20) / lists, images, templates."""

import hmac
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
)
from kaleem.http import provider_request

TEXT_LIMIT = 1024  # the safe side of the documented 1024/4096 disagreement
BUTTON_TITLE = 20
MAX_BUTTONS = 3
LIST_ROW_TITLE = 24
LIST_ROW_DESCRIPTION = 72
MAX_LIST_ROWS = 10


def meta_handshake(request: HttpRequest, channel: Any) -> tuple[int, str]:
    """hub.mode=subscribe + matching hub.verify_token ⇒ 200 with hub.challenge as plain body."""
    mode = request.GET.get("hub.mode", "")
    token = request.GET.get("hub.verify_token", "")
    challenge = request.GET.get("hub.challenge", "")
    expected = channel.credential("verify_token")
    if mode == "subscribe" and expected and hmac.compare_digest(expected.encode(), token.encode()) and challenge:
        return 200, challenge
    return 403, "Verification failed"


class WhatsApp(Provider):
    kind = "whatsapp"
    header_subset = ("Content-Type", "User-Agent", "X-Hub-Signature-256")
    channel_rate = (80.0, 80.0)  # 80 msg/s per phone number (error 130429 above)
    recipient_rate = (1 / 6, 5.0)  # ≈1 msg / 6 s per recipient with bursts (131056)
    window_hours = 24

    def verify(self, request: HttpRequest, raw: bytes, channel: Any) -> bool:
        return meta_signature_valid(request, raw, channel.credential("app_secret"))

    def handshake(self, request: HttpRequest, channel: Any) -> tuple[int, str]:
        return meta_handshake(request, channel)

    def split(self, body: Any) -> list[Item]:
        items: list[Item] = []
        if not isinstance(body, dict):
            return items
        for entry in body.get("entry") or []:
            for change in (entry or {}).get("changes") or []:
                value = (change or {}).get("value") or {}
                if change.get("field") != "messages":
                    items.append(Item(canonical_id(change), "other", "", 0, {"change": change}))
                    continue
                contacts = {c.get("wa_id"): c for c in value.get("contacts") or [] if isinstance(c, dict)}
                metadata = value.get("metadata") or {}
                for message in value.get("messages") or []:
                    sender = str(message.get("from") or "")
                    items.append(
                        Item(
                            str(message.get("id") or canonical_id(message)),
                            "message",
                            sender,
                            _ms(message.get("timestamp")),
                            {"message": message, "contact": contacts.get(sender) or {}, "metadata": metadata},
                        )
                    )
                for status in value.get("statuses") or []:
                    items.append(
                        Item(
                            f"{status.get('id')}:{status.get('status')}",
                            "status",
                            str(status.get("recipient_id") or ""),
                            _ms(status.get("timestamp")),
                            {"status": status, "metadata": metadata},
                        )
                    )
        return items

    def parse(self, item_payload: dict[str, Any], event_type: str) -> Inbound | StatusUpdate | Ignored:
        if event_type == "status":
            status = item_payload["status"]
            errors = status.get("errors") or []
            return StatusUpdate(
                provider_message_id=str(status.get("id")),
                status=str(status.get("status")),
                at_ms=_ms(status.get("timestamp")),
                error="; ".join(f"{e.get('code')}: {e.get('title')}" for e in errors if isinstance(e, dict)),
            )
        if event_type != "message":
            return Ignored(f"whatsapp {event_type}")
        message = item_payload["message"]
        kind = message.get("type")
        inbound = Inbound(
            external_id=str(message.get("from")),
            provider_message_id=str(message.get("id")),
            contact_name=((item_payload.get("contact") or {}).get("profile") or {}).get("name", ""),
            sent_at_ms=_ms(message.get("timestamp")),
        )
        if kind == "text":
            inbound.text = str((message.get("text") or {}).get("body") or "")
        elif kind in ("image", "video", "audio", "document", "sticker"):
            obj = message.get(kind) or {}
            if kind == "sticker":
                return Ignored("sticker")
            inbound.text = str(obj.get("caption") or "")
            inbound.media.append(
                {
                    "type": "file" if kind == "document" else kind,
                    "ref": obj.get("id"),
                    "mime_type": obj.get("mime_type", ""),
                    "sha256": obj.get("sha256", ""),
                    "caption": obj.get("caption", ""),
                    "filename": obj.get("filename", ""),
                }
            )
        elif kind == "location":
            loc = message.get("location") or {}
            inbound.attachments.append(
                {
                    "type": "location",
                    "latitude": loc.get("latitude"),
                    "longitude": loc.get("longitude"),
                    "name": loc.get("name", ""),
                    "address": loc.get("address", ""),
                }
            )
        elif kind == "interactive":
            interactive = message.get("interactive") or {}
            reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
            inbound.text = str(reply.get("title") or "")
            inbound.elements.append(
                {"type": "quick_reply", "title": reply.get("title", ""), "payload": reply.get("id", "")}
            )
        elif kind == "button":  # quick-reply button of a template
            button = message.get("button") or {}
            inbound.text = str(button.get("text") or "")
            inbound.elements.append(
                {"type": "quick_reply", "title": button.get("text", ""), "payload": button.get("payload", "")}
            )
        elif kind == "reaction":
            return Ignored("reaction")
        else:
            return Ignored(f"unsupported whatsapp message type {kind!r}")
        return inbound

    def _headers(self, channel: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {channel.credential('access_token')}"}

    def fetch_media(self, channel: Any, media: dict[str, Any]) -> tuple[bytes, str]:
        meta = provider_request(
            "GET",
            f"{channel.base_url}/{media['ref']}",
            provider="whatsapp",
            headers=self._headers(channel),
            max_attempts=3,
        ).json()
        return download(str(meta.get("url") or ""), provider="whatsapp", headers=self._headers(channel))

    def render(self, *, channel: Any, recipient: str, text: str, elements: list[dict[str, Any]]) -> list[Part]:
        base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient}
        parts: list[Part] = []
        replies = [e for e in elements if e.get("type") in ("quick_reply", "button") and not e.get("url")]
        links = [e for e in elements if e.get("type") == "button" and e.get("url")]
        if links:
            text = "\n".join([text, *[f"{e.get('title', '')}: {e['url']}" for e in links]]).strip()
        chunks = split_text(text, TEXT_LIMIT) or (["…"] if replies else [])
        for chunk in chunks[:-1] if replies else chunks:
            parts.append(Part("messages", {**base, "type": "text", "text": {"preview_url": False, "body": chunk}}))
        if replies:
            body = {"text": chunks[-1]}
            if len(replies) <= MAX_BUTTONS:
                interactive = {
                    "type": "button",
                    "body": body,
                    "action": {
                        "buttons": [
                            {
                                "type": "reply",
                                "reply": {
                                    "id": truncate(str(r.get("payload") or r.get("title")), 256),
                                    "title": truncate(str(r.get("title") or "…"), BUTTON_TITLE),
                                },
                            }
                            for r in replies[:MAX_BUTTONS]
                        ]
                    },
                }
            else:
                interactive = {
                    "type": "list",
                    "body": body,
                    "action": {
                        "button": truncate("الخيارات" if _is_arabic(text) else "Options", BUTTON_TITLE),
                        "sections": [
                            {
                                "title": truncate("الخيارات" if _is_arabic(text) else "Options", 24),
                                "rows": [
                                    {
                                        "id": truncate(str(r.get("payload") or r.get("title")), 200),
                                        "title": truncate(str(r.get("title") or "…"), LIST_ROW_TITLE),
                                        "description": truncate(str(r.get("description") or ""), LIST_ROW_DESCRIPTION),
                                    }
                                    for r in replies[:MAX_LIST_ROWS]
                                ],
                            }
                        ],
                    },
                }
            parts.append(Part("messages", {**base, "type": "interactive", "interactive": interactive}))
        products = [e for e in elements if e.get("type") == "product"]
        catalog_id = channel.credential("catalog_id") if channel is not None else ""
        in_catalog = [e for e in products if catalog_id and e.get("sku")]
        if in_catalog:
            # native product messages from the WhatsApp commerce catalog (retailer id = our SKU):
            # one ⇒ "product", several ⇒ "product_list" (header and body required, ≤ 30 items)
            interactive = _product_interactive(catalog_id, in_catalog, arabic=_is_arabic(text) or not text)
            parts.append(Part("messages", {**base, "type": "interactive", "interactive": interactive}))
            products = [e for e in products if e not in in_catalog]
        for product in products[:10]:
            caption = truncate("\n".join(x for x in (product.get("title", ""), price_line(product)) if x), TEXT_LIMIT)
            if product.get("image_url"):
                parts.append(
                    Part(
                        "messages",
                        {**base, "type": "image", "image": {"link": product["image_url"], "caption": caption}},
                    )
                )
            else:
                parts.append(
                    Part("messages", {**base, "type": "text", "text": {"preview_url": False, "body": caption}})
                )
        return parts

    def template_part(self, *, recipient: str, name: str, language: str, parameters: list[str]) -> Part:
        components = []
        if parameters:
            components.append({"type": "body", "parameters": [{"type": "text", "text": str(p)} for p in parameters]})
        return Part(
            "messages",
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": recipient,
                "type": "template",
                "template": {"name": name, "language": {"code": language}, "components": components},
            },
        )

    def send(self, channel: Any, part: Part) -> str:
        resp = provider_request(
            part.method,
            f"{channel.base_url}/{channel.credential('phone_number_id')}/{part.path}",
            provider="whatsapp",
            breaker_key=f"ch:{channel.id}",
            headers=self._headers(channel),
            json=part.body,
        )
        messages = resp.json().get("messages") or [{}]
        return str(messages[0].get("id") or "")

    def templates_list(self, channel: Any) -> list[dict[str, Any]]:
        url: str | None = f"{channel.base_url}/{channel.credential('waba_id')}/message_templates?limit=100"
        out: list[dict[str, Any]] = []
        pages = 0
        while url and pages < 50:
            body = provider_request(
                "GET", url, provider="whatsapp", headers=self._headers(channel), max_attempts=3
            ).json()
            out.extend(body.get("data") or [])
            url = ((body.get("paging") or {}).get("next")) or None
            pages += 1
        return out


MAX_PRODUCT_LIST_ITEMS = 30
PRODUCT_LIST_HEADER = 60


def _product_interactive(catalog_id: str, products: list[dict[str, Any]], *, arabic: bool) -> dict[str, Any]:
    if len(products) == 1:
        return {
            "type": "product",
            "action": {"catalog_id": catalog_id, "product_retailer_id": truncate(str(products[0]["sku"]), 100)},
        }
    label = "منتجات مقترحة" if arabic else "Suggested products"
    return {
        "type": "product_list",
        "header": {"type": "text", "text": truncate(label, PRODUCT_LIST_HEADER)},
        "body": {"text": "اختر منتجاً لعرض تفاصيله" if arabic else "Pick a product to see its details"},
        "action": {
            "catalog_id": catalog_id,
            "sections": [
                {
                    "title": truncate(label, 24),
                    "product_retailer_items": [
                        {"product_retailer_id": truncate(str(p["sku"]), 100)} for p in products[:MAX_PRODUCT_LIST_ITEMS]
                    ],
                }
            ],
        },
    }


def _ms(value: Any) -> int:
    try:
        return int(float(value)) * 1000
    except (TypeError, ValueError):
        return 0


def _is_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text or "")


PROVIDER = WhatsApp()
