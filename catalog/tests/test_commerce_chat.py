"""The assistant's commerce seam (catalog.commerce): cart from product cards, checkout dialogue in
Arabic and English with validation, one order for a double-submitted confirmation, checkout links
for synced stores, order status from the record."""

from decimal import Decimal

import pytest

from catalog import commerce_services
from catalog.commerce import cart_action_for_assistant, order_status_for_assistant
from catalog.models import Order
from catalog.tests.factories import ProductFactory
from kaleem.testing.factories import MerchantFactory


def _turn(merchant, state, text, action="reply", turn_id=None, language=""):
    return cart_action_for_assistant(
        merchant=merchant, action=action, state=state, text=text, turn_id=turn_id, language=language
    )


@pytest.fixture
def shop(db):
    merchant = MerchantFactory()
    first = ProductFactory(
        merchant=merchant, title_ar="عباية سوداء", title_en="Black abaya", price=Decimal("200"), stock=5
    )
    second = ProductFactory(
        merchant=merchant, title_ar="شماغ أحمر", title_en="Red shemagh", price=Decimal("80"), stock=3
    )
    return merchant, first, second


def test_add_view_change_quantity_and_remove_in_arabic(shop):
    merchant, first, second = shop
    state = {"shown": [str(first.id), str(second.id)], "language": "ar"}
    added = _turn(merchant, state, "ابي اشتري الثاني", action="cart_add")
    assert "شماغ أحمر" in added["text"] and "80" in added["text"]
    assert [e["payload"] for e in added["elements"]] == ["cart:view", "cart:checkout"]
    _turn(merchant, state, f"cart:add:{first.id}")
    view = _turn(merchant, state, "وش في سلتي", action="cart_view")
    assert "عباية سوداء" in view["text"] and "280" in view["text"]
    remove_payloads = [e["payload"] for e in view["elements"] if e["payload"].startswith("cart:remove:")]
    assert len(remove_payloads) == 2
    item_id = remove_payloads[1].split(":")[2]
    updated = _turn(merchant, state, f"cart:qty:{item_id}:2")
    assert "480" in updated["text"]  # 80 + 2 × 200
    removed = _turn(merchant, state, remove_payloads[0])
    assert "شماغ" in removed["text"] and "400" in removed["text"]
    too_many = _turn(merchant, state, f"cart:qty:{item_id}:9")
    assert "غير متوفرة" in too_many["text"]


def test_add_without_any_product_shown_asks_which(shop):
    merchant, _first, _second = shop
    reply = _turn(merchant, {"language": "en"}, "add it to my cart", action="cart_add")
    assert "Which product" in reply["text"]
    assert _turn(merchant, {"language": "en"}, "hello")["handled"] is False


def test_checkout_dialogue_in_english_validates_and_creates_one_order_for_a_double_confirm(shop):
    merchant, first, _second = shop
    state = {"shown": [str(first.id)], "language": "en"}
    _turn(merchant, state, "I'll take the first", action="cart_add")
    assert "full name" in _turn(merchant, state, "checkout", action="checkout")["text"]
    assert "too short" in _turn(merchant, state, "A")["text"]
    assert "mobile number" in _turn(merchant, state, "Sara Ali")["text"]
    assert "doesn't look right" in _turn(merchant, state, "12345")["text"]
    assert "Which city" in _turn(merchant, state, "+966 55 123 4567")["text"]
    assert "address" in _turn(merchant, state, "Jeddah")["text"]
    summary = _turn(merchant, state, "Al Rawdah, Prince Sultan St 5")
    assert "Black abaya" in summary["text"] and "200" in summary["text"] and "+966551234567" in summary["text"]
    assert [e["payload"] for e in summary["elements"]] == ["checkout:confirm", "checkout:cancel"]
    stale_state = {**state, "commerce": dict(state["commerce"])}  # a second worker with the same stale state
    placed = _turn(merchant, state, "checkout:confirm", turn_id="msg-1")
    assert "K-10001" in placed["text"] and placed["order_number"] == "K-10001"
    again = _turn(merchant, stale_state, "yes", turn_id="msg-2")
    assert "already placed" in again["text"] and "K-10001" in again["text"]
    assert Order.objects.for_merchant(merchant).count() == 1
    order = Order.objects.get()
    assert (order.source, order.customer_name, order.shipping_city, order.idempotency_key) == (
        "chat",
        "Sara Ali",
        "Jeddah",
        "turn:msg-1",
    )
    assert state["commerce"]["step"] == "placed" and "cart_id" not in state["commerce"]
    assert _turn(merchant, state, "do you have red shemaghs?")["handled"] is False  # moving on
    assert "step" not in state["commerce"]


