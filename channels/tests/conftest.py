import hashlib
import hmac
import json
from typing import Any

import pytest

from channels.models import Channel
from channels.services import channel_create
from channels.testing.fake_providers import FakeProviders
from kaleem.testing.factories import MerchantFactory

APP_SECRET = "app-secret-ü-1"  # non-ASCII on purpose: the key is UTF-8 encoded before HMAC
TG_SECRET = "s3cr3t_Token-01"


@pytest.fixture(scope="session")
def fake_server():
    server = FakeProviders().start()
    yield server
    server.stop()


@pytest.fixture
def fake(fake_server):
    fake_server.reset()
    fake_server.templates = []
    yield fake_server
    fake_server.reset()


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.PROVIDER_BACKOFF_BASE = 0.01
    settings.PROVIDER_BACKOFF_CAP = 0.05
    settings.PROVIDER_HTTP_TIMEOUT = 2.0
    settings.PROVIDER_RETRY_ATTEMPTS = 3
    settings.PROVIDER_MAX_INLINE_RETRY_AFTER = 2.0


def make_channel(kind: str, fake: FakeProviders, merchant: Any = None, **creds: str) -> Channel:
    merchant = merchant or MerchantFactory()
    defaults = {
        "telegram": {"bot_token": "123:ABC", "webhook_secret": TG_SECRET},
        "whatsapp": {
            "access_token": "wa-token",
            "phone_number_id": "106540352242922",
            "app_secret": APP_SECRET,
            "verify_token": "verify-me",
            "waba_id": "102290129340398",
        },
        "messenger": {
            "access_token": "page-token",
            "app_secret": APP_SECRET,
            "page_id": "112233445566778",
            "verify_token": "verify-me",
        },
        "instagram": {"access_token": "ig-token", "app_secret": APP_SECRET, "verify_token": "verify-me"},
        "webchat": {},
    }[kind]
    channel = channel_create(
        merchant=merchant,
        kind=kind,
        name=f"{kind} test",
        credentials={**defaults, **creds},
        provider_base_url=fake.url if kind != "webchat" else "",
    )
    Channel.objects.filter(id=channel.id).update(status=Channel.Status.ACTIVE)
    channel.refresh_from_db()
    return channel


def inbound_conversation(channel: Channel, external_id: str = "966551234567", inbound_at: Any = None) -> Any:
    """The conversation of one customer message ("مرحبا") on `channel`; `inbound_at` back-dates the
    customer's last message (Meta's 24-hour window)."""
    from conversations.models import Conversation
    from conversations.services import record_inbound

    result = record_inbound(
        merchant=channel.merchant,
        channel=channel,
        external_id=external_id,
        text="مرحبا",
        provider_message_id=f"in-{external_id}-{channel.id}",
    )
    if inbound_at is not None:
        Conversation.objects.filter(id=result.conversation.id).update(last_inbound_at=inbound_at)
        result.conversation.refresh_from_db()
    return result.conversation


