import csv
import io
from decimal import Decimal

import pytest

from catalog.models.commerce import Order, OrderItem, OrderStatusHistory
from kaleem.models import OutboxEvent
from kaleem.testing.factories import MerchantFactory
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db


def make_order(merchant, number="K-10001", status="pending", total="249.00", name="نورة", source="chat", **kw):
    order = Order.objects.create(
        merchant=merchant,
        number=number,
        status=status,
        source=source,
        currency="SAR",
        subtotal=Decimal(total),
        total=Decimal(total),
        customer_name=name,
        customer_phone="+966500000000",
        **kw,
    )
    OrderItem.objects.create(
        order=order, sku="AB-1", title="عباية", quantity=1, unit_price=Decimal(total), line_total=Decimal(total)
    )
    return order


@pytest.mark.parametrize("role", ["viewer", "agent", "admin", "owner"])
def test_every_member_reads_orders(role):
    client, merchant, _user = page_client(role)
    order = make_order(merchant)
    assert client.get("/dashboard/orders/").status_code == 200
    assert client.get(f"/dashboard/orders/{order.pk}/").status_code == 200


def test_list_filters_and_money_format(django_assert_max_num_queries):
    client, merchant, _user = page_client("viewer")
    make_order(merchant, "K-10001", "pending", "249.00")
    make_order(merchant, "K-10002", "shipped", "1200.50", source="shopify")
    for i in range(30):
        make_order(merchant, f"K-2{i:04d}", "delivered", "10.00")
    with django_assert_max_num_queries(10):
        html = client.get("/dashboard/orders/").content.decode()
    assert html.count("<tr data-order=") == 32 and "SAR\u00a01,200.50" in html
    html = client.get("/dashboard/orders/?status=shipped").content.decode()
    assert "K-10002" in html and "K-10001" not in html
    assert "K-10001" in client.get("/dashboard/orders/?number=k-10001").content.decode()
    assert "K-10002" in client.get("/dashboard/orders/?source=shopify").content.decode()
    assert client.get("/dashboard/orders/?status=bogus&date_from=notadate").status_code == 200
    client.cookies["django_language"] = "ar"
    assert "1200,50\u00a0ر.س" in client.get("/dashboard/orders/?status=shipped").content.decode()


def test_agent_moves_status_along_the_lifecycle_with_event():
    client, merchant, user = page_client("agent")
    order = make_order(merchant)
    r = client.post(f"/dashboard/orders/{order.pk}/", {"status": "confirmed", "note": "اتصلت بالعميلة"})
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.status == "confirmed" and order.confirmed_at is not None
    history = OrderStatusHistory.objects.get(order=order, to_status="confirmed")
    assert history.note == "اتصلت بالعميلة" and history.actor == f"user:{user.pk}"
    assert OutboxEvent.objects.filter(merchant_id=merchant.pk, event_type="order.status_changed").exists()
    # an impossible jump is refused without change
    r = client.post(f"/dashboard/orders/{order.pk}/", {"status": "delivered"}, follow=True)
    assert b"not possible" in r.content
    order.refresh_from_db()
    assert order.status == "confirmed"


def test_viewer_cannot_change_status_and_other_store_is_404():
    client, merchant, _user = page_client("viewer")
    order = make_order(merchant)
    assert client.post(f"/dashboard/orders/{order.pk}/", {"status": "confirmed"}).status_code == 403
    assert "Change status" not in client.get(f"/dashboard/orders/{order.pk}/").content.decode()
    other = make_order(MerchantFactory(), "K-99999", name="Secret Customer")
    assert client.get(f"/dashboard/orders/{other.pk}/").status_code == 404
    assert client.get("/dashboard/orders/not-a-uuid/").status_code == 404
    assert "Secret Customer" not in client.get("/dashboard/orders/").content.decode()
    agent, _m, _u = page_client("agent", merchant=merchant)
    assert agent.post(f"/dashboard/orders/{other.pk}/", {"status": "confirmed"}).status_code == 404
    other.refresh_from_db()
    assert other.status == "pending"


def test_csv_export_admin_only_scoped_and_injection_safe():
    client, merchant, _user = page_client("admin")
    make_order(merchant, "K-10001", name='=HYPERLINK("http://evil")')
    make_order(MerchantFactory(), "K-55555", name="Other store")
    r = client.get("/dashboard/orders/?export=csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    body = b"".join(r.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "number" and len(rows) == 2
    assert rows[1][0] == "K-10001" and rows[1][8].startswith("'=")
    assert "Other store" not in body
    viewer, _m, _u = page_client("viewer", merchant=merchant)
    assert viewer.get("/dashboard/orders/?export=csv").status_code == 403