def test_checkout_in_arabic_with_arabic_digits_and_cancel(shop):
    merchant, first, _second = shop
    state = {"shown": [str(first.id)], "language": "ar"}
    _turn(merchant, state, "ضيفه للسلة", action="cart_add")
    assert "اسمك" in _turn(merchant, state, "اكمل الطلب", action="checkout")["text"]
    _turn(merchant, state, "نورة")
    assert "مدينة" in _turn(merchant, state, "٠٥٥١٢٣٤٥٦٧")["text"]
    assert state["commerce"]["details"]["phone"] == "+966551234567"
    cancelled = _turn(merchant, state, "إلغاء")
    assert "ألغيت" in cancelled["text"] and "step" not in state["commerce"]
    assert "عباية" in _turn(merchant, state, "", action="cart_view")["text"]  # the cart is kept


def test_price_change_before_confirmation_shows_the_new_total(shop):
    merchant, first, _second = shop
    state = {"shown": [str(first.id)], "language": "en"}
    _turn(merchant, state, "add", action="cart_add")
    _turn(merchant, state, "checkout", action="checkout")
    for answer in ("Sara", "0551234567", "Riyadh", "Olaya street 1"):
        _turn(merchant, state, answer)
    first.price = Decimal("250")
    first.save()
    reply = _turn(merchant, state, "confirm", turn_id="t1")
    assert "new total is 250" in reply["text"] and not Order.objects.exists()
    assert "K-10001" in _turn(merchant, state, "confirm", turn_id="t2")["text"]


def test_empty_cart_checkout(shop):
    merchant, _first, _second = shop
    assert "empty" in _turn(merchant, {"language": "en"}, "checkout", action="checkout")["text"]


def test_synced_store_gets_its_checkout_link(shop):
    from integrations import services

    merchant, first, _second = shop
    services.connection_upsert(
        merchant=merchant,
        platform="shopify",
        credentials={"access_token": "x"},
        shop_domain="demo-store.myshopify.com",
        checkout_url="https://demo-store.example.com/checkout",
    )
    state = {"shown": [str(first.id)], "language": "en"}
    _turn(merchant, state, "add", action="cart_add")
    reply = _turn(merchant, state, "checkout", action="checkout")
    assert reply["elements"] == [
        {"type": "button", "title": "Checkout", "url": "https://demo-store.example.com/checkout"}
    ]
    assert "step" not in state["commerce"]


def test_order_status_from_the_record(shop):
    merchant, first, _second = shop
    customer = {"name": "Sara", "phone": "0551234567", "city": "Riyadh", "address": "Olaya 1"}
    order, _ = commerce_services.order_create(merchant=merchant, lines=[{"product": first.pk}], customer=customer)
    commerce_services.order_set_status(merchant=merchant, order=order, status="confirmed")
    commerce_services.order_set_status(merchant=merchant, order=order, status="shipped")
    ar = order_status_for_assistant(merchant=merchant, order_number="K-10001")
    en = order_status_for_assistant(merchant=merchant, order_number="k10001", language="en")
    assert (ar["number"], ar["status"], en["status"], en["code"]) == ("K-10001", "تم الشحن", "shipped", "shipped")
    assert order_status_for_assistant(merchant=merchant, order_number="K-55555") is None
    assert order_status_for_assistant(merchant=MerchantFactory(), order_number="K-10001") is None


def test_a_question_mid_checkout_is_left_to_the_assistant_and_the_step_stays(shop):
    merchant, first, _second = shop
    state = {"shown": [str(first.id)], "language": "en"}
    _turn(merchant, state, "add", action="cart_add")
    _turn(merchant, state, "checkout", action="checkout")
    reply = _turn(merchant, state, "how much is shipping to Dammam?")
    assert reply["handled"] is False and state["commerce"]["step"] == "name"
    assert "mobile number" in _turn(merchant, state, "Sara")["text"]


def test_confirm_tapped_again_after_the_order_says_it_is_already_placed(shop):
    merchant, first, _second = shop
    state = {"shown": [str(first.id)], "language": "en"}
    _turn(merchant, state, "add", action="cart_add")
    _turn(merchant, state, "checkout", action="checkout")
    for answer in ("Sara", "0551234567", "Riyadh", "Olaya street 1"):
        _turn(merchant, state, answer)
    assert "K-10001" in _turn(merchant, state, "checkout:confirm", turn_id="m1")["text"]
    # the second tap classified as "checkout" (no step pending any more)
    again = _turn(merchant, state, "checkout:confirm", action="checkout", turn_id="m2")
    assert "already placed" in again["text"] and Order.objects.count() == 1
