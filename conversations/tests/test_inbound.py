from datetime import timedelta

import pytest
from django.utils import timezone

from conversations import services
from conversations.models import Contact, Conversation, Message
from conversations.tests.factories import ChannelFactory
from kaleem.models import OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel():
    return ChannelFactory()


def inbound(channel, **kw):
    kw.setdefault("external_id", "visitor-1")
    return services.record_inbound(merchant=channel.merchant, channel=channel, **kw)


def test_first_message_creates_contact_conversation_and_message(channel):
    result = inbound(channel, text="مرحبا", provider_message_id="p1", contact_name="Sara")
    assert result.created
    assert result.message.direction == "in" and result.message.sender == "customer"
    assert result.conversation.status == "bot"
    assert result.conversation.unread_count == 1
    assert result.conversation.contact.name == "Sara"


def test_duplicate_provider_id_returns_stored_message(channel):
    first = inbound(channel, text="hello", provider_message_id="dup")
    again = inbound(channel, text="hello", provider_message_id="dup")
    assert again.created is False
    assert again.message.id == first.message.id
    assert Message.objects.filter(direction="in").count() == 1


def test_same_provider_id_on_another_channel_is_a_new_message(channel):
    other = ChannelFactory(merchant=channel.merchant)
    inbound(channel, text="a", provider_message_id="same")
    assert services.record_inbound(
        merchant=channel.merchant, channel=other, external_id="v", text="a", provider_message_id="same"
    ).created


