import time
from typing import Any

from django.db.models import QuerySet

from channels.conf import setting
from channels.models import Channel, DeadLetter, WhatsAppTemplate
from kaleem.core.errors import NotFoundError


def channel_list(*, merchant: Any) -> QuerySet[Channel]:
    return Channel.objects.for_merchant(merchant).order_by("created_at")


def channel_get(*, merchant: Any, channel_id: Any) -> Channel:
    channel = Channel.objects.for_merchant(merchant).filter(id=channel_id).first()
    if channel is None:
        raise NotFoundError("Channel not found.")
    return channel


_webhook_channels: dict[tuple[str, str], tuple[float, Channel]] = {}
_WEBHOOK_CACHE_MAX = 10_000


def channel_for_webhook(*, kind: str, public_key: str) -> Channel | None:
    """The hot-path lookup: by the unique public key, and the kind in the URL must match.

    Found channels are kept per process for WEBHOOK_CHANNEL_CACHE_SECONDS (default 5 s) so a busy
    channel costs no query per delivery; a disabled channel or a new app secret applies within
    that delay. Unknown keys are never cached (no memory growth from probes)."""
    ttl = float(setting("WEBHOOK_CHANNEL_CACHE_SECONDS", 5.0))
    key = (kind, public_key)
    now = time.monotonic()
    if ttl > 0:
        hit = _webhook_channels.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    channel = Channel.objects.filter(public_key=public_key, kind=kind).first()
    if channel is not None and ttl > 0:
        channel.credentials  # noqa: B018 - decrypt once, outside the per-request path
        if len(_webhook_channels) >= _WEBHOOK_CACHE_MAX:
            _webhook_channels.clear()
        _webhook_channels[key] = (now + ttl, channel)
    return channel


def dead_letter_list(*, merchant: Any, channel: Channel | None = None, state: str | None = None) -> QuerySet:
    qs = DeadLetter.objects.for_merchant(merchant)
    if channel is not None:
        qs = qs.filter(channel=channel)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at")


def template_list(*, merchant: Any, channel: Channel) -> QuerySet:
    return WhatsAppTemplate.objects.for_merchant(merchant).filter(channel=channel).order_by("name", "language")
