"""Assistant turns on real conversations: bursts, idempotency, ownership, hand-off, out-of-order input."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import services
from conversations.assistant.turns import conversation_turn_process
from conversations.models import AnswerGap, Conversation, Message
from kaleem.models import OutboxEvent

pytestmark = pytest.mark.django_db


def inbound(channel, text, **kw):
    kw.setdefault("external_id", "visitor-1")
    return services.record_inbound(merchant=channel.merchant, channel=channel, text=text, **kw)


def answers(conversation):
    return list(
        Message.objects.filter(conversation=conversation, direction="out", sender="assistant").order_by("created_at")
    )


def process(result):
    return conversation_turn_process(conversation_id=result.conversation.id, message_id=result.message.id)


def test_record_inbound_schedules_the_turn_after_commit(store_channel, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = inbound(store_channel, "كم رسوم الشحن؟")
    replies = answers(result.conversation)
    assert len(replies) == 1 and "25" in replies[0].text
    assert replies[0].reply_to_id == result.message.id
    assert OutboxEvent.objects.filter(event_type="message.outbound", payload__message_id=str(replies[0].id)).exists()


def test_a_burst_is_answered_once_by_the_last_task(store_channel):
    first = inbound(store_channel, "السلام عليكم")
    second = inbound(store_channel, "عندكم عبايات؟")
    third = inbound(store_channel, "بالكحلي")
    assert process(first) == "superseded"
    assert process(second) == "superseded"
    assert process(third) == "answered"
    replies = answers(third.conversation)
    # the greeting is folded into the real question; the search and its refinement answer once
    assert len(replies) == 1
    assert [e["sku"] for e in replies[0].elements if e["type"] == "product"] == ["AB-2"]
    assert Message.objects.filter(direction="in", assistant_claimed_at__isnull=True).count() == 0


def test_running_the_task_twice_answers_once(store_channel):
    result = inbound(store_channel, "كم رسوم الشحن؟")
    assert process(result) == "answered"
    assert process(result) == "nothing"
    assert len(answers(result.conversation)) == 1


def test_out_of_order_messages_are_answered_in_sent_order(store_channel):
    now = timezone.now()
    later = inbound(store_channel, "بالكحلي", sent_at=now)
    earlier = inbound(store_channel, "عندكم عبايات؟", sent_at=now - timedelta(seconds=5))
    assert process(later) == "superseded"  # the late arrival is now the latest inbound
    assert process(earlier) == "answered"
    reply = answers(earlier.conversation)[-1]
    assert [e["sku"] for e in reply.elements if e["type"] == "product"] == ["AB-2"]


def test_duplicate_delivery_is_not_answered_twice(store_channel):
    first = inbound(store_channel, "كم رسوم الشحن؟", provider_message_id="m-1")
    process(first)
    again = inbound(store_channel, "كم رسوم الشحن؟", provider_message_id="m-1")
    assert again.created is False
    assert process(again) == "nothing"
    assert len(answers(first.conversation)) == 1


def test_the_assistant_never_answers_a_conversation_a_human_owns(store_channel, owner):
    _client, _merchant, user = owner
    result = inbound(store_channel, "السلام عليكم")
    services.conversation_take_over(merchant=store_channel.merchant, actor=None, conversation_id=result.conversation.id)
    follow = inbound(store_channel, "كم رسوم الشحن؟")
    assert process(follow) == "human_owned"
    assert answers(result.conversation) == []
    assert Message.objects.filter(direction="in", assistant_claimed_at__isnull=True).count() == 1


def test_hand_off_then_release_gives_the_conversation_back(store_channel):
    asked = inbound(store_channel, "ابي أكلم موظف")
    assert process(asked) == "answered"
    conversation = Conversation.objects.get(id=asked.conversation.id)
    assert conversation.status == "waiting_human"
    assert AnswerGap.objects.filter(reason="human_request").count() == 1
    waiting = inbound(store_channel, "كم رسوم الشحن؟")
    assert process(waiting) == "human_owned"
    services.conversation_release(merchant=store_channel.merchant, actor=None, conversation_id=conversation.id)
    again = inbound(store_channel, "وش طرق الدفع؟")
    assert process(again) == "answered"
    assert len(answers(conversation)) == 2  # the hand-off notice and the new answer


def test_customer_can_ask_for_the_bot_back_while_waiting(store_channel):
    asked = inbound(store_channel, "ابي أكلم موظف")
    process(asked)
    back = inbound(store_channel, "ابي البوت")
    assert process(back) == "answered"
    assert Conversation.objects.get(id=asked.conversation.id).status == "bot"


def test_closed_conversation_reopens_and_is_answered(store_channel):
    result = inbound(store_channel, "شكرا")
    process(result)
    services.conversation_close(merchant=store_channel.merchant, actor=None, conversation_id=result.conversation.id)
    again = inbound(store_channel, "كم رسوم الشحن؟")
    assert again.conversation.status == "bot"
    assert process(again) == "answered"


def test_an_agent_taking_over_mid_turn_wins(store_channel):
    result = inbound(store_channel, "كم رسوم الشحن؟")
    Conversation.objects.filter(id=result.conversation.id).update(status="human")
    reply = services.reply_send(conversation=result.conversation, reply=services.Reply(text="late bot answer"))
    assert reply is None


def test_empty_message_is_stored_but_not_answered(store_channel):
    result = inbound(store_channel, "")
    assert result.created and result.message.text == ""
    assert process(result) == "answered"  # a friendly prompt, not silence and not a failure


def test_attachment_only_message_gets_an_honest_reply(store_channel):
    result = inbound(store_channel, "", attachments=[{"type": "image", "url": "https://x.example/a.jpg"}])
    process(result)
    assert "نص" in answers(result.conversation)[0].text or "text" in answers(result.conversation)[0].text


def test_deleted_contact_conversation_is_still_answered(store_channel, owner):
    result = inbound(store_channel, "hi", contact_name="Sara")
    process(result)
    services.contact_delete(merchant=store_channel.merchant, actor=None, contact_id=result.conversation.contact_id)
    again = inbound(store_channel, "كم رسوم الشحن؟")
    assert process(again) == "answered"


def test_first_response_metric_is_observed(store_channel):
    from kaleem import metrics

    before = metrics.FIRST_RESPONSE_SECONDS.labels(channel="webchat")._sum.get()
    process(inbound(store_channel, "كم رسوم الشحن؟"))
    assert metrics.FIRST_RESPONSE_SECONDS.labels(channel="webchat")._sum.get() >= before


def test_a_question_split_over_a_burst_is_read_as_one(store_channel):
    inbound(store_channel, "السلام عليكم")
    inbound(store_channel, "كم")
    last = inbound(store_channel, "رسوم الشحن؟")
    assert process(last) == "answered"
    replies = answers(last.conversation)
    assert len(replies) == 1 and "25" in replies[0].text


def test_hand_off_after_an_unanswered_question_records_that_question(store_channel):
    process(inbound(store_channel, "هل عندكم برنامج ولاء ونقاط؟"))
    process(inbound(store_channel, "ابي أكلم موظف"))
    gap = AnswerGap.objects.get(reason="human_request")
    assert gap.question == "هل عندكم برنامج ولاء ونقاط؟"


def test_the_customer_who_ordered_gets_the_status_without_a_phone_check(store_channel):
    import re

    for text in ["عندكم عبايات؟", "حطه في السلة", "ابي أكمل الطلب", "سارة", "0551234567", "جدة", "حي الروضة", "نعم"]:
        last = inbound(store_channel, text)
        process(last)
    number = re.search(r"K-\d+", answers(last.conversation)[-1].text).group(0)
    asked = inbound(store_channel, f"وين طلبي {number}؟")
    process(asked)
    reply = answers(asked.conversation)[-1].text
    assert number in reply and "رقم الجوال" not in reply


def test_the_claim_is_written_with_the_reply_so_a_turn_that_finds_its_message_taken_writes_nothing(store_channel):
    """The messages are claimed in the reply's transaction, after the thinking: a turn whose message was
    answered meanwhile by another keeps nothing (no reply, no event, no caller writes)."""
    result = inbound(store_channel, "كم رسوم الشحن؟")
    assert result.conversation_created
    Message.objects.filter(id=result.message.id).update(assistant_claimed_at=timezone.now())  # the other turn
    caller_writes = []
    outcome = conversation_turn_process(
        conversation_id=result.conversation.id,
        message_id=result.message.id,
        recorded=result,  # the caller's own record: not read back
        with_reply=lambda: caller_writes.append(1),
    )
    assert outcome == "already_answered"
    assert answers(result.conversation) == [] and caller_writes == []
    assert not OutboxEvent.objects.filter(event_type="message.outbound").exists()


def test_a_turn_given_the_callers_record_answers_and_runs_the_callers_writes_in_its_transaction(store_channel):
    result = inbound(store_channel, "كم رسوم الشحن؟")
    ran_in_transaction = []

    def caller_writes():
        from django.db import connection

        ran_in_transaction.append(connection.in_atomic_block)

    replies = []
    outcome = conversation_turn_process(
        conversation_id=result.conversation.id,
        message_id=result.message.id,
        replies=replies,
        recorded=result,
        with_reply=caller_writes,
    )
    assert outcome == "answered" and ran_in_transaction == [True]
    [reply] = answers(result.conversation)
    assert [m.id for m in replies] == [reply.id] and "25" in reply.text
    message = Message.objects.get(id=result.message.id)
    assert message.assistant_claimed_at is not None and message.intent  # claim and intent in one write
    assert process(result) == "nothing"  # the claim holds: never answered twice


def test_a_follow_up_with_an_earlier_unanswered_message_answers_the_burst(store_channel):
    """Only a conversation that began with the message skips reading the pending ones: a follow-up reads
    them, so a message left unanswered earlier (say its turn failed) is answered with the next one."""
    first = inbound(store_channel, "السلام عليكم")  # never answered
    second = inbound(store_channel, "كم رسوم الشحن؟")
    assert not second.conversation_created
    assert (
        conversation_turn_process(conversation_id=second.conversation.id, message_id=second.message.id, recorded=second)
        == "answered"
    )
    assert len(answers(second.conversation)) == 1
    claimed = Message.objects.filter(id__in=[first.message.id, second.message.id], assistant_claimed_at__isnull=False)
    assert claimed.count() == 2
