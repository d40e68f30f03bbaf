"""Shared set-up for the webchat tests: a webchat channel, a visitor session, message posting."""

import uuid
from typing import Any

from django.test import Client

from channels.models import Channel, ChannelKind
from kaleem.testing.factories import MerchantFactory

ALLOWED = "https://shop.example.com"


def webchat_channel(merchant: Any = None, **settings: Any) -> Channel:
    merchant = merchant or MerchantFactory()
    cfg = {"allowed_origins": [ALLOWED], "greeting": {"ar": "أهلاً!", "en": "Hi!"}, "colours": {"primary": "#123456"}}
    cfg.update(settings)
    return Channel.objects.create(
        merchant=merchant, kind=ChannelKind.WEBCHAT, name="Web", status=Channel.Status.ACTIVE, settings=cfg
    )


def api(channel: Channel, path: str) -> str:
    return f"/api/webchat/v1/{channel.public_key}/{path}"


class Visitor:
    """A browser on an allowed origin talking to the public API."""

    def __init__(self, channel: Channel, origin: str = ALLOWED, ip: str = "10.0.0.1") -> None:
        self.channel = channel
        self.client = Client(HTTP_ORIGIN=origin, REMOTE_ADDR=ip)
        self.token = ""

    def headers(self) -> dict[str, str]:
        return {"HTTP_X_KALEEM_VISITOR": self.token} if self.token else {}

    def start(self) -> Any:
        r = self.client.post(api(self.channel, "conversations"), {}, content_type="application/json", **self.headers())
        if r.status_code == 200:
            self.token = r.json()["visitor_token"]
        return r

    def send(self, text: str, client_id: str | None = None, **extra: Any) -> Any:
        body = {"client_id": client_id or uuid.uuid4().hex, "text": text, **extra}
        return self.client.post(api(self.channel, "messages"), body, content_type="application/json", **self.headers())

    def history(self, **params: Any) -> Any:
        return self.client.get(api(self.channel, "messages"), params, **self.headers())
