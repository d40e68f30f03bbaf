"""Rows for dashboard page tests, written directly so each test controls timings exactly."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from channels.models import Channel
from conversations.models import AnswerGap, Contact, ContactIdentity, Conversation, Message

_counter = {"n": 0}


def make_channel(merchant: Any, kind: str = "webchat", name: str = "Site chat") -> Channel:
    return Channel.objects.create(merchant=merchant, kind=kind, name=name, status=Channel.Status.ACTIVE)


def make_conversation(
    merchant: Any,
    channel: Channel,
    *,
    status: str = "bot",
    name: str = "",
    unread: int = 0,
    at: datetime | None = None,
    assigned_to: Any = None,
) -> Conversation:
    _counter["n"] += 1
    at = at or timezone.now()
    contact = Contact.objects.create(merchant=merchant, name=name or f"Customer {_counter['n']}", language="ar")
    external = f"visitor-{_counter['n']:06d}"
    ContactIdentity.objects.create(merchant=merchant, contact=contact, channel=channel, external_id=external)
    conversation = Conversation.objects.create(
        merchant=merchant,
        channel=channel,
        external_id=external,
        contact=contact,
        status=status,
        unread_count=unread,
        last_activity_at=at,
        last_inbound_at=at,
        assigned_to=assigned_to,
    )
    Conversation.objects.filter(pk=conversation.pk).update(created_at=at)
    conversation.refresh_from_db()
    return conversation


def add_message(
    conversation: Conversation,
    *,
    direction: str = "in",
    sender: str = "customer",
    text: str = "",
    at: datetime | None = None,
    elements: list | None = None,
    intent: str = "",
    claimed: bool = True,
    kind: str = "message",
) -> Message:
    at = at or timezone.now()
    message = Message.objects.create(
        merchant_id=conversation.merchant_id,
        conversation=conversation,
        channel_id=conversation.channel_id,
        direction=direction,
        sender=sender,
        kind=kind,
        text=text,
        elements=elements or [],
        intent=intent,
        delivery_status="received" if direction == "in" else "sent",
        assistant_claimed_at=at if (direction == "in" and claimed) else None,
    )
    Message.objects.filter(pk=message.pk).update(created_at=at)
    message.created_at = at
    return message


def add_gap(
    conversation: Conversation, *, question: str, reason: str = "no_evidence", at: datetime | None = None
) -> AnswerGap:
    gap = AnswerGap.objects.create(
        merchant_id=conversation.merchant_id,
        conversation=conversation,
        question=question,
        normalized=question.strip().lower(),
        reason=reason,
    )
    if at:
        AnswerGap.objects.filter(pk=gap.pk).update(created_at=at)
    return gap


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