def test_contact_pii_is_encrypted_at_rest(channel):
    result = inbound(channel, text="hi", contact_name="Huda Al-Harbi")
    raw = Contact.objects.filter(id=result.conversation.contact_id).values_list("name", flat=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM conversations_contact")  # raw read: what a DB dump shows
        stored = cursor.fetchone()[0]
    assert "Huda" not in stored and stored.startswith("enc:")
    assert list(raw) == ["Huda Al-Harbi"]


def test_one_conversation_per_channel_identity(channel):
    a = inbound(channel, text="one")
    b = inbound(channel, text="two")
    assert a.conversation.id == b.conversation.id
    assert Conversation.objects.count() == 1


def test_wrong_merchant_channel_is_not_found(channel):
    other = ChannelFactory()
    with pytest.raises(services.NotFoundError):
        services.record_inbound(merchant=channel.merchant, channel=other, external_id="x", text="hi")


def test_binary_looking_text_is_cleaned_and_kept(channel):
    result = inbound(channel, text="\x00\x01abc\x7f\x02")
    assert result.message.text == "abc"


def test_ten_thousand_characters_are_stored_whole(channel):
    result = inbound(channel, text="ب" * 10_000)
    assert len(result.message.text) == 10_000


def test_oversized_text_is_truncated_and_flagged(channel):
    result = inbound(channel, text="x" * 20_000)
    assert len(result.message.text) == services.MAX_STORED_TEXT
    assert result.message.meta["truncated"] is True


def test_closed_conversation_reopens_to_bot(channel, owner):
    _client, merchant, user = owner
    ch = ChannelFactory(merchant=merchant)
    first = services.record_inbound(merchant=merchant, channel=ch, external_id="v", text="hi")
    services.conversation_close(merchant=merchant, actor=user, conversation_id=first.conversation.id)
    again = services.record_inbound(merchant=merchant, channel=ch, external_id="v", text="back again")
    assert again.conversation.status == "bot"


def test_deleted_contact_keeps_messages_and_gets_a_new_contact(owner):
    _client, merchant, user = owner
    ch = ChannelFactory(merchant=merchant)
    first = services.record_inbound(merchant=merchant, channel=ch, external_id="v", text="hi", contact_name="A")
    services.contact_delete(merchant=merchant, actor=user, contact_id=first.conversation.contact_id)
    assert Message.objects.filter(conversation=first.conversation).count() >= 1
    again = services.record_inbound(merchant=merchant, channel=ch, external_id="v", text="still here")
    assert again.conversation.id == first.conversation.id
    assert again.conversation.contact_id is not None
    assert again.conversation.contact_id != first.conversation.contact_id


def test_outbound_reply_emits_outbox_event_and_mark_sent(channel):
    result = inbound(channel, text="hi")
    msg = services.reply_send(
        conversation=result.conversation, reply=services.Reply(text="أهلاً"), reply_to=result.message
    )
    event = OutboxEvent.objects.filter(event_type="message.outbound", payload__message_id=str(msg.id)).first()
    assert event is not None
    assert event.payload == {
        "message_id": str(msg.id),
        "conversation_id": str(result.conversation.id),
        "channel_id": str(channel.id),
    }
    assert services.message_mark_sent(message_id=msg.id, provider_message_id="out-1", sent_at=timezone.now())
    assert services.message_mark_delivery(
        merchant=channel.merchant, channel=channel, provider_message_id="out-1", status="read", at=timezone.now()
    )
    # a late "delivered" receipt never downgrades "read"
    assert not services.message_mark_delivery(
        merchant=channel.merchant,
        channel=channel,
        provider_message_id="out-1",
        status="delivered",
        at=timezone.now() + timedelta(seconds=1),
    )
    msg.refresh_from_db()
    assert msg.delivery_status == "read" and msg.delivered_at and msg.read_at


def test_automation_events_are_emitted_once_per_fact(channel):
    """conversation.created / message.received / handoff.requested reach the outbox (and so the
    merchant's automation subscriptions) in the same transaction as the change, never twice."""
    first = inbound(channel, text="عندكم عبايات؟", provider_message_id="e1")
    inbound(channel, text="عندكم عبايات؟", provider_message_id="e1")  # provider re-delivery
    inbound(channel, text="وبالأسود؟", provider_message_id="e2")
    events = OutboxEvent.objects.filter(merchant=channel.merchant)
    created = events.filter(event_type="conversation.created")
    received = events.filter(event_type="message.received").order_by("created_at")
    assert created.count() == 1
    assert created.get().payload["conversation_id"] == str(first.conversation.id)
    assert [e.payload["text"] for e in received] == ["عندكم عبايات؟", "وبالأسود؟"]
    assert services.conversation_handoff(conversation=first.conversation, reason="human_request")
    assert not services.conversation_handoff(conversation=first.conversation, reason="human_request")
    handoffs = events.filter(event_type="handoff.requested")
    assert handoffs.count() == 1
    assert handoffs.get().payload == {
        "conversation_id": str(first.conversation.id),
        "channel_id": str(channel.pk),
        "reason": "human_request",
    }


def test_first_message_is_one_transaction_and_a_follow_up_three_writes(channel, django_assert_max_num_queries):
    # first: conversation lookup, then contact, identity, name index, conversation, two events, message
    with django_assert_max_num_queries(10):  # incl. the savepoint pair of the test's transaction
        first = inbound(channel, text="hi", contact_name="Sara", provider_message_id="q1")
    # follow-up: conversation lookup, message, one conditional conversation update, event
    with django_assert_max_num_queries(6):
        second = inbound(channel, text="again", provider_message_id="q2")
    assert second.conversation.id == first.conversation.id
    assert second.conversation.unread_count == 2 == Conversation.objects.get().unread_count
    assert second.conversation.latest_inbound_id == second.message.id
    assert list(OutboxEvent.objects.order_by("created_at").values_list("event_type", flat=True)) == [
        "conversation.created",
        "message.received",
        "message.received",
    ]


def test_a_known_sender_without_a_conversation_keeps_their_contact(channel):
    """The one-transaction first message meets an existing identity (its conversation was deleted):
    it rolls back whole and the general path links the new conversation to the known contact."""
    first = inbound(channel, text="hi", contact_name="Sara", provider_message_id="k1")
    contact_id = first.conversation.contact_id
    Conversation.objects.filter(id=first.conversation.id).delete()
    again = inbound(channel, text="back", provider_message_id="k2")
    assert again.created and again.conversation.id != first.conversation.id
    assert again.conversation.contact_id == contact_id and Contact.objects.count() == 1
    assert Message.objects.get(provider_message_id="k2").conversation_id == again.conversation.id
    assert OutboxEvent.objects.filter(event_type="conversation.created").count() == 2
