"""Writes for conversations: inbound recording, outbound replies, delivery status, ownership.

Every channel (webhooks, webchat, simulator) goes through `record_inbound`; every outbound message
(assistant or agent) is written by `reply_send` / `agent_reply_send`, which emit `message.outbound`
in the same transaction so the channels app sends it after commit.

Ownership is a state machine enforced here with conditional updates (no row locks):
    bot → waiting_human → human → closed, closed → bot when the customer writes again,
    release: waiting_human|human → bot; take over: bot|waiting_human|closed → human.
The assistant only ever answers a conversation whose status is `bot` at the moment it writes."""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models
from django.db.models import F
from django.utils import timezone

from conversations.contact_index import contact_name_index_create, contact_name_index_update
from conversations.models import AnswerGap, Contact, ContactIdentity, Conversation, Lead, Message
from kaleem import metrics
from kaleem.core.errors import ApplicationError, ConflictError, NotFoundError
from kaleem.db import atomic, in_transaction, on_commit
from kaleem.outbox import emit, emit_many

logger = logging.getLogger(__name__)

Status = Conversation.Status
MAX_STORED_TEXT = 16_000  # longer inbound text is truncated (flagged in meta), never rejected
MAX_OUTBOUND_TEXT = 4_000
MAX_EXTERNAL_ID = 255
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class InboundResult:
    conversation: Conversation
    message: Message
    created: bool
    conversation_created: bool = False  # the conversation began with this message: it has no other


@dataclass
class Reply:
    """The channel-neutral reply: what every channel adapter renders natively."""

    text: str
    elements: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "elements": list(self.elements)}


def clean_text(text: str | None) -> str:
    """Drop NULs and control characters (binary-looking payloads) but keep newlines and tabs."""
    if not text:
        return ""
    return _CONTROL.sub("", str(text)).strip()


def _quiet_period() -> float:
    return float(getattr(settings, "ASSISTANT_QUIET_PERIOD_SECONDS", 1.2))


# ---------------------------------------------------------------- inbound


def _contact_resolve(*, merchant: Any, channel: Any, external_id: str, name: str, language: str) -> Contact:
    identity = (
        ContactIdentity.objects.for_merchant(merchant)
        .filter(channel=channel, external_id=external_id)
        .select_related("contact")
        .first()
    )
    if identity is not None:
        contact = identity.contact
        if name and not contact.name:
            contact.name = name
            contact.save(update_fields=["name", "updated_at"])
            contact_name_index_update(contact=contact)
        return contact
    contact = Contact.objects.create(merchant=merchant, name=name, language=language)
    try:
        with atomic():
            ContactIdentity.objects.create(merchant=merchant, contact=contact, channel=channel, external_id=external_id)
    except IntegrityError:  # a concurrent first message created it: use theirs
        contact.delete()
        return ContactIdentity.objects.select_related("contact").get(channel=channel, external_id=external_id).contact
    if name:  # the blind index that lets the inbox search the encrypted name
        contact_name_index_update(contact=contact, created=True)
    return contact


def _conversation_created_payload(conversation: Conversation, channel: Any) -> dict[str, Any]:
    return {
        "conversation_id": str(conversation.id),
        "channel_id": str(channel.pk),
        "channel": getattr(channel, "kind", ""),
    }


def _message_received_payload(message: Message, channel: Any) -> dict[str, Any]:
    return {
        "message_id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "channel_id": str(channel.pk),
        "channel": getattr(channel, "kind", ""),
        "text": message.text,
        "attachments": len(message.attachments),
    }


def _conversation_get_or_create(*, merchant: Any, channel: Any, external_id: str) -> Conversation:
    conversation = Conversation.objects.for_merchant(merchant).filter(channel=channel, external_id=external_id).first()
    if conversation is not None:
        return conversation
    try:
        with atomic():
            conversation = Conversation.objects.create(merchant=merchant, channel=channel, external_id=external_id)
            emit(
                merchant=merchant,
                event_type="conversation.created",
                payload=_conversation_created_payload(conversation, channel),
            )
            return conversation
    except IntegrityError:
        return Conversation.objects.get(channel=channel, external_id=external_id)


