"""Payment link: a store's https URL template (validated, SSRF-guarded), rendered per order, offered in
the chat checkout only when configured (then sent after the order with a "pay now" button), and shown
in the order API; a store without one never gets the payment-link method."""

from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import translation

from catalog import commerce_services
from catalog.commerce import cart_action_for_assistant
from catalog.models import Order
from catalog.tests.factories import ProductFactory
from kaleem.core.errors import ApplicationError
from kaleem.testing.factories import MerchantFactory
from merchants.services import payment_link_template_clean

TEMPLATE = "https://pay.example.com/checkout/{order_number}?amount={amount}&currency={currency}&ref={order_id}"
CUSTOMER = {"name": "Sara Ali", "phone": "0551234567", "city": "Jeddah", "address": "Al Rawdah, Prince Sultan St 5"}


@pytest.fixture(autouse=True)
def _english():
    """Service messages are translated: pin English (an earlier test may leave Arabic active)."""
    with translation.override("en"):
        yield


def _turn(merchant, state, text, action="reply", turn_id=None):
    return cart_action_for_assistant(merchant=merchant, action=action, state=state, text=text, turn_id=turn_id)


def _to_payment_step(merchant, product, language):
    state = {"shown": [str(product.id)], "language": language}
    _turn(merchant, state, "add", action="cart_add")
    _turn(merchant, state, "checkout", action="checkout")
    for answer in ("Sara Ali", "0551234567", "Jeddah"):
        _turn(merchant, state, answer)
    return state, _turn(merchant, state, "Al Rawdah, Prince Sultan St 5")


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("http://pay.example.com/{order_number}", "https://"),
        ("https://pay.example.com/{order_number}/{customer_phone}", "Unknown placeholder"),
        ("https://pay.example.com/{order_number.__class__}", "Unknown placeholder"),
        ("https://pay.example.com/{amount:>99999}/{order_number}", "Unknown placeholder"),
        ("https://pay.example.com/{order_number!r}", "Unknown placeholder"),
        ("https://pay.example.com/{order_number", "Unbalanced"),
        ("https://pay.example.com/pay?amount={amount}", "{order_number} or {order_id}"),
        ("https://{order_number}.example.com/pay", "host name"),
        ("https://user:secret@pay.example.com/{order_number}", "user name or password"),
        ("https://pay.example.com/{order_number} x", "spaces"),
        ("javascript:alert(1)//{order_number}", "https://"),
        ("https://pay.example.com/" + "a" * 500 + "{order_number}", "At most 500"),
    ],
)
def test_bad_templates_are_refused_with_a_reason(template, reason):
    with pytest.raises(ApplicationError) as caught:
        payment_link_template_clean(template)
    assert caught.value.code == "invalid"
    assert reason in caught.value.fields["payment_link_template"][0]


@override_settings(SSRF_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "template",
    ["https://127.0.0.1/pay/{order_number}", "https://169.254.169.254/{order_id}", "https://10.0.0.5/{order_id}"],
)
def test_templates_pointing_at_private_addresses_are_refused(template):
    with pytest.raises(ApplicationError) as caught:
        payment_link_template_clean(template)
    assert "public internet address" in caught.value.fields["payment_link_template"][0]


def test_a_good_template_is_kept_and_empty_turns_the_method_off():
    assert payment_link_template_clean(f"  {TEMPLATE} ") == TEMPLATE
    assert payment_link_template_clean("") == ""


@pytest.mark.django_db
def test_the_link_is_rendered_per_order_with_encoded_values():
    merchant = MerchantFactory(payment_link_template=TEMPLATE)
    product = ProductFactory(merchant=merchant, price=Decimal("349.5"), stock=5)
    order, _ = commerce_services.order_create(
        merchant=merchant,
        lines=[{"product": product.pk, "quantity": 2}],
        customer=CUSTOMER,
        payment_method="payment_link",
    )
    url = commerce_services.order_payment_url(order)
    assert url == f"https://pay.example.com/checkout/K-10001?amount=699.00&currency=SAR&ref={order.pk}"
    cod, _ = commerce_services.order_create(
        merchant=merchant, lines=[{"product": product.pk, "quantity": 1}], customer=CUSTOMER
    )
    assert commerce_services.order_payment_url(cod) is None
    merchant.payment_link_template = "https://pay.example.com/p/{order_number}?x={currency}"
    merchant.save()
    order.number = "K/1?&#"  # never happens, but a value must not break out of its place in the URL
    assert commerce_services.order_payment_url(order, merchant) == "https://pay.example.com/p/K%2F1%3F%26%23?x=SAR"


