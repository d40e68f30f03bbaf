"""Webchat has no provider API: inbound arrives through channels.webchat (the widget's public
API) and outbound is published to the widget's live stream by channels.webchat.live."""

from typing import Any

from channels.providers.base import Part, Provider


class Webchat(Provider):
    kind = "webchat"

    def render(self, *, channel: Any, recipient: str, text: str, elements: list[dict[str, Any]]) -> list[Part]:
        return []


PROVIDER = Webchat()