def _first_inbound(
    *, merchant: Any, channel: Any, external_id: str, name: str, language: str, message: Message, now: datetime
) -> Conversation | None:
    """A sender's first message: contact, identity, name index, conversation, message and both events
    in ONE transaction (one commit instead of five). Returns None when a unique constraint answered —
    the sender already has an identity (a deleted conversation), a concurrent first message won, or
    the message is a duplicate — and the whole block rolled back; the caller then takes the general
    path, whose get-or-create steps handle those cases one by one. The IntegrityError is caught
    outside the outermost block, as MongoDB (no savepoints) requires."""
    try:
        with atomic():
            contact = Contact.objects.create(merchant=merchant, name=name, language=language)
            ContactIdentity.objects.create(merchant=merchant, contact=contact, channel=channel, external_id=external_id)
            if name:  # the blind index that lets the inbox search the encrypted name
                contact_name_index_create(contact=contact)
            conversation = Conversation(
                merchant=merchant,
                channel=channel,
                external_id=external_id,
                contact=contact,
                language=language,
                last_activity_at=now,
                last_inbound_at=message.received_at,
                latest_inbound_id=message.id,
                unread_count=1,
            )
            conversation.save(force_insert=True)
            message.conversation = conversation
            message.save(force_insert=True)
            emit_many(
                merchant=merchant,
                events=[
                    ("conversation.created", _conversation_created_payload(conversation, channel)),
                    ("message.received", _message_received_payload(message, channel)),
                ],
            )
    except IntegrityError:
        return None
    return conversation


def record_inbound(
    *,
    merchant: Any,
    channel: Any,
    external_id: str,
    text: str = "",
    provider_message_id: str | None = None,
    elements: list | None = None,
    attachments: list | None = None,
    contact_name: str = "",
    language_hint: str = "",
    sent_at: datetime | None = None,
    received_at: datetime | None = None,
    schedule_turn: bool = True,
) -> InboundResult:
    """Store a customer message once and schedule the assistant (after the burst quiet period).

    `schedule_turn=False`: the caller runs the assistant itself (channels' webhook processing does
    when the quiet period is 0, saving a task hop).

    Duplicates by (channel, provider_message_id) return the stored message with `created=False` (the
    unique constraint answers: no read before the write). Empty messages with no attachments are still
    stored (nothing is lost) but never answered. The returned conversation carries the fields this
    call wrote; it is not re-read."""
    if getattr(channel, "merchant_id", None) != getattr(merchant, "pk", merchant):
        raise NotFoundError("Channel not found.")
    external_id = str(external_id or "").strip()[:MAX_EXTERNAL_ID]
    if not external_id:
        raise ApplicationError("A sender id is required.", code="invalid", fields={"external_id": ["Required."]})
    provider_message_id = (str(provider_message_id).strip()[:255] or None) if provider_message_id else None

    raw = clean_text(text)
    truncated = len(raw) > MAX_STORED_TEXT
    body = raw[:MAX_STORED_TEXT]
    now = timezone.now()
    received_at = received_at or now
    language = language_hint if language_hint in ("ar", "en") else ""
    message = Message(
        merchant=merchant,
        channel=channel,
        direction=Message.Direction.INBOUND,
        sender=Message.Sender.CUSTOMER,
        text=body,
        elements=list(elements or [])[:20],
        attachments=list(attachments or [])[:20],
        provider_message_id=provider_message_id,
        delivery_status=Message.Delivery.RECEIVED,
        sent_at=sent_at or received_at,
        received_at=received_at,
        meta={"truncated": True, "original_length": len(raw)} if truncated else {},
    )
    answerable = bool(body or attachments)
    name = clean_text(contact_name)[:200]
    conversation = (
        Conversation.objects.for_merchant(merchant)
        .filter(channel=channel, external_id=external_id)
        .select_related("contact")  # the assistant's turn that follows reads it
        .first()
    )
    if conversation is None:
        conversation = _first_inbound(
            merchant=merchant,
            channel=channel,
            external_id=external_id,
            name=name,
            language=language,
            message=message,
            now=now,
        )
        if conversation is not None:
            if answerable and schedule_turn:
                on_commit(lambda: _schedule_turn(conversation_id=conversation.id, message_id=message.id))
            metrics.MESSAGES.labels(channel=getattr(channel, "kind", "unknown"), direction="in").inc()
            return InboundResult(conversation=conversation, message=message, created=True, conversation_created=True)
    # Resolved before the transaction: their "another writer won" recovery catches IntegrityError,
    # which is only safe around an outermost block (MongoDB has no savepoints).
    if conversation is None:
        conversation = _conversation_get_or_create(merchant=merchant, channel=channel, external_id=external_id)
    if conversation.contact_id is None:  # first message, or the contact was deleted (privacy)
        contact = _contact_resolve(
            merchant=merchant,
            channel=channel,
            external_id=external_id,
            name=name,
            language=language,
        )
        Conversation.objects.filter(id=conversation.id).update(contact=contact)
        conversation.contact = contact
    if isinstance(merchant, models.Model):
        conversation.merchant = merchant  # the caller's objects: the turn that follows reads them
    conversation.channel = channel
    message.conversation = conversation
    updates: dict[str, Any] = {
        "last_activity_at": now,
        "last_inbound_at": received_at,
        "latest_inbound_id": message.id,
        "unread_count": F("unread_count") + 1,
        "updated_at": now,
    }
    if language:
        updates["language"] = language
    reopen: dict[str, Any] = {
        "status": Status.BOT,
        "closed_at": None,
        "low_confidence_streak": 0,
        "handoff_reason": "",
        "assigned_to": None,
    }
    try:
        with atomic():
            message.save(force_insert=True)
            # One conditional UPDATE in the usual case; a closed conversation is reopened by the same
            # write (the customer writing again hands it back to the bot). Each write is conditional,
            # so a concurrent close/reopen between them only changes which one applies.
            rows = Conversation.objects.filter(id=conversation.id)
            reopened = False
            if not rows.exclude(status=Status.CLOSED).update(**updates):
                reopened = bool(rows.filter(status=Status.CLOSED).update(**reopen, **updates))
                if not reopened:
                    rows.update(**updates)
            emit(merchant=merchant, event_type="message.received", payload=_message_received_payload(message, channel))
            if answerable and schedule_turn:
                on_commit(lambda: _schedule_turn(conversation_id=conversation.id, message_id=message.id))
    except IntegrityError:
        # A duplicate provider message id (or a lost race with the same id): the other writer stored it.
        existing = (
            Message.objects.select_related("conversation")
            .filter(channel=channel, provider_message_id=provider_message_id)
            .first()
            if provider_message_id
            else None
        )
        if existing is None:
            raise
        return InboundResult(conversation=existing.conversation, message=existing, created=False)
    updates.update(unread_count=(conversation.unread_count or 0) + 1)  # as read plus ours: not re-read
    if reopened:
        updates.update(reopen)
    for attribute, value in updates.items():
        setattr(conversation, attribute, value)
    metrics.MESSAGES.labels(channel=getattr(channel, "kind", "unknown"), direction="in").inc()
    return InboundResult(conversation=conversation, message=message, created=True)


