"""Delivery policies: a part whose provider call was interrupted is never re-sent silently (unknown
delivery → dead letter → operator decides); Messenger/Instagram HUMAN_AGENT tag for agent replies
between 24 h and 7 days; replies sent straight from the worker with the outbox as the fallback."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from channels.models import DeadLetter, OutboundDelivery
from channels.services import dead_letter_replay, message_deliver, outbox_messages_outbound
from channels.tests.conftest import inbound_conversation, make_channel, meta_raw, meta_sign
from conversations.models import Message
from conversations.services import Reply, agent_reply_send, record_inbound, reply_send
from kaleem.models import OutboxEvent
from kaleem.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def _interrupted_delivery(message, *, claimed_ago: float, parts_sent: int = 0) -> OutboundDelivery:
    """The row a worker leaves when it is SIGKILLed during a part's provider call (the real kill is
    exercised in test_worker.py): claimed, part `parts_sent` marked in flight, never confirmed."""
    started = timezone.now() - timedelta(seconds=claimed_ago)
    return OutboundDelivery.objects.create(
        merchant_id=message.merchant_id,
        channel_id=message.channel_id,
        message_id=message.id,
        conversation_id=message.conversation_id,
        state=OutboundDelivery.State.SENDING,
        claimed_at=started,
        claim_token=uuid.uuid4(),
        attempts=1,
        parts_sent=parts_sent,
        part_started_at=started,
    )


def _outbound_event(message) -> OutboxEvent:
    [event] = [
        e
        for e in OutboxEvent.objects.filter(event_type="message.outbound")
        if e.payload["message_id"] == str(message.id)
    ]
    return event


# ------------------------------------------------------------------ exactly once


def test_part_in_flight_when_worker_died_is_not_resent_but_surfaced_as_unknown(fake, settings):
    settings.OUTBOUND_CLAIM_TIMEOUT = 30
    channel = make_channel("whatsapp", fake)
    message = reply_send(conversation=inbound_conversation(channel), reply=Reply(text="سعر التوصيل 25 ريال"))
    delivery = _interrupted_delivery(message, claimed_ago=31)

    assert message_deliver(message_id=message.id) == OutboundDelivery.State.UNKNOWN
    assert fake.sends_for("whatsapp") == []  # the customer may already have it: no automatic resend
    delivery.refresh_from_db()
    assert delivery.state == OutboundDelivery.State.UNKNOWN and delivery.last_error.startswith("unknown_delivery")
    dead = DeadLetter.objects.get(message_id=message.id)
    assert dead.state == DeadLetter.State.OPEN and "may or may not have delivered" in dead.error
    message.refresh_from_db()
    assert message.delivery_status == "failed" and message.delivery_error.startswith("unknown_delivery")
    # redeliveries of the task (or the outbox event) change nothing
    assert message_deliver(message_id=message.id) == OutboundDelivery.State.UNKNOWN
    assert DeadLetter.objects.filter(message_id=message.id).count() == 1 and fake.sends_for("whatsapp") == []


def test_operator_replay_of_an_unknown_delivery_sends_it_once(fake, settings, django_capture_on_commit_callbacks):
    settings.OUTBOUND_CLAIM_TIMEOUT = 30
    channel = make_channel("telegram", fake)
    message = reply_send(conversation=inbound_conversation(channel, "4242"), reply=Reply(text="hello"))
    _interrupted_delivery(message, claimed_ago=60)
    assert message_deliver(message_id=message.id) == OutboundDelivery.State.UNKNOWN
    dead = DeadLetter.objects.get(message_id=message.id)
    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_replay(merchant=channel.merchant, dead_letter_id=dead.id)
    assert [s.body["text"] for s in fake.sends_for("telegram")] == ["hello"]
    message.refresh_from_db()
    assert message.delivery_status == "sent"
    assert OutboundDelivery.objects.get(message_id=message.id).state == OutboundDelivery.State.SENT


def test_later_part_in_flight_keeps_the_parts_already_accepted(fake, settings):
    settings.OUTBOUND_CLAIM_TIMEOUT = 30
    channel = make_channel("telegram", fake)
    product = {"type": "product", "id": "p1", "title": "فستان", "price": "10", "image_url": "https://x.example/p.jpg"}
    message = reply_send(
        conversation=inbound_conversation(channel, "77"), reply=Reply(text="هذا ما وجدته", elements=[product])
    )
    _interrupted_delivery(message, claimed_ago=45, parts_sent=1)  # text accepted, photo in flight
    assert message_deliver(message_id=message.id) == OutboundDelivery.State.UNKNOWN
    assert "part 2" in DeadLetter.objects.get(message_id=message.id).error
    assert fake.sends_for("telegram") == []


def test_claim_still_fresh_means_another_worker_is_sending(fake, settings):
    settings.OUTBOUND_CLAIM_TIMEOUT = 30
    channel = make_channel("whatsapp", fake)
    message = reply_send(conversation=inbound_conversation(channel), reply=Reply(text="x"))
    _interrupted_delivery(message, claimed_ago=1)
    assert message_deliver(message_id=message.id) == "busy"
    assert fake.sends_for("whatsapp") == [] and not DeadLetter.objects.exists()


def test_stale_claim_without_a_part_in_flight_is_resumed(fake, settings):
    """A worker that died before calling the provider (or between parts) is simply taken over."""
    settings.OUTBOUND_CLAIM_TIMEOUT = 30
    channel = make_channel("whatsapp", fake)
    message = reply_send(conversation=inbound_conversation(channel), reply=Reply(text="resume me"))
    delivery = _interrupted_delivery(message, claimed_ago=31)
    OutboundDelivery.objects.filter(id=delivery.id).update(part_started_at=None)
    assert message_deliver(message_id=message.id) == OutboundDelivery.State.SENT
    assert [s.body["text"]["body"] for s in fake.sends_for("whatsapp")] == ["resume me"]


def test_accepted_part_answered_late_is_recorded_once(fake, settings, django_capture_on_commit_callbacks):
    """The provider accepts, answers slowly (inside the HTTP timeout): one send, recorded as sent."""
    channel = make_channel("messenger", fake)
    conversation = inbound_conversation(channel, "6543210987654321")
    fake.accept_then_hang_next(0.3)
    with django_capture_on_commit_callbacks(execute=True):
        message = reply_send(conversation=conversation, reply=Reply(text="late answer"))
    message.refresh_from_db()
    assert message.delivery_status == "sent" and len(fake.sends_for("messenger")) == 1
    delivery = OutboundDelivery.objects.get(message_id=message.id)
    assert delivery.part_started_at is None and delivery.claim_token is None and delivery.parts_sent == 1


# ------------------------------------------------------------------ direct send + outbox fallback


def test_webhook_answered_and_sent_by_the_processing_worker_once(
    client, fake, settings, django_capture_on_commit_callbacks
):
    """Quiet period 0: processing, the assistant's turn and the send happen in one task; the outbox
    event relayed afterwards finds the delivery taken and queues nothing."""
    settings.ASSISTANT_QUIET_PERIOD_SECONDS = 0
    channel = make_channel("whatsapp", fake)
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "966500000001", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "سارة"}, "wa_id": "966551112233"}],
        "messages": [
            {
                "from": "966551112233",
                "id": "wamid.DIRECT1",
                "timestamp": "1763700000",
                "type": "text",
                "text": {"body": "السلام عليكم"},
            }
        ],
    }
    raw = meta_raw(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/webhooks/whatsapp/{channel.public_key}",
            data=raw,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=meta_sign(raw),
        )
    assert response.status_code == 200
    sends = fake.sends_for("whatsapp")
    assert len(sends) == 1 and sends[0].body["to"] == "966551112233"
    reply = Message.objects.get(channel=channel, direction=Message.Direction.OUTBOUND)
    assert reply.delivery_status == "sent"
    assert OutboundDelivery.objects.get(message_id=reply.id).attempts == 1
    # the relay's copy of the event (at-least-once) is a no-op
    event = _outbound_event(reply)
    outbox_messages_outbound([event, event])
    assert len(fake.sends_for("whatsapp")) == 1


def test_outbox_fallback_sends_a_reply_nobody_sent(fake):
    """A reply written but never sent (its worker died right after the commit) goes out through
    the outbox handler."""
    channel = make_channel("telegram", fake)
    message = reply_send(conversation=inbound_conversation(channel, "88"), reply=Reply(text="fallback"))
    assert fake.sends_for("telegram") == []
    event = _outbound_event(message)
    outbox_messages_outbound([event])  # eager Celery in tests: the queued send runs inline
    assert [s.body["text"] for s in fake.sends_for("telegram")] == ["fallback"]


# ------------------------------------------------------------------ HUMAN_AGENT tag


@pytest.mark.parametrize("kind,recipient", [("messenger", "6543210987654321"), ("instagram", "998877665544332")])
def test_agent_reply_between_24h_and_7_days_carries_the_human_agent_tag(
    kind, recipient, fake, django_capture_on_commit_callbacks
):
    channel = make_channel(kind, fake)
    conversation = inbound_conversation(channel, recipient, inbound_at=timezone.now() - timedelta(days=3))
    agent = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        message = agent_reply_send(
            merchant=channel.merchant, actor=agent, conversation_id=conversation.id, text="نعتذر عن التأخير"
        )
    [send] = fake.sends_for(kind)
    assert send.body["messaging_type"] == "MESSAGE_TAG" and send.body["tag"] == "HUMAN_AGENT"
    assert send.body["recipient"] == {"id": recipient} and send.body["message"]["text"] == "نعتذر عن التأخير"
    message.refresh_from_db()
    assert message.delivery_status == "sent"


def test_agent_reply_inside_24h_is_a_plain_response(fake, django_capture_on_commit_callbacks):
    channel = make_channel("messenger", fake)
    conversation = inbound_conversation(channel, "111", inbound_at=timezone.now() - timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        agent_reply_send(merchant=channel.merchant, actor=UserFactory(), conversation_id=conversation.id, text="hi")
    [send] = fake.sends_for("messenger")
    assert send.body["messaging_type"] == "RESPONSE" and "tag" not in send.body


def test_agent_reply_after_7_days_is_refused_with_a_clear_state(fake, django_capture_on_commit_callbacks):
    channel = make_channel("messenger", fake)
    conversation = inbound_conversation(channel, "222", inbound_at=timezone.now() - timedelta(days=7, minutes=5))
    with django_capture_on_commit_callbacks(execute=True):
        message = agent_reply_send(
            merchant=channel.merchant, actor=UserFactory(), conversation_id=conversation.id, text="late"
        )
    assert fake.calls == []
    message.refresh_from_db()
    assert message.delivery_status == "failed" and message.delivery_error.startswith("outside_human_agent_window")
    delivery = OutboundDelivery.objects.get(message_id=message.id)
    assert delivery.state == OutboundDelivery.State.REFUSED and delivery.last_error == "outside_human_agent_window"


def test_bot_reply_after_24h_gets_no_tag_and_is_refused(fake, django_capture_on_commit_callbacks):
    channel = make_channel("instagram", fake)
    conversation = inbound_conversation(channel, "333", inbound_at=timezone.now() - timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        message = reply_send(conversation=conversation, reply=Reply(text="bot"))
    assert fake.calls == []
    message.refresh_from_db()
    assert "outside_customer_service_window" in message.delivery_error


def test_whatsapp_agent_reply_after_24h_still_needs_a_template(fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    conversation = inbound_conversation(channel, inbound_at=timezone.now() - timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=True):
        message = agent_reply_send(
            merchant=channel.merchant, actor=UserFactory(), conversation_id=conversation.id, text="hello"
        )
    assert fake.calls == []
    message.refresh_from_db()
    assert "outside_customer_service_window" in message.delivery_error
    assert json.dumps(message.delivery_error)  # a readable reason, not a provider error body


def test_inline_turn_interrupted_before_answering_is_answered_by_the_sweep(
    client, fake, settings, django_capture_on_commit_callbacks
):
    """Quiet period 0: the worker recorded the message and died before the assistant answered. The
    event was left PROCESSING; once the claim is stale it is processed again and answered once."""
    from channels.models import WebhookEvent
    from channels.services import webhook_events_process
    from channels.tests.conftest import wa_text

    settings.ASSISTANT_QUIET_PERIOD_SECONDS = 0
    settings.WEBHOOK_PROCESSING_TIMEOUT = 5
    channel = make_channel("whatsapp", fake)
    raw = meta_raw(wa_text(text="ما هي سياسة الإرجاع؟"))
    with django_capture_on_commit_callbacks(execute=False):  # the processing task never ran
        assert (
            client.post(
                f"/webhooks/whatsapp/{channel.public_key}",
                data=raw,
                content_type="application/json",
                HTTP_X_HUB_SIGNATURE_256=meta_sign(raw),
            ).status_code
            == 200
        )
    event = WebhookEvent.objects.get(channel=channel)
    # what the killed worker left: the message recorded (no turn scheduled), the event still claimed
    record_inbound(
        merchant=channel.merchant,
        channel=channel,
        external_id="966551234567",
        text="ما هي سياسة الإرجاع؟",
        provider_message_id=event.provider_event_id,
        schedule_turn=False,
    )
    WebhookEvent.objects.filter(id=event.id).update(
        state=WebhookEvent.State.PROCESSING, claimed_at=timezone.now() - timedelta(seconds=6), claim_token=uuid.uuid4()
    )
    assert webhook_events_process(event_ids=[str(event.id)]) == 1
    assert len(fake.sends_for("whatsapp")) == 1
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.DONE
    assert Message.objects.filter(channel=channel, direction=Message.Direction.INBOUND).count() == 1
    assert webhook_events_process(event_ids=[str(event.id)]) == 0  # nothing left: no second answer
    assert len(fake.sends_for("whatsapp")) == 1


def test_outbound_event_with_malformed_ids_is_skipped_not_fatal(fake):
    """A forged or broken outbox payload neither raises (which would retry the whole batch) nor
    stops the valid events of the same batch."""
    channel = make_channel("telegram", fake)
    message = reply_send(conversation=inbound_conversation(channel, "99"), reply=Reply(text="still sent"))
    good = _outbound_event(message)
    bad = OutboxEvent(event_type="message.outbound", payload={"message_id": "nope", "channel_id": None})
    outbox_messages_outbound([bad, good])
    assert [s.body["text"] for s in fake.sends_for("telegram")] == ["still sent"]