def meta_sign(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()


def meta_raw(payload: dict[str, Any]) -> bytes:
    """Serialise like Meta does: non-ASCII escaped (\\u0645…), no spaces."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def post_meta(
    client: Any, channel: Channel, payload: dict[str, Any], *, signature: str | None = None, raw: bytes | None = None
):
    raw = raw if raw is not None else meta_raw(payload)
    headers = {} if signature == "" else {"HTTP_X_HUB_SIGNATURE_256": signature or meta_sign(raw)}
    return client.post(
        f"/webhooks/{channel.kind}/{channel.public_key}", data=raw, content_type="application/json", **headers
    )


def post_telegram(client: Any, channel: Channel, payload: dict[str, Any], *, secret: str | None = TG_SECRET):
    headers = {} if secret is None else {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret}
    return client.post(
        f"/webhooks/telegram/{channel.public_key}",
        data=json.dumps(payload, ensure_ascii=False).encode(),
        content_type="application/json",
        **headers,
    )


# --- realistic payloads (protocols.md examples)
def tg_text(
    update_id: int = 583920114, text: str = "هل المنتج متوفر؟", chat_id: int = 730055112, message_id: int = 4412
):
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Sara", "username": "sara_k", "language_code": "ar"},
            "chat": {"id": chat_id, "first_name": "Sara", "username": "sara_k", "type": "private"},
            "date": 1767225600,
            "text": text,
        },
    }


def tg_button(update_id: int = 583920115, data: str = "buy:SKU-1001"):
    return {
        "update_id": update_id,
        "callback_query": {
            "id": "3135570001923845123",
            "from": {"id": 730055112, "is_bot": False, "first_name": "Sara"},
            "message": {
                "message_id": 4413,
                "chat": {"id": 730055112, "type": "private"},
                "date": 1767225610,
                "text": "Choose:",
            },
            "chat_instance": "-8811223344556677",
            "data": data,
        },
    }


def tg_photo(update_id: int = 583920116):
    return {
        "update_id": update_id,
        "message": {
            "message_id": 4414,
            "from": {"id": 730055112, "is_bot": False, "first_name": "Sara"},
            "chat": {"id": 730055112, "type": "private"},
            "date": 1767225620,
            "photo": [
                {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 1000},
                {"file_id": "big", "file_unique_id": "b", "width": 800, "height": 800, "file_size": 50000},
            ],
            "caption": "هذا",
        },
    }


def wa_envelope(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "966500000001", "phone_number_id": "106540352242922"},
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def wa_text(
    wamid: str = "wamid.HBgMOTY2NTUxMjM0NTY3FQIAEhggQUJDREVGMDEyMzQ1Njc4OQA=",
    text: str = "السلام عليكم، كم سعر SKU-1001؟",
    sender: str = "966551234567",
    ts: str = "1767225600",
):
    return wa_envelope(
        {
            "contacts": [{"profile": {"name": "أحمد"}, "wa_id": sender}],
            "messages": [{"from": sender, "id": wamid, "timestamp": ts, "type": "text", "text": {"body": text}}],
        }
    )


def wa_image(wamid: str = "wamid.HBgMOTY2NTUxMjM0NTY3FQIAEhggSU1HMDAwMDAwMDAwMDAwMDEA", sender: str = "966551234567"):
    return wa_envelope(
        {
            "contacts": [{"profile": {"name": "Ahmed"}, "wa_id": sender}],
            "messages": [
                {
                    "from": sender,
                    "id": wamid,
                    "timestamp": "1767225660",
                    "type": "image",
                    "image": {
                        "caption": "this one",
                        "mime_type": "image/png",
                        "sha256": "81d3",
                        "id": "2754859441498128",
                    },
                }
            ],
        }
    )


def wa_button(wamid: str = "wamid.BTN1", sender: str = "966551234567"):
    return wa_envelope(
        {
            "contacts": [{"profile": {"name": "Ahmed"}, "wa_id": sender}],
            "messages": [
                {
                    "from": sender,
                    "id": wamid,
                    "timestamp": "1767225670",
                    "type": "interactive",
                    "context": {"from": "966500000001", "id": "wamid.OUT1"},
                    "interactive": {
                        "type": "button_reply",
                        "button_reply": {"id": "product:SKU-1001", "title": "اطلب الآن"},
                    },
                }
            ],
        }
    )


def wa_status(wamid: str, status: str = "delivered", ts: str = "1767225700"):
    return wa_envelope(
        {
            "statuses": [
                {
                    "id": wamid,
                    "status": status,
                    "timestamp": ts,
                    "recipient_id": "966551234567",
                    "pricing": {"billable": False, "pricing_model": "PMP", "category": "service"},
                }
            ]
        }
    )


def ms_text(
    mid: str = "m_AbCdEfGhIjKlMnOpQrStUv0123456789", text: str = "هل توصلون إلى جدة؟", sender: str = "6543210987654321"
):
    return {
        "object": "page",
        "entry": [
            {
                "id": "112233445566778",
                "time": 1767225600123,
                "messaging": [
                    {
                        "sender": {"id": sender},
                        "recipient": {"id": "112233445566778"},
                        "timestamp": 1767225600001,
                        "message": {"mid": mid, "text": text},
                    }
                ],
            }
        ],
    }


def ms_echo(mid: str = "m_ECHO1"):
    return {
        "object": "page",
        "entry": [
            {
                "id": "112233445566778",
                "time": 1767225600123,
                "messaging": [
                    {
                        "sender": {"id": "112233445566778"},
                        "recipient": {"id": "6543210987654321"},
                        "timestamp": 1767225600001,
                        "message": {"mid": mid, "text": "our reply", "is_echo": True, "app_id": 1},
                    }
                ],
            }
        ],
    }


def ms_postback(mid: str = "m_PB1", payload: str = "product:SKU-1001"):
    return {
        "object": "page",
        "entry": [
            {
                "id": "112233445566778",
                "time": 1767225600123,
                "messaging": [
                    {
                        "sender": {"id": "6543210987654321"},
                        "recipient": {"id": "112233445566778"},
                        "timestamp": 1767225600002,
                        "postback": {"title": "اطلب", "payload": payload, "mid": mid},
                    }
                ],
            }
        ],
    }


def ig_image(url: str, mid: str = "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQx"):
    return {
        "object": "instagram",
        "entry": [
            {
                "id": "17841400000000001",
                "time": 1767225600500,
                "messaging": [
                    {
                        "sender": {"id": "998877665544332"},
                        "recipient": {"id": "17841400000000001"},
                        "timestamp": 1767225600400,
                        "message": {"mid": mid, "attachments": [{"type": "image", "payload": {"url": url}}]},
                    }
                ],
            }
        ],
    }