def _schedule_turn(*, conversation_id: Any, message_id: Any) -> None:
    from conversations.tasks import assistant_turn

    try:
        assistant_turn.apply_async(args=[str(conversation_id), str(message_id)], countdown=_quiet_period())
    except Exception:  # broker down: the message stays unanswered and visible in the inbox
        logger.warning("assistant turn could not be scheduled for %s", conversation_id, exc_info=True)


# ---------------------------------------------------------------- outbound


def _outbound_create(
    *,
    conversation: Conversation,
    sender: str,
    text: str,
    elements: list | None = None,
    author: Any = None,
    reply_to: Message | None = None,
    meta: dict | None = None,
    intent: str = "",
    confidence: float | None = None,
    activity_written: bool = False,
) -> Message:
    message = Message.objects.create(
        merchant_id=conversation.merchant_id,
        conversation=conversation,
        channel_id=conversation.channel_id,
        direction=Message.Direction.OUTBOUND,
        sender=sender,
        author=author if getattr(author, "is_authenticated", False) else None,
        text=text[:MAX_OUTBOUND_TEXT],
        elements=list(elements or []),
        delivery_status=Message.Delivery.PENDING,
        reply_to=reply_to,
        meta=meta or {},
        intent=intent,
        confidence=confidence,
    )
    if not activity_written:
        now = timezone.now()
        Conversation.objects.filter(id=conversation.id).update(last_activity_at=now, updated_at=now)
    emit(
        merchant=conversation.merchant_id,
        event_type="message.outbound",
        payload={
            "message_id": str(message.id),
            "conversation_id": str(conversation.id),
            "channel_id": str(conversation.channel_id),
        },
    )
    return message


