"""Running the assistant on a real conversation: burst handling, ownership checks, hand-off.

The pipeline (`run_turn`) is pure over a state dict; this module is the bridge to the database."""

import logging
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from conversations import services
from conversations.assistant.pipeline import TurnResult, run_turn, wants_bot_back
from conversations.models import Conversation, Message
from kaleem.db import atomic

logger = logging.getLogger(__name__)
Status = Conversation.Status
_SMALL_TALK = {"greeting", "thanks"}


def _burst_plan(results: list[tuple[Message, TurnResult]]) -> list[tuple[Message, TurnResult]]:
    """One answer per burst, in order: small talk is dropped when a real question follows, and
    consecutive product searches collapse into the last (each already refined the running filters)."""
    plan: list[tuple[Message, TurnResult]] = []
    for index, (message, result) in enumerate(results):
        later = results[index + 1 :]
        if result.intent in _SMALL_TALK and any(r.intent not in _SMALL_TALK for _, r in later):
            continue
        if (
            result.intent in ("product_search", "product_question")
            and later
            and later[0][1].intent
            in (
                "product_search",
                "product_question",
            )
        ):
            continue
        plan.append((message, result))
        if result.handoff:
            break  # the bot stops at a hand-off; later messages wait for the agent
    return plan


class _ClaimLost(Exception):
    """Another turn answered part of what this one read: nothing of this turn was kept; read again."""


def conversation_turn_process(
    *,
    conversation_id: Any,
    message_id: Any,
    replies: list[Message] | None = None,
    recorded: services.InboundResult | None = None,
    with_reply: Callable[[], None] | None = None,
) -> str:
    """Answer the conversation's unanswered customer messages (one answer per burst); returns the outcome.

    `replies`, when given, receives the reply messages written (the caller sends them without reading
    them back). `recorded`: the inbound message the caller has just stored (with its conversation, as
    written), so neither is read again. `with_reply`: the caller's own writes, made in the transaction
    that claims the messages and writes the reply (not called when the turn writes nothing).

    The messages are claimed in the same transaction as the reply, after the thinking: a worker that
    dies before that commit leaves them unclaimed, so the redelivered event answers them; a turn that
    finds part of them claimed by another turn meanwhile rolls back and starts again with what is left."""
    for _attempt in range(3):
        try:
            return _turn(
                conversation_id=conversation_id,
                message_id=message_id,
                replies=replies,
                recorded=recorded,
                with_reply=with_reply,
            )
        except _ClaimLost:
            recorded = None
            if replies is not None:
                replies.clear()
    return "already_answered"


def _turn(
    *,
    conversation_id: Any,
    message_id: Any,
    replies: list[Message] | None,
    recorded: services.InboundResult | None,
    with_reply: Callable[[], None] | None,
) -> str:
    if recorded is not None:
        conversation = recorded.conversation
    else:
        conversation = (
            Conversation.objects.filter(id=conversation_id).select_related("merchant", "channel", "contact").first()
        )
        if conversation is None:
            return "missing"
    if str(conversation.latest_inbound_id) != str(message_id):
        return "superseded"  # a later message of the burst has its own task
    pending_qs = Message.objects.filter(
        conversation=conversation,
        direction=Message.Direction.INBOUND,
        sender=Message.Sender.CUSTOMER,
        kind=Message.Kind.MESSAGE,
        assistant_claimed_at__isnull=True,
    )
    if recorded is not None and recorded.conversation_created:
        batch = [recorded.message]  # the conversation began with it: there is no other
    else:
        batch = list(pending_qs.order_by("sent_at", "created_at"))
    if not batch:
        return "nothing"
    if conversation.status == Status.WAITING_HUMAN and wants_bot_back(batch[-1].text):
        services.conversation_bot_resume(conversation=conversation)
    if conversation.status != Status.BOT:
        return "human_owned"  # the messages stay unanswered for the agent

    state = dict(conversation.state or {})
    state["low_conf_streak"] = conversation.low_confidence_streak
    state_before = dict(state)

    def think(message: Message, text: str, current: dict) -> TurnResult:
        return run_turn(
            merchant=conversation.merchant,
            text=text,
            state=current,
            language_hint=conversation.language,
            has_attachments=bool(message.attachments),
            contact=conversation.contact,
            conversation_id=conversation.id,
            turn_id=str(message.id),
        )

    results: list[tuple[Message, TurnResult]] = []
    for message in batch:  # thinking happens outside any transaction: no locks held meanwhile
        result = think(message, message.text, state)
        state = result.state
        results.append((message, result))
    plan = _burst_plan(results)
    substantive = [(m, r) for m, r in results if r.intent not in _SMALL_TALK and m.text.strip()]
    if len(substantive) > 1 and any(r.outcome != "answered" for _, r in plan):
        # A question split over several messages ("how much" / "is shipping?"): one fragment alone fails,
        # so read the burst as one message; keep it when that answers.
        joined = think(substantive[-1][0], " ".join(m.text for m, _ in substantive), dict(state_before))
        if joined.outcome == "answered":
            plan = [(substantive[-1][0], joined)]
            state = joined.state

    # What the turn leaves on the conversation: written with the first reply's ownership check (one
    # conditional UPDATE), or on its own when no reply is written.
    language = results[-1][1].language if results else conversation.language
    streak = int(state.pop("low_conf_streak", 0))
    turn_fields = {"state": state, "low_confidence_streak": streak, "language": language or conversation.language}

    # The claim and all writes of the turn in one transaction: one commit, and nothing kept unless the
    # reply is. One message (the usual case): its claim and its intent are one conditional UPDATE.
    outcome = "answered"
    with atomic():
        stamp = timezone.now()
        single = {"intent": results[0][1].intent, "confidence": results[0][1].confidence} if len(results) == 1 else {}
        claimed = pending_qs.filter(id__in=[m.id for m in batch]).update(assistant_claimed_at=stamp, **single)
        if claimed != len(batch):
            if not claimed:
                return "already_answered"
            raise _ClaimLost  # rolls the partial claim back
        for message, result in results:
            message.assistant_claimed_at = stamp
            if not single:
                Message.objects.filter(id=message.id).update(intent=result.intent, confidence=result.confidence)
        for message, result in plan:
            sent = services.reply_send(
                conversation=conversation,
                reply=result.reply,
                reply_to=message,
                intent=result.intent,
                confidence=result.confidence,
                meta={"evidence": result.evidence[:5], "latency_ms": result.latency_ms, "language": result.language},
                conversation_fields=turn_fields,
            )
            if sent is None:
                outcome = "human_owned"  # an agent took over while we were thinking
                break
            turn_fields = {}  # written
            if replies is not None:
                replies.append(sent)
            if result.gap_reason:
                # "I want a human" is not the gap: the question before it is, when there was one
                question = message.text
                if result.gap_reason == "human_request" and state_before.get("last_question"):
                    question = state_before["last_question"]
                services.answer_gap_record(
                    merchant=conversation.merchant_id,
                    question=question,
                    reason=result.gap_reason,
                    language=result.language,
                    intent=result.intent,
                    normalized=result.normalized,
                    conversation=conversation,
                    message=message,
                )
            if result.handoff:
                services.conversation_handoff(conversation=conversation, reason=result.handoff_reason or "handoff")
                break
        if outcome == "answered" and turn_fields:
            Conversation.objects.filter(id=conversation.id).update(**turn_fields)
        if with_reply is not None:
            with_reply()
    return outcome
