"""Telegram Bot API (protocols.md §A): secret-token header, update_id dedupe, sendMessage/sendPhoto
with inline keyboards (callback_data ≤ 64 bytes), answerCallbackQuery after a button press."""

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
    download,
    price_line,
    split_text,
    truncate,
    truncate_bytes,
)
from kaleem.http import provider_request

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_BYTES = 64


class Telegram(Provider):
    kind = "telegram"
    header_subset = ("Content-Type", "User-Agent")
    channel_rate = (30.0, 30.0)  # ≈30 msg/s per bot
    recipient_rate = (1.0, 3.0)  # ≈1 msg/s per chat, small burst for text + photo

    def verify(self, request: HttpRequest, raw: bytes, channel: Any) -> bool:
        expected = channel.credential("webhook_secret")
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())

    def split(self, body: Any) -> list[Item]:
        if not isinstance(body, dict) or "update_id" not in body:
            return []
        update_id = str(body["update_id"])
        if "callback_query" in body:
            cq = body["callback_query"] or {}
            chat = ((cq.get("message") or {}).get("chat") or {}).get("id") or (cq.get("from") or {}).get("id")
            date = (cq.get("message") or {}).get("date") or 0
            return [Item(update_id, "callback", str(chat or ""), int(date) * 1000, body)]
        message = body.get("message") or body.get("edited_message") or body.get("channel_post")
        if isinstance(message, dict):
            event_type = "message" if "message" in body else "edited"
            chat = (message.get("chat") or {}).get("id") or ""
            return [Item(update_id, event_type, str(chat), int(message.get("date") or 0) * 1000, body)]
        return [Item(update_id, "other", "", 0, body)]

    def parse(self, item_payload: dict[str, Any], event_type: str) -> Inbound | StatusUpdate | Ignored:
        update_id = str(item_payload.get("update_id"))
        if event_type == "callback":
            cq = item_payload.get("callback_query") or {}
            sender = cq.get("from") or {}
            chat = ((cq.get("message") or {}).get("chat") or {}).get("id") or sender.get("id")
            data = str(cq.get("data") or "")
            return Inbound(
                external_id=str(chat),
                provider_message_id=f"cb:{cq.get('id') or update_id}",
                text=data,
                elements=[{"type": "quick_reply", "title": data, "payload": data}],
                contact_name=_name(sender),
                language_hint=(sender.get("language_code") or "")[:2],
                callback_id=str(cq.get("id") or ""),
            )
        if event_type != "message":
            return Ignored(f"telegram {event_type} update")
        message = item_payload["message"]
        sender = message.get("from") or {}
        if sender.get("is_bot"):
            return Ignored("message from a bot")
        inbound = Inbound(
            external_id=str((message.get("chat") or {}).get("id")),
            provider_message_id=f"m:{(message.get('chat') or {}).get('id')}:{message.get('message_id')}",
            text=str(message.get("text") or message.get("caption") or ""),
            contact_name=_name(sender),
            language_hint=(sender.get("language_code") or "")[:2],
            sent_at_ms=int(message.get("date") or 0) * 1000,
        )
        if message.get("photo"):
            best = max(message["photo"], key=lambda p: (p.get("file_size") or 0, p.get("width") or 0))
            inbound.media.append({"type": "image", "ref": best.get("file_id"), "caption": message.get("caption", "")})
        for kind in ("document", "voice", "audio", "video"):
            if isinstance(message.get(kind), dict):
                obj = message[kind]
                inbound.media.append(
                    {
                        "type": "file" if kind == "document" else kind,
                        "ref": obj.get("file_id"),
                        "mime_type": obj.get("mime_type", ""),
                    }
                )
        if isinstance(message.get("location"), dict):
            loc = message["location"]
            inbound.attachments.append(
                {"type": "location", "latitude": loc.get("latitude"), "longitude": loc.get("longitude")}
            )
        if isinstance(message.get("contact"), dict):
            inbound.attachments.append({"type": "contact", "phone": message["contact"].get("phone_number", "")})
        if not (inbound.text or inbound.media or inbound.attachments):
            return Ignored("unsupported telegram message (sticker, poll…)")
        return inbound

    def _url(self, channel: Any, method: str) -> str:
        return f"{channel.base_url}/bot{channel.credential('bot_token')}/{method}"

    def fetch_media(self, channel: Any, media: dict[str, Any]) -> tuple[bytes, str]:
        resp = provider_request(
            "POST", self._url(channel, "getFile"), provider="telegram", json={"file_id": media["ref"]}, max_attempts=3
        )
        file_path = (resp.json().get("result") or {}).get("file_path", "")
        return download(
            f"{channel.base_url}/file/bot{channel.credential('bot_token')}/{file_path}", provider="telegram"
        )

    def render(self, *, channel: Any, recipient: str, text: str, elements: list[dict[str, Any]]) -> list[Part]:
        parts: list[Part] = []
        for product in [e for e in elements if e.get("type") == "product"][:10]:
            caption = truncate(
                "\n".join(x for x in (product.get("title", ""), price_line(product)) if x), CAPTION_LIMIT
            )
            keyboard = [[_button({"title": "🛒", "payload": f"product:{product.get('sku') or product.get('id')}"})]]
            markup = {"inline_keyboard": keyboard}
            if product.get("image_url"):
                parts.append(
                    Part(
                        "sendPhoto",
                        {
                            "chat_id": recipient,
                            "photo": product["image_url"],
                            "caption": caption,
                            "reply_markup": markup,
                        },
                    )
                )
            else:
                parts.append(Part("sendMessage", {"chat_id": recipient, "text": caption, "reply_markup": markup}))
        buttons = [e for e in elements if e.get("type") in ("quick_reply", "button")]
        chunks = split_text(text, TEXT_LIMIT) or ([""] if buttons else [])
        for index, chunk in enumerate(chunks):
            body: dict[str, Any] = {"chat_id": recipient, "text": chunk or "…"}
            if buttons and index == len(chunks) - 1:
                body["reply_markup"] = {"inline_keyboard": [[_button(b)] for b in buttons[:10]]}
            parts.insert(index, Part("sendMessage", body))
        return parts

    def send(self, channel: Any, part: Part) -> str:
        resp = provider_request(
            part.method,
            self._url(channel, part.path),
            provider="telegram",
            breaker_key=f"ch:{channel.id}",
            json=part.body,
        )
        result = resp.json().get("result") or {}
        return f"m:{(result.get('chat') or {}).get('id', part.body.get('chat_id'))}:{result.get('message_id', '')}"

    def after_inbound(self, channel: Any, inbound: Inbound) -> None:
        if inbound.callback_id:
            # stops the client's spinner; best effort, never retried for long
            provider_request(
                "POST",
                self._url(channel, "answerCallbackQuery"),
                provider="telegram",
                json={"callback_query_id": inbound.callback_id},
                max_attempts=2,
            )

    def set_webhook(self, channel: Any, *, url: str, secret_token: str) -> dict[str, Any]:
        resp = provider_request(
            "POST",
            self._url(channel, "setWebhook"),
            provider="telegram",
            max_attempts=2,
            json={
                "url": url,
                "secret_token": secret_token,
                "allowed_updates": ["message", "edited_message", "callback_query"],
            },
        )
        return resp.json()

    def get_me(self, channel: Any) -> dict[str, Any]:
        return provider_request("GET", self._url(channel, "getMe"), provider="telegram", max_attempts=2).json()


def _name(user: dict[str, Any]) -> str:
    return " ".join(x for x in (user.get("first_name"), user.get("last_name")) if x) or user.get("username", "")


def _button(element: dict[str, Any]) -> dict[str, Any]:
    title = truncate(str(element.get("title") or "…"), 64)
    if element.get("url"):
        return {"text": title, "url": element["url"]}
    data = truncate_bytes(str(element.get("payload") or element.get("title") or ""), CALLBACK_DATA_BYTES) or "-"
    return {"text": title, "callback_data": data}


PROVIDER = Telegram()