def reply_send(
    *,
    conversation: Conversation,
    reply: Reply,
    reply_to: Message | None = None,
    intent: str = "",
    confidence: float | None = None,
    meta: dict | None = None,
    sender: str = Message.Sender.ASSISTANT,
    conversation_fields: dict[str, Any] | None = None,
) -> Message | None:
    """Write the assistant's reply; returns None (nothing sent) when the bot no longer owns the thread.

    `conversation_fields` (the assistant's turn state) are written by the same conditional UPDATE that
    checks the bot still owns the conversation, so only when the reply is written."""
    with atomic(savepoint=False):  # the turn's transaction: nothing to keep if this part fails
        activity_written = False
        if sender == Message.Sender.ASSISTANT:
            # the ownership check and the activity stamp are one conditional write
            now = timezone.now()
            activity_written = bool(
                Conversation.objects.filter(id=conversation.id, status=Status.BOT).update(
                    last_activity_at=now, updated_at=now, **(conversation_fields or {})
                )
            )
            if not activity_written:
                return None
        message = _outbound_create(
            activity_written=activity_written,
            conversation=conversation,
            sender=sender,
            text=reply.text,
            elements=reply.elements,
            reply_to=reply_to,
            meta=meta,
            intent=intent,
            confidence=confidence,
        )
    if reply_to is not None and reply_to.received_at:
        seconds = (timezone.now() - reply_to.received_at).total_seconds()
        metrics.FIRST_RESPONSE_SECONDS.labels(channel=_channel_kind(conversation)).observe(max(seconds, 0.0))
    metrics.MESSAGES.labels(channel=_channel_kind(conversation), direction="out").inc()
    return message


def _channel_kind(conversation: Conversation) -> str:
    try:
        return conversation.channel.kind
    except Exception:
        return "unknown"


def message_mark_sent(*, message_id: Any, provider_message_id: str | None, sent_at: datetime | None = None) -> bool:
    """Channels call this after a successful send. Idempotent; never moves a delivered/read message back."""
    updates: dict[str, Any] = {"delivery_status": Message.Delivery.SENT, "sent_at": sent_at or timezone.now()}
    if provider_message_id:
        updates["provider_message_id"] = str(provider_message_id)[:255]
    sent = Message.objects.filter(
        id=message_id,
        direction=Message.Direction.OUTBOUND,
        delivery_status__in=[Message.Delivery.PENDING, Message.Delivery.FAILED],
    )
    try:
        if not in_transaction():  # autocommit: one UPDATE; a constraint error breaks no transaction
            return bool(sent.update(**updates))
        with atomic():
            return bool(sent.update(**updates))
    except IntegrityError:  # provider id already used on this channel: keep status, drop the id
        updates.pop("provider_message_id", None)
        return bool(
            Message.objects.filter(
                id=message_id, delivery_status__in=[Message.Delivery.PENDING, Message.Delivery.FAILED]
            ).update(**updates)
        )


_DELIVERY_RANK = {"pending": 0, "failed": 0, "sent": 1, "delivered": 2, "read": 3}


def message_mark_delivery(
    *, merchant: Any, channel: Any, provider_message_id: str, status: str, at: datetime | None = None, error: str = ""
) -> bool:
    """Provider delivery receipts (sent|delivered|read|failed). Out-of-order receipts never downgrade."""
    if status not in _DELIVERY_RANK:
        raise ApplicationError(f"Unknown delivery status {status!r}.", code="invalid")
    at = at or timezone.now()
    qs = Message.objects.for_merchant(merchant).filter(
        channel=channel, provider_message_id=provider_message_id, direction=Message.Direction.OUTBOUND
    )
    lower = [s for s, rank in _DELIVERY_RANK.items() if rank < _DELIVERY_RANK[status]]
    updates: dict[str, Any] = {"delivery_status": status}
    if status == "delivered":
        updates["delivered_at"] = at
    elif status == "read":
        updates["read_at"] = at
        qs.filter(delivered_at__isnull=True).update(delivered_at=at)
    elif status == "failed":
        updates["delivery_error"] = error[:500]
        return bool(qs.filter(delivery_status__in=["pending", "sent"]).update(**updates))
    return bool(qs.filter(delivery_status__in=lower).update(**updates))


