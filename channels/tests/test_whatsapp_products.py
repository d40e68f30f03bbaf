"""WhatsApp product messages: with the store's commerce catalog id set, product cards go out as native
`product` / `product_list` interactive messages (retailer id = SKU); otherwise as images."""

import pytest

from channels.tests.conftest import make_channel
from conversations.services import Reply, record_inbound, reply_send

pytestmark = pytest.mark.django_db


def _card(i: int, sku: str | None = None) -> dict:
    card = {"type": "product", "id": f"p{i}", "title": f"عباية {i}", "price": "199.00", "currency": "SAR"}
    card["image_url"] = f"https://cdn.example.com/p{i}.jpg"
    if sku is not None:
        card["sku"] = sku
    return card


def _send(channel, capture, text, elements):
    conversation = record_inbound(
        merchant=channel.merchant,
        channel=channel,
        external_id="966551234567",
        text="ابغى عباية",
        provider_message_id="in-1",
    ).conversation
    with capture(execute=True):
        message = reply_send(conversation=conversation, reply=Reply(text=text, elements=elements))
    message.refresh_from_db()
    return message


def test_single_product_is_a_native_product_message(fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake, catalog_id="1234567890")
    message = _send(channel, django_capture_on_commit_callbacks, "هذه عباية تناسبك", [_card(1, "ABY-001")])
    text, product = fake.sends_for("whatsapp")
    assert text.body["type"] == "text"
    assert product.body["type"] == "interactive"
    assert product.body["interactive"] == {
        "type": "product",
        "action": {"catalog_id": "1234567890", "product_retailer_id": "ABY-001"},
    }
    assert message.delivery_status == "sent"


def test_several_products_are_a_product_list_and_cards_without_sku_stay_images(
    fake, django_capture_on_commit_callbacks
):
    channel = make_channel("whatsapp", fake, catalog_id="1234567890")
    cards = [_card(i, f"ABY-{i:03d}") for i in range(35)] + [_card(99)]
    _send(channel, django_capture_on_commit_callbacks, "Here are some abayas", cards)
    sends = fake.sends_for("whatsapp")
    assert [s.body["type"] for s in sends] == ["text", "interactive", "image"]
    interactive = sends[1].body["interactive"]
    assert interactive["type"] == "product_list"
    assert interactive["header"]["type"] == "text" and interactive["header"]["text"] == "Suggested products"
    assert interactive["body"]["text"]
    [section] = interactive["action"]["sections"]
    assert interactive["action"]["catalog_id"] == "1234567890" and len(section["title"]) <= 24
    items = section["product_retailer_items"]
    assert len(items) == 30 and items[0] == {"product_retailer_id": "ABY-000"}  # WhatsApp's limit
    assert sends[2].body["image"]["link"] == "https://cdn.example.com/p99.jpg"


def test_without_a_catalog_id_products_are_images(fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    _send(channel, django_capture_on_commit_callbacks, "هذه عباية", [_card(1, "ABY-001")])
    assert [s.body["type"] for s in fake.sends_for("whatsapp")] == ["text", "image"]
