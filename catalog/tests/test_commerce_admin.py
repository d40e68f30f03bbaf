"""Staff admin for orders: merchant-scoped, read-only rows, status actions go through the service."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from catalog import commerce_services
from catalog.models import Order
from catalog.tests.factories import ProductFactory
from kaleem.models import OutboxEvent
from kaleem.testing.factories import MerchantFactory

CUSTOMER = {"name": "Sara", "phone": "0551234567", "city": "Riyadh", "address": "Olaya 1"}


@pytest.fixture
def staff(client, db):
    user = get_user_model().objects.create_superuser(username="root", email="root@example.com", password="x")
    client.force_login(user)
    return client


def test_order_admin_lists_and_moves_orders_through_the_service(staff):
    merchant = MerchantFactory()
    product = ProductFactory(merchant=merchant, stock=3)
    order, _ = commerce_services.order_create(merchant=merchant, lines=[{"product": product.pk}], customer=CUSTOMER)
    page = staff.get(reverse("admin:catalog_order_changelist"))
    assert page.status_code == 200 and order.number in page.content.decode()
    assert staff.get(reverse("admin:catalog_order_change", args=[order.pk])).status_code == 200
    assert staff.get(reverse("admin:catalog_cart_changelist")).status_code == 200
    staff.post(
        reverse("admin:catalog_order_changelist"), {"action": "mark_confirmed", "_selected_action": [str(order.pk)]}
    )
    order.refresh_from_db()
    assert order.status == "confirmed"
    assert OutboxEvent.objects.filter(event_type="order.status_changed").count() == 1
    assert order.history.last().actor.startswith("staff:")
    staff.post(
        reverse("admin:catalog_order_changelist"), {"action": "mark_delivered", "_selected_action": [str(order.pk)]}
    )
    assert Order.objects.get(pk=order.pk).status == "confirmed"  # invalid transition refused, not forced