def message_mark_failed(*, message_id: Any, error: str = "") -> bool:
    """Channels call this when a send exhausted its retries (dead letter)."""
    return bool(
        Message.objects.filter(id=message_id, delivery_status=Message.Delivery.PENDING).update(
            delivery_status=Message.Delivery.FAILED, delivery_error=error[:500]
        )
    )


# ---------------------------------------------------------------- ownership state machine


def _transition(*, conversation: Conversation, to: str, allowed_from: list[str], **extra: Any) -> Conversation:
    now = timezone.now()
    changed = Conversation.objects.filter(id=conversation.id, status__in=allowed_from).update(
        status=to, updated_at=now, **extra
    )
    if not changed:
        conversation.refresh_from_db(fields=["status"])
        raise ConflictError(
            f"Cannot move a conversation from {conversation.status} to {to}.",
            code="invalid_transition",
        )
    conversation.refresh_from_db()
    return conversation


def conversation_handoff(*, conversation: Conversation, reason: str) -> bool:
    """Bot → waiting_human. Returns False if the bot did not own it any more (nothing changes)."""
    with atomic():
        changed = Conversation.objects.filter(id=conversation.id, status=Status.BOT).update(
            status=Status.WAITING_HUMAN, handoff_reason=reason[:32], updated_at=timezone.now()
        )
        if changed:
            emit(
                merchant=conversation.merchant_id,
                event_type="handoff.requested",
                payload={
                    "conversation_id": str(conversation.id),
                    "channel_id": str(conversation.channel_id),
                    "reason": reason[:32],
                },
            )
    if changed:
        metrics.HANDOFFS.labels(channel=_channel_kind(conversation), reason=reason[:32]).inc()
        conversation.refresh_from_db()
    return bool(changed)


def conversation_bot_resume(*, conversation: Conversation) -> bool:
    """The customer asked for the assistant back while still waiting for a human."""
    changed = Conversation.objects.filter(id=conversation.id, status=Status.WAITING_HUMAN).update(
        status=Status.BOT, handoff_reason="", low_confidence_streak=0, updated_at=timezone.now()
    )
    if changed:
        conversation.refresh_from_db()
    return bool(changed)


def _hand_pending_to_humans(conversation: Conversation) -> None:
    """Customer messages written while a human owned (or was awaited on) the thread were for the human:
    the bot must not answer them later, when it gets the conversation back."""
    Message.objects.filter(
        conversation_id=conversation.id, direction=Message.Direction.INBOUND, assistant_claimed_at__isnull=True
    ).update(assistant_claimed_at=timezone.now())


def _get(merchant: Any, conversation_id: Any) -> Conversation:
    conversation = Conversation.objects.for_merchant(merchant).filter(id=conversation_id).first()
    if conversation is None:
        raise NotFoundError("Conversation not found.")
    return conversation


def _audit(*, merchant: Any, actor: Any, action: str, conversation: Conversation, data: dict | None = None) -> None:
    from merchants.services import audit

    audit(merchant=merchant, actor=actor, action=action, target=conversation, data=data)


def conversation_take_over(*, merchant: Any, actor: Any, conversation_id: Any) -> Conversation:
    conversation = _get(merchant, conversation_id)
    with atomic():
        conversation = _transition(
            conversation=conversation,
            to=Status.HUMAN,
            allowed_from=[Status.BOT, Status.WAITING_HUMAN, Status.CLOSED],
            assigned_to=actor if getattr(actor, "is_authenticated", False) else None,
            closed_at=None,
        )
        _hand_pending_to_humans(conversation)
        _audit(merchant=merchant, actor=actor, action="conversation.taken_over", conversation=conversation)
    return conversation


def conversation_release(*, merchant: Any, actor: Any, conversation_id: Any) -> Conversation:
    """Hand the conversation back to the assistant; the failure streak starts again."""
    conversation = _get(merchant, conversation_id)
    with atomic():
        conversation = _transition(
            conversation=conversation,
            to=Status.BOT,
            allowed_from=[Status.WAITING_HUMAN, Status.HUMAN],
            low_confidence_streak=0,
            handoff_reason="",
        )
        _hand_pending_to_humans(conversation)
        _audit(merchant=merchant, actor=actor, action="conversation.released", conversation=conversation)
    return conversation


