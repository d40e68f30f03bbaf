"""Outbound: native rendering per provider, rate-limit/retry behaviour, dead letters and replay, window."""

from datetime import timedelta

import pytest
from django.utils import timezone

from channels.models import DeadLetter, OutboundDelivery
from channels.services import dead_letter_replay, message_deliver
from channels.tests.conftest import inbound_conversation, make_channel
from conversations.models import Message
from conversations.services import Reply, reply_send

pytestmark = pytest.mark.django_db

PRODUCT = {
    "type": "product",
    "id": "p1",
    "sku": "SKU-1001",
    "title": "فستان سهرة أسود",
    "price": "299.00",
    "currency": "SAR",
    "image_url": "https://cdn.example.com/p1.jpg",
    "in_stock": True,
}


def _reply(capture, conversation, text="أهلاً بك! هذه اقتراحاتنا", elements=None) -> Message:
    with capture(execute=True):
        message = reply_send(conversation=conversation, reply=Reply(text=text, elements=elements or []))
    message.refresh_from_db()
    return message


def test_telegram_text_with_inline_keyboard_and_photo_card(fake, django_capture_on_commit_callbacks):
    channel = make_channel("telegram", fake)
    conversation = inbound_conversation(channel, "730055112")
    elements = [PRODUCT, {"type": "quick_reply", "title": "المقاسات", "payload": "sizes:" + "x" * 100}]
    message = _reply(django_capture_on_commit_callbacks, conversation, elements=elements)
    sends = fake.sends_for("telegram")
    assert [s.path for s in sends] == ["sendMessage", "sendPhoto"]
    text = sends[0].body
    assert text["chat_id"] == "730055112" and text["text"].startswith("أهلاً")
    button = text["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "المقاسات" and len(button["callback_data"].encode()) <= 64
    assert sends[1].body["photo"] == PRODUCT["image_url"] and "299.00 SAR" in sends[1].body["caption"]
    assert message.delivery_status == "sent" and message.provider_message_id.startswith("m:730055112:")


def test_whatsapp_buttons_list_and_long_text(fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    conversation = inbound_conversation(channel)
    three = [{"type": "quick_reply", "title": f"خيار رقم {i} طويل جداً جداً", "payload": f"opt{i}"} for i in range(3)]
    _reply(django_capture_on_commit_callbacks, conversation, text="اختر:", elements=three)
    [send] = fake.sends_for("whatsapp")
    interactive = send.body["interactive"]
    assert send.body["type"] == "interactive" and interactive["type"] == "button"
    assert all(len(b["reply"]["title"]) <= 20 for b in interactive["action"]["buttons"])
    fake.reset()
    five = [{"type": "quick_reply", "title": f"مقاس {i}", "payload": f"s{i}"} for i in range(5)]
    _reply(django_capture_on_commit_callbacks, conversation, text="ا" * 1500, elements=five)
    sends = fake.sends_for("whatsapp")
    assert [s.body["type"] for s in sends] == ["text", "interactive"]
    assert all(len(s.body.get("text", {}).get("body", "")) <= 1024 for s in sends)
    assert sends[1].body["interactive"]["type"] == "list"
    assert len(sends[1].body["interactive"]["action"]["sections"][0]["rows"]) == 5


def test_whatsapp_product_image(fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    _reply(django_capture_on_commit_callbacks, inbound_conversation(channel), text="هذا ما وجدته", elements=[PRODUCT])
    sends = fake.sends_for("whatsapp")
    assert [s.body["type"] for s in sends] == ["text", "image"]
    assert sends[1].body["image"]["link"] == PRODUCT["image_url"]
    assert sends[0].headers["Authorization"] == "Bearer wa-token"


def test_messenger_quick_replies_and_generic_carousel(fake, django_capture_on_commit_callbacks):
    channel = make_channel("messenger", fake)
    conversation = inbound_conversation(channel, "6543210987654321")
    cards = [{**PRODUCT, "id": f"p{i}", "sku": f"SKU-{i}", "url": f"https://shop.example.com/p/{i}"} for i in range(12)]
    elements = [*cards, {"type": "quick_reply", "title": "المزيد", "payload": "more"}]
    _reply(django_capture_on_commit_callbacks, conversation, elements=elements)
    sends = fake.sends_for("messenger")
    assert sends[0].body["message"]["quick_replies"][0]["payload"] == "more"
    assert sends[0].query["access_token"] == ["page-token"]
    template = sends[1].body["message"]["attachment"]["payload"]
    assert template["template_type"] == "generic" and len(template["elements"]) == 10
    assert all(len(e["buttons"]) <= 3 and len(e["title"]) <= 80 for e in template["elements"])


def test_instagram_text_limited_in_bytes(fake, django_capture_on_commit_callbacks):
    channel = make_channel("instagram", fake)
    _reply(django_capture_on_commit_callbacks, inbound_conversation(channel, "998877665544332"), text="مرحبا " * 300)
    sends = fake.sends_for("instagram")
    assert sends and all(len(s.body["message"]["text"].encode()) <= 1000 for s in sends)
    assert sends[0].headers["Authorization"] == "Bearer ig-token"


def test_provider_429_with_retry_after_then_success(fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    conversation = inbound_conversation(channel)
    fake.fail_next(429, retry_after=0.3)
    started = timezone.now()
    message = _reply(django_capture_on_commit_callbacks, conversation)
    assert (timezone.now() - started).total_seconds() >= 0.3  # Retry-After honoured
    assert len(fake.sends_for("whatsapp")) == 1
    assert message.delivery_status == "sent"


def test_telegram_429_retry_after_in_body(fake, django_capture_on_commit_callbacks):
    channel = make_channel("telegram", fake)
    fake.fail_next(
        429,
        retry_after=None,
        body={"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 0.2}},
    )
    message = _reply(django_capture_on_commit_callbacks, inbound_conversation(channel, "1"))
    assert message.delivery_status == "sent" and len(fake.sends_for("telegram")) == 1


def test_provider_down_retries_then_dead_letter_then_replay(fake, django_capture_on_commit_callbacks, settings):
    settings.PROVIDER_BREAKER_THRESHOLD = 100
    channel = make_channel("whatsapp", fake)
    conversation = inbound_conversation(channel)
    fake.fail_next(500, times=50)
    message = _reply(django_capture_on_commit_callbacks, conversation)
    assert message.delivery_status == "failed"
    dead = DeadLetter.objects.get(channel=channel)
    assert dead.status_code == 500 and dead.state == DeadLetter.State.OPEN
    assert OutboundDelivery.objects.get(message_id=message.id).state == OutboundDelivery.State.DEAD
    assert fake.sends_for("whatsapp") == []
    fake.reset()  # provider back up
    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_replay(merchant=channel.merchant, dead_letter_id=dead.id)
    message.refresh_from_db()
    assert message.delivery_status == "sent"
    assert len(fake.sends_for("whatsapp")) == 1
    assert message_deliver(message_id=message.id) == "sent"  # idempotent afterwards
    assert len(fake.sends_for("whatsapp")) == 1


def test_hopeless_4xx_not_retried_goes_straight_to_dead_letter(fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    fake.fail_next(400, times=5, body={"error": {"message": "(#100) Invalid parameter", "code": 100}})
    message = _reply(django_capture_on_commit_callbacks, inbound_conversation(channel))
    assert message.delivery_status == "failed"
    assert [c for c in fake.calls if c[0] == "POST"] == [("POST", "/106540352242922/messages")]  # one try only
    assert "Invalid parameter" in DeadLetter.objects.get(channel=channel).error


def test_provider_hang_times_out_and_is_retried(fake, django_capture_on_commit_callbacks, settings):
    settings.PROVIDER_HTTP_TIMEOUT = 0.3
    from kaleem import http

    http._local.__dict__.clear()  # the pooled client picks up the shorter timeout
    channel = make_channel("telegram", fake)
    fake.hang_next(1.0)
    message = _reply(django_capture_on_commit_callbacks, inbound_conversation(channel, "42"))
    http._local.__dict__.clear()
    assert message.delivery_status == "sent"


def test_circuit_opens_after_repeated_failures(fake, django_capture_on_commit_callbacks, settings):
    settings.PROVIDER_BREAKER_THRESHOLD = 2
    settings.PROVIDER_BREAKER_COOLDOWN = 60
    channel = make_channel("whatsapp", fake)
    conversation = inbound_conversation(channel)
    fake.fail_next(503, times=100)
    _reply(django_capture_on_commit_callbacks, conversation)
    calls_after_first = len(fake.calls)
    second = _reply(django_capture_on_commit_callbacks, conversation, text="again")
    assert len(fake.calls) == calls_after_first  # circuit open: no request reached the provider
    assert second.delivery_status == "failed"
    assert "circuit open" in DeadLetter.objects.filter(message_id=second.id).get().error


def test_a_success_resets_the_failure_count_of_the_circuit(settings):
    import uuid

    from kaleem.http import CircuitBreaker, CircuitOpenError

    settings.PROVIDER_BREAKER_THRESHOLD = 3
    key = f"test:{uuid.uuid4().hex}"
    failing = CircuitBreaker(key, provider="whatsapp")
    failing.record_failure()
    failing.record_failure()
    succeeding = CircuitBreaker(key, provider="whatsapp")
    succeeding.check()  # closed, but it sees the two failures
    succeeding.record_success()
    failing.record_failure()
    failing.record_failure()
    CircuitBreaker(key, provider="whatsapp").check()  # 2 since the success (4 without the reset): closed
    failing.record_failure()
    with pytest.raises(CircuitOpenError):
        CircuitBreaker(key, provider="whatsapp").check()


def test_meta_window_enforced_free_form_refused(fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    conversation = inbound_conversation(channel, inbound_at=timezone.now() - timedelta(hours=25))
    message = _reply(django_capture_on_commit_callbacks, conversation)
    assert message.delivery_status == "failed"
    assert "outside_customer_service_window" in message.delivery_error
    assert OutboundDelivery.objects.get(message_id=message.id).state == OutboundDelivery.State.REFUSED
    assert fake.sends_for("whatsapp") == []


def test_telegram_has_no_window(fake, django_capture_on_commit_callbacks):
    channel = make_channel("telegram", fake)
    conversation = inbound_conversation(channel, "7", inbound_at=timezone.now() - timedelta(days=3))
    assert _reply(django_capture_on_commit_callbacks, conversation).delivery_status == "sent"


def test_redelivered_outbox_event_sends_once(fake, django_capture_on_commit_callbacks):
    channel = make_channel("telegram", fake)
    message = _reply(django_capture_on_commit_callbacks, inbound_conversation(channel, "9"))
    for _ in range(3):
        assert message_deliver(message_id=message.id) == "sent"
    assert len(fake.sends_for("telegram")) == 1


def test_partial_multi_part_failure_replay_sends_only_the_rest(fake, django_capture_on_commit_callbacks):
    channel = make_channel("telegram", fake)
    conversation = inbound_conversation(channel, "11")
    fake.pass_next()  # the text part goes through
    fake.fail_next(400, body={"ok": False, "error_code": 400, "description": "Bad Request: wrong file identifier"})
    message = _reply(django_capture_on_commit_callbacks, conversation, text="hi", elements=[PRODUCT])
    assert message.delivery_status == "failed"
    assert [s.path for s in fake.sends_for("telegram")] == ["sendMessage"]
    dead = DeadLetter.objects.get(message_id=message.id)
    assert "wrong file identifier" in dead.error
    with django_capture_on_commit_callbacks(execute=True):
        dead_letter_replay(merchant=channel.merchant, dead_letter_id=dead.id)
    assert [s.path for s in fake.sends_for("telegram")] == ["sendMessage", "sendPhoto"]  # text not repeated
    message.refresh_from_db()
    assert message.delivery_status == "sent"


def test_two_merchants_outbound_go_to_their_own_credentials(fake, django_capture_on_commit_callbacks):
    a = make_channel("whatsapp", fake, access_token="token-a")
    b = make_channel("whatsapp", fake, access_token="token-b")
    _reply(django_capture_on_commit_callbacks, inbound_conversation(a), text="أ")
    _reply(django_capture_on_commit_callbacks, inbound_conversation(b), text="ب")
    sends = fake.sends_for("whatsapp")
    assert {(s.body["text"]["body"], s.headers["Authorization"]) for s in sends} == {
        ("أ", "Bearer token-a"),
        ("ب", "Bearer token-b"),
    }


def test_agent_note_is_never_sent(fake, django_capture_on_commit_callbacks):
    channel = make_channel("telegram", fake)
    conversation = inbound_conversation(channel, "12")
    note = Message.objects.create(
        merchant=channel.merchant,
        conversation=conversation,
        channel=channel,
        direction=Message.Direction.OUTBOUND,
        sender=Message.Sender.AGENT,
        kind=Message.Kind.NOTE,
        text="internal",
    )
    assert message_deliver(message_id=note.id) == "skipped"
    assert fake.sends_for("telegram") == []


def test_webchat_reply_is_published_not_sent_to_a_provider(fake, django_capture_on_commit_callbacks):
    channel = make_channel("webchat", fake)
    message = _reply(django_capture_on_commit_callbacks, inbound_conversation(channel, "visitor-1"))
    assert message.delivery_status == "sent"  # handed to the widget's live stream
    assert fake.calls == []
    assert not OutboundDelivery.objects.filter(message_id=message.id).exists()
