"""Order through a real conversation (record_inbound → assistant turn task → commerce seam): a
double-submitted confirmation — two taps in one burst, and the task run twice — gives one order."""

import re

import pytest

from catalog.models import Order
from conversations import services
from conversations.assistant.turns import conversation_turn_process
from conversations.models import Message
from conversations.tests.conftest import make_products
from conversations.tests.factories import ChannelFactory
from kaleem.testing.factories import MerchantFactory

pytestmark = pytest.mark.django_db


def _inbound(channel, text):
    return services.record_inbound(merchant=channel.merchant, channel=channel, text=text, external_id="visitor-9")


def _process(result):
    return conversation_turn_process(conversation_id=result.conversation.id, message_id=result.message.id)


def _replies(conversation):
    return list(
        Message.objects.filter(conversation=conversation, direction="out", sender="assistant")
        .order_by("created_at")
        .values_list("text", flat=True)
    )


def test_double_submitted_checkout_in_chat_creates_one_order():
    merchant = MerchantFactory(name="متجر")
    make_products(merchant)
    channel = ChannelFactory(merchant=merchant, kind="webchat")
    for text in [
        "عندكم عبايات؟",
        "حطه في السلة",
        "ابي أكمل الطلب",
        "سارة أحمد",
        "٠٥٥١٢٣٤٥٦٧",
        "جدة",
        "حي الروضة شارع ٥",
    ]:
        last = _inbound(channel, text)
        _process(last)
    conversation = last.conversation
    summary = _replies(conversation)[-1]
    assert "سارة أحمد" in summary and "+966551234567" in summary and "جدة" in summary

    first = _inbound(channel, "نعم")
    second = _inbound(channel, "نعم")  # tapped twice before the bot answered: one burst
    _process(second)
    _process(first)  # the superseded task, and a redelivered one, change nothing
    _process(second)

    orders = list(Order.objects.for_merchant(merchant))
    assert len(orders) == 1
    order = orders[0]
    assert (order.source, order.customer_phone, order.shipping_city, order.conversation_id) == (
        "chat",
        "+966551234567",
        "جدة",
        conversation.id,
    )
    assert order.contact_id == conversation.contact_id
    placed, again = _replies(conversation)[-2:]
    assert order.number in placed and "تم تأكيد" in placed
    assert order.number in again and "ما أنشأت طلب ثاني" in again
    assert set(re.findall(r"K-\d+", " ".join(_replies(conversation)))) == {order.number}

    asked = _inbound(channel, f"وين طلبي {order.number}؟")
    _process(asked)
    assert order.number in _replies(conversation)[-1]