def conversation_close(*, merchant: Any, actor: Any, conversation_id: Any) -> Conversation:
    conversation = _get(merchant, conversation_id)
    with atomic():
        conversation = _transition(
            conversation=conversation,
            to=Status.CLOSED,
            allowed_from=[Status.BOT, Status.WAITING_HUMAN, Status.HUMAN],
            closed_at=timezone.now(),
            unread_count=0,
        )
        _audit(merchant=merchant, actor=actor, action="conversation.closed", conversation=conversation)
    return conversation


def conversation_assign(*, merchant: Any, actor: Any, conversation_id: Any, assignee_id: Any | None) -> Conversation:
    """Assign to a store member with at least the agent role (None unassigns)."""
    from merchants.models import Membership

    conversation = _get(merchant, conversation_id)
    assignee = None
    if assignee_id is not None:
        membership = (
            Membership.objects.for_merchant(merchant)
            .filter(user_id=assignee_id, role__in=["agent", "admin", "owner"])
            .select_related("user")
            .first()
        )
        if membership is None:
            raise ApplicationError(
                "The assignee must be an agent of this store.",
                code="invalid_assignee",
                fields={"assignee_id": ["Not an agent of this store."]},
            )
        assignee = membership.user
    with atomic():
        Conversation.objects.filter(id=conversation.id).update(assigned_to=assignee, updated_at=timezone.now())
        conversation.refresh_from_db()
        _audit(
            merchant=merchant,
            actor=actor,
            action="conversation.assigned",
            conversation=conversation,
            data={"assignee_id": str(assignee_id) if assignee_id is not None else None},
        )
    return conversation


def conversation_mark_read(*, merchant: Any, conversation_id: Any) -> None:
    Conversation.objects.for_merchant(merchant).filter(id=conversation_id).update(unread_count=0)


def agent_reply_send(
    *, merchant: Any, actor: Any, conversation_id: Any, text: str, elements: list | None = None
) -> Message:
    """An agent writes to the customer. Replying takes the conversation over (the bot stops)."""
    conversation = _get(merchant, conversation_id)
    text = clean_text(text)
    if not text:
        raise ApplicationError("Write a message.", code="invalid", fields={"text": ["This field may not be blank."]})
    with atomic():
        if conversation.status != Status.HUMAN:
            Conversation.objects.filter(id=conversation.id, status__in=[Status.BOT, Status.WAITING_HUMAN]).update(
                status=Status.HUMAN, assigned_to=actor if getattr(actor, "is_authenticated", False) else None
            )
        conversation.refresh_from_db()
        if conversation.status == Status.CLOSED:
            raise ConflictError("This conversation is closed; take it over to write.", code="conversation_closed")
        message = _outbound_create(
            conversation=conversation, sender=Message.Sender.AGENT, text=text, elements=elements, author=actor
        )
        Conversation.objects.filter(id=conversation.id).update(unread_count=0)
        _audit(
            merchant=merchant,
            actor=actor,
            action="conversation.agent_replied",
            conversation=conversation,
            data={"message_id": str(message.id)},
        )
    metrics.MESSAGES.labels(channel=_channel_kind(conversation), direction="out").inc()
    return message


def conversation_note_add(*, merchant: Any, actor: Any, conversation_id: Any, text: str) -> Message:
    """A private note for the team: stored in the thread, never sent to the customer."""
    conversation = _get(merchant, conversation_id)
    text = clean_text(text)
    if not text:
        raise ApplicationError("Write a note.", code="invalid", fields={"text": ["This field may not be blank."]})
    with atomic():
        note = Message.objects.create(
            merchant_id=conversation.merchant_id,
            conversation=conversation,
            channel_id=conversation.channel_id,
            direction=Message.Direction.OUTBOUND,
            sender=Message.Sender.AGENT,
            kind=Message.Kind.NOTE,
            author=actor if getattr(actor, "is_authenticated", False) else None,
            text=text[:MAX_OUTBOUND_TEXT],
            delivery_status=Message.Delivery.NOT_SENT,
        )
        _audit(
            merchant=merchant,
            actor=actor,
            action="conversation.note_added",
            conversation=conversation,
            data={"message_id": str(note.id)},
        )
    return note