@pytest.mark.django_db
def test_chat_without_a_payment_link_goes_straight_to_the_cash_on_delivery_summary():
    merchant = MerchantFactory()
    product = ProductFactory(merchant=merchant, title_en="Black abaya", price=Decimal("200"), stock=5)
    state, summary = _to_payment_step(merchant, product, "en")
    assert "cash on delivery" in summary["text"] and "How would you like to pay" not in summary["text"]
    assert [e["payload"] for e in summary["elements"]] == ["checkout:confirm", "checkout:cancel"]
    assert "link" not in _turn(merchant, state, "checkout:pay:link")["text"].lower()  # not offered: just the summary
    placed = _turn(merchant, state, "yes", turn_id="m1")
    assert "cash on delivery" in placed["text"] and placed["elements"] == []
    assert Order.objects.get().payment_method == "cod"


@pytest.mark.django_db
def test_chat_offers_the_payment_link_and_sends_it_with_a_button_after_the_order_in_english():
    merchant = MerchantFactory(payment_link_template=TEMPLATE)
    product = ProductFactory(merchant=merchant, title_en="Black abaya", price=Decimal("200"), stock=5)
    state, asked = _to_payment_step(merchant, product, "en")
    assert "How would you like to pay" in asked["text"]
    assert [e["payload"] for e in asked["elements"]] == ["checkout:pay:cod", "checkout:pay:link", "checkout:cancel"]
    assert "How would you like to pay" in _turn(merchant, state, "bitcoin")["text"]  # not a choice: asked again
    summary = _turn(merchant, state, "checkout:pay:link")
    assert "online payment link" in summary["text"] and "cash on delivery" not in summary["text"]
    placed = _turn(merchant, state, "checkout:confirm", turn_id="m1")
    order = Order.objects.get()
    url = f"https://pay.example.com/checkout/K-10001?amount=200.00&currency=SAR&ref={order.pk}"
    assert order.payment_method == "payment_link"
    assert url in placed["text"] and placed["payment_url"] == url
    assert placed["elements"] == [{"type": "button", "title": "Pay now", "url": url}]
    again = _turn(merchant, state, "yes", turn_id="m2")  # double tap: same order, the link again
    assert "already placed" in again["text"] and again["elements"][0]["url"] == url
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_chat_payment_choice_in_arabic_words():
    merchant = MerchantFactory(payment_link_template=TEMPLATE)
    product = ProductFactory(merchant=merchant, title_ar="عباية سوداء", price=Decimal("200"), stock=5)
    state, asked = _to_payment_step(merchant, product, "ar")
    assert "كيف تحب تدفع" in asked["text"]
    assert "الدفع برابط إلكتروني" in _turn(merchant, state, "رابط")["text"]
    placed = _turn(merchant, state, "أكد", turn_id="m1")
    assert "ادفع من الرابط" in placed["text"] and placed["elements"][0]["title"] == "ادفع الآن"
    # choosing cash instead in a second order of another customer
    state2, _ = _to_payment_step(merchant, product, "ar")
    assert "الدفع عند الاستلام" in _turn(merchant, state2, "كاش")["text"]


@pytest.mark.django_db
def test_link_removed_during_the_dialogue_falls_back_to_a_cash_summary_not_a_silent_switch():
    merchant = MerchantFactory(payment_link_template=TEMPLATE)
    product = ProductFactory(merchant=merchant, price=Decimal("200"), stock=5)
    state, _ = _to_payment_step(merchant, product, "en")
    _turn(merchant, state, "link")
    merchant.payment_link_template = ""
    merchant.save()
    again = _turn(merchant, state, "yes", turn_id="m1")
    assert "cash on delivery" in again["text"] and "Shall I place the order" in again["text"]
    assert not Order.objects.exists()
    placed = _turn(merchant, state, "yes", turn_id="m2")
    assert "K-10001" in placed["text"] and Order.objects.get().payment_method == "cod"


