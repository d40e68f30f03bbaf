from typing import Any

from django.db.models import QuerySet

from channels.models import Channel, DeadLetter, WhatsAppTemplate
from kaleem.core.errors import NotFoundError


def channel_list(*, merchant: Any) -> QuerySet[Channel]:
    return Channel.objects.for_merchant(merchant).order_by("created_at")


def channel_get(*, merchant: Any, channel_id: Any) -> Channel:
    channel = Channel.objects.for_merchant(merchant).filter(id=channel_id).first()
    if channel is None:
        raise NotFoundError("Channel not found.")
    return channel


def channel_for_webhook(*, kind: str, public_key: str) -> Channel | None:
    """The hot-path lookup: by the unique public key, and the kind in the URL must match."""
    return Channel.objects.filter(public_key=public_key, kind=kind).first()


def dead_letter_list(*, merchant: Any, channel: Channel | None = None, state: str | None = None) -> QuerySet:
    qs = DeadLetter.objects.for_merchant(merchant)
    if channel is not None:
        qs = qs.filter(channel=channel)
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-created_at")


def template_list(*, merchant: Any, channel: Channel) -> QuerySet:
    return WhatsAppTemplate.objects.for_merchant(merchant).filter(channel=channel).order_by("name", "language")