def system_message_send(*, conversation: Conversation, text: str) -> Message:
    """Customer-visible notice written by the platform (e.g. 'an agent will reply shortly')."""
    with atomic():
        return _outbound_create(conversation=conversation, sender=Message.Sender.SYSTEM, text=text)


def answer_gap_record(
    *,
    merchant: Any,
    question: str,
    reason: str,
    language: str = "",
    intent: str = "",
    normalized: str = "",
    conversation: Conversation | None = None,
    message: Message | None = None,
) -> AnswerGap | None:
    question = clean_text(question)[:2000]
    if not question:
        return None
    return AnswerGap.objects.create(
        merchant_id=getattr(merchant, "pk", merchant),
        conversation=conversation,
        message=message,
        question=question,
        normalized=normalized[:2000],
        language=language,
        intent=intent,
        reason=reason,
    )


def contact_delete(*, merchant: Any, actor: Any, contact_id: Any) -> None:
    """Privacy erasure: the person's details go; the messages stay, attached to an anonymous thread."""
    contact = Contact.objects.for_merchant(merchant).filter(id=contact_id).first()
    if contact is None:
        raise NotFoundError("Contact not found.")
    with atomic():
        from merchants.services import audit

        audit(merchant=merchant, actor=actor, action="contact.deleted", target=contact)
        contact.delete()


# --- leads ----------------------------------------------------------------------------------------

LEAD_CREATED = "lead.created"


def lead_event_payload(lead: Lead) -> dict[str, Any]:
    """No PII in events (outbox rows are not encrypted): receivers fetch name and phone from
    GET /api/v1/leads/<lead_id>."""
    return {
        "version": 1,
        "lead_id": str(lead.pk),
        "status": lead.status,
        "source": lead.source,
        "language": lead.language,
        "interest": lead.interest,
        "contact_id": str(lead.contact_id) if lead.contact_id else None,
        "conversation_id": str(lead.conversation_id) if lead.conversation_id else None,
    }


def lead_capture(
    *,
    merchant: Any,
    name: str,
    phone: str,
    language: str = "",
    interest: str = "",
    contact_id: Any = None,
    conversation_id: Any = None,
    source: str = "chat",
    idempotency_key: str | None = None,
) -> tuple[Lead, bool]:
    """Record a customer's request to be contacted and emit `lead.created` in the same transaction.
    Returns (lead, created): the same idempotency key (the assistant passes "turn:<message id>") gives
    the first lead back, also when two workers run the turn at once (unique (merchant, key))."""
    from catalog.commerce_services import normalize_saudi_phone

    name = clean_text(name)[:120]
    normalized = normalize_saudi_phone(phone or "")
    fields: dict[str, list[str]] = {}
    if len(name) < 2:
        fields["name"] = ["Enter the customer's name."]
    if normalized is None:
        fields["phone"] = ["Enter a Saudi mobile number such as 05XXXXXXXX or +9665XXXXXXXX."]
    if fields:
        raise ApplicationError("Invalid lead details.", code="invalid", fields=fields)

    def existing() -> Lead | None:
        if not idempotency_key:
            return None
        return Lead.objects.for_merchant(merchant).filter(idempotency_key=idempotency_key).first()

    found = existing()
    if found is not None:
        return found, False
    try:
        with atomic():
            lead = Lead.objects.create(
                merchant=merchant,
                name=name,
                phone=normalized,
                language=(language or "")[:2],
                interest=clean_text(interest)[:500],
                contact_id=contact_id,
                conversation_id=conversation_id,
                source=source,
                idempotency_key=idempotency_key or None,
            )
            emit(merchant=merchant, event_type=LEAD_CREATED, payload=lead_event_payload(lead))
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found, False
    return lead, True


def lead_set_status(*, merchant: Any, actor: Any, lead: Lead, status: str) -> Lead:
    """Agents move a lead along new → contacted → won / lost (any order: it is a follow-up note)."""
    if lead.merchant_id != merchant.pk:
        raise NotFoundError("Lead not found.")
    if status not in Lead.Status.values:
        raise ApplicationError("Unknown lead status.", code="invalid", fields={"status": ["Invalid choice."]})
    if lead.status != status:
        Lead.objects.filter(id=lead.pk, merchant_id=merchant.pk).update(status=status, updated_at=timezone.now())
        lead.status = status
    return lead