@pytest.mark.django_db
def test_api_store_setting_and_order_payment_url(owner):
    client, merchant, _u = owner
    product = ProductFactory(merchant=merchant, price=Decimal("80"), stock=5)
    body = {
        "items": [{"product": str(product.pk), "quantity": 1}],
        "customer": CUSTOMER,
        "payment_method": "payment_link",
    }
    refused = client.post("/api/v1/orders", body, format="json")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "payment_link_unavailable"
    assert not Order.objects.exists()
    bad = client.patch(
        "/api/v1/merchants/current", {"payment_link_template": "http://x.example/{order_number}"}, format="json"
    )
    assert bad.status_code == 400 and "payment_link_template" in bad.json()["error"]["fields"]
    saved = client.patch("/api/v1/merchants/current", {"payment_link_template": TEMPLATE}, format="json")
    assert saved.status_code == 200 and saved.json()["payment_link_template"] == TEMPLATE
    created = client.post("/api/v1/orders", body, format="json")
    assert created.status_code == 201, created.content
    order_id = created.json()["id"]
    expected = f"https://pay.example.com/checkout/K-10001?amount=80.00&currency=SAR&ref={order_id}"
    assert created.json()["payment_url"] == expected
    assert client.get(f"/api/v1/orders/{order_id}").json()["payment_url"] == expected
    cod = client.post("/api/v1/orders", {**body, "payment_method": "cod"}, format="json").json()
    listed = {o["id"]: o["payment_url"] for o in client.get("/api/v1/orders").json()["results"]}
    assert listed == {order_id: expected, cod["id"]: None}
    assert client.patch("/api/v1/merchants/current", {"payment_link_template": ""}, format="json").status_code == 200
    assert client.get(f"/api/v1/orders/{order_id}").json()["payment_url"] is None  # turned off: no stale link


@pytest.mark.django_db
def test_dashboard_order_page_shows_the_payment_link_only_for_payment_link_orders():
    from merchants.tests.dashboard_helpers import page_client

    client, merchant, _user = page_client("viewer")
    merchant.payment_link_template = TEMPLATE
    merchant.save()
    product = ProductFactory(merchant=merchant, price=Decimal("80"), stock=5)
    linked, _ = commerce_services.order_create(
        merchant=merchant,
        lines=[{"product": product.pk, "quantity": 1}],
        customer=CUSTOMER,
        payment_method="payment_link",
    )
    cod, _ = commerce_services.order_create(
        merchant=merchant, lines=[{"product": product.pk, "quantity": 1}], customer=CUSTOMER
    )
    page = client.get(f"/dashboard/orders/{linked.pk}/").content.decode()
    assert "data-payment-url" in page and f"ref={linked.pk}" in page
    assert "data-payment-url" not in client.get(f"/dashboard/orders/{cod.pk}/").content.decode()


@pytest.mark.django_db
def test_dashboard_settings_page_saves_the_link_and_explains_a_bad_one_in_arabic():
    from merchants.tests.dashboard_helpers import page_client

    client, merchant, _user = page_client("admin", language="ar")
    form = {
        "name": merchant.name,
        "default_language": "ar",
        "currency": "SAR",
        "timezone": "Asia/Riyadh",
        "payment_link_template": "http://pay.example.com/{order_number}",
    }
    refused = client.post("/dashboard/settings/profile/", form)
    assert refused.status_code == 400 and "يجب أن يبدأ الرابط بـ https://" in refused.content.decode()
    merchant.refresh_from_db()
    assert merchant.payment_link_template == ""
    saved = client.post("/dashboard/settings/profile/", {**form, "payment_link_template": TEMPLATE})
    assert saved.status_code == 302
    merchant.refresh_from_db()
    assert merchant.payment_link_template == TEMPLATE
    assert TEMPLATE.replace("&", "&amp;") in client.get("/dashboard/settings/profile/").content.decode()
