import pytest
from django.test import Client

from catalog.services import product_create
from kaleem.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_staff_sees_products_and_can_reindex(owner):
    _, merchant, _ = owner
    product = product_create(merchant=merchant, data={"sku": "ADM1", "title_en": "Scarf", "price": 40})
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    assert "ADM1" in client.get("/admin/catalog/product/").content.decode()
    res = client.post("/admin/catalog/product/", {"action": "reindex", "_selected_action": [str(product.id)]})
    assert res.status_code == 302
    product.refresh_from_db()
    assert product.index_state == "indexed"
    assert client.get("/admin/catalog/importjob/").status_code == 200
