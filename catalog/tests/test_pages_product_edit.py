"""Product create/edit/archive page: admin-only writes (same as the API), inline errors in the
user's language, saves through catalog.services so search sees the change via the outbox."""

import pytest

from catalog.models import Product
from catalog.selectors import product_search
from catalog.services import product_create
from catalog.tests.factories import CategoryFactory
from kaleem.testing.factories import MerchantFactory
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db


def _valid(**overrides):
    data = {
        "title_ar": "عباية كتان سوداء",
        "title_en": "Black linen abaya",
        "description_ar": "عباية خفيفة للصيف",
        "description_en": "A light summer abaya",
        "sku": "AB-100",
        "price": "250.00",
        "sale_price": "199.00",
        "stock": "7",
        "status": "active",
        "category": "",
        "tags": "summer, linen, summer",
        "attributes": "colour: black\nsize: S, M, L",
        "images": "https://cdn.example.com/a.jpg\nhttps://cdn.example.com/b.jpg",
    }
    data.update(overrides)
    return data


def test_admin_creates_a_product_that_search_finds(relay):
    client, merchant, _user = page_client("admin")
    category = CategoryFactory(merchant=merchant, name_en="Abayas")
    form = client.get("/dashboard/catalog/products/new/")
    assert form.status_code == 200 and 'name="sku"' in form.content.decode()
    r = client.post("/dashboard/catalog/products/new/", _valid(category=str(category.pk)))
    assert r.status_code == 302
    product = Product.objects.get(merchant=merchant, sku="AB-100")
    assert r["Location"] == f"/dashboard/catalog/products/{product.pk}/"
    assert product.title_en == "Black linen abaya" and product.sale_price == 199 and product.stock == 7
    assert product.tags == ["summer", "linen"] and product.category == category
    assert product.attributes == {"colour": "black", "size": ["S", "M", "L"]}
    assert product.images == ["https://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg"]
    assert product.currency == merchant.currency
    relay()  # the outbox event indexes the product
    found = [p.sku for p, _score in product_search(merchant=merchant, query="linen abaya", limit=5).items]
    assert "AB-100" in found
    edit = client.get(f"/dashboard/catalog/products/{product.pk}/").content.decode()
    assert "size: S, M, L" in edit and 'value="AB-100"' in edit


def test_edit_reaches_the_search_index_and_archive_removes_it(relay):
    client, merchant, _user = page_client("owner")
    product = product_create(
        merchant=merchant, data={"sku": "K1", "title_ar": "قميص", "title_en": "Cotton shirt", "price": 90}
    )
    relay()
    r = client.post(
        f"/dashboard/catalog/products/{product.pk}/",
        _valid(sku="K1", title_en="Silk scarf", title_ar="وشاح حرير", tags="", attributes="", images=""),
    )
    assert r.status_code == 302
    relay()
    assert [p.sku for p, _ in product_search(merchant=merchant, query="silk scarf", limit=5).items] == ["K1"]
    r = client.post(f"/dashboard/catalog/products/{product.pk}/", {"action": "archive"})
    assert r.status_code == 302
    product.refresh_from_db()
    assert product.status == "archived"
    relay()
    assert "K1" not in [p.sku for p, _ in product_search(merchant=merchant, query="silk scarf", limit=5).items]
    assert "Archive this product" not in client.get(f"/dashboard/catalog/products/{product.pk}/").content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title_ar": "", "title_en": " "}, "title_ar", "Give the product a title in Arabic or English."),
        ({"sale_price": "300"}, "sale_price", "The sale price cannot be higher than the price."),
        ({"price": "-1"}, "price", "Ensure this value is greater than or equal to 0."),
        ({"price": "abc"}, "price", "Enter a number."),
        ({"stock": "-3"}, "stock", "Ensure this value is greater than or equal to 0."),
        ({"sku": ""}, "sku", "This field is required."),
        ({"status": "deleted"}, "status", "Select a valid choice."),
        ({"attributes": "colour black"}, "attributes", "Line 1: write the attribute as name: value."),
        ({"images": "javascript:alert(1)"}, "images", "Not a valid web address"),
        ({"category": "not-a-category"}, "category", "Select a valid choice."),
        ({"images": "\n".join(f"https://cdn.example.com/{i}.jpg" for i in range(21))}, "images", "At most 20 images."),
        ({"title_en": "x" * 301}, "title_en", "at most 300 characters"),
        ({"tags": ",".join(f"t{i}" for i in range(51))}, "tags", "At most 50 tags."),
    ],
)
def test_invalid_input_is_shown_inline_and_nothing_is_saved(overrides, field, message):
    client, merchant, _user = page_client("admin")
    r = client.post("/dashboard/catalog/products/new/", _valid(**overrides))
    assert r.status_code == 400
    html = r.content.decode()
    assert f'id="id_{field}_error"' in html and message in html
    assert not Product.objects.filter(merchant=merchant).exists()


def test_errors_are_in_arabic_for_an_arabic_user():
    from merchants.tests.test_pages_i18n import untranslated

    client, merchant, _user = page_client("admin", language="ar")
    type(merchant).objects.filter(pk=merchant.pk).update(name="متجر الأناقة")  # the shell shows the store name
    html = client.post("/dashboard/catalog/products/new/", _valid(sale_price="999", sku="")).content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert "لا يمكن أن يكون سعر التخفيض أعلى من السعر" in html
    assert untranslated(html) == []
    assert untranslated(client.get("/dashboard/catalog/products/new/").content.decode()) == []


def test_duplicate_sku_is_an_inline_error():
    client, merchant, _user = page_client("admin")
    product_create(merchant=merchant, data={"sku": "AB-100", "title_en": "Existing", "price": 10})
    r = client.post("/dashboard/catalog/products/new/", _valid())
    assert r.status_code == 400
    assert "Another product of this store already uses this SKU." in r.content.decode()
    assert Product.objects.filter(merchant=merchant).count() == 1


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewer_and_agent_cannot_create_edit_or_archive(role):
    client, merchant, _user = page_client(role)
    product = product_create(merchant=merchant, data={"sku": "K1", "title_en": "Shirt", "price": 90})
    assert client.get("/dashboard/catalog/products/new/").status_code == 403
    assert client.get(f"/dashboard/catalog/products/{product.pk}/").status_code == 403
    assert client.post("/dashboard/catalog/products/new/", _valid()).status_code == 403
    assert client.post(f"/dashboard/catalog/products/{product.pk}/", {"action": "archive"}).status_code == 403
    product.refresh_from_db()
    assert product.status == "active" and Product.objects.filter(merchant=merchant).count() == 1
    listing = client.get("/dashboard/catalog/").content.decode()
    assert "Shirt" in listing and "/dashboard/catalog/products/" not in listing


def test_another_stores_product_is_404():
    client, _merchant, _user = page_client("owner")
    other = MerchantFactory()
    foreign = product_create(merchant=other, data={"sku": "F1", "title_en": "Foreign", "price": 5})
    foreign_category = CategoryFactory(merchant=other)
    assert client.get(f"/dashboard/catalog/products/{foreign.pk}/").status_code == 404
    assert client.post(f"/dashboard/catalog/products/{foreign.pk}/", {"action": "archive"}).status_code == 404
    assert client.post(f"/dashboard/catalog/products/{foreign.pk}/", _valid(sku="F1")).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "active" and foreign.title_en == "Foreign"
    r = client.post("/dashboard/catalog/products/new/", _valid(category=str(foreign_category.pk)))
    assert r.status_code == 400  # another store's category is not a choice


def test_product_list_and_form_query_counts(django_assert_max_num_queries):
    client, merchant, _user = page_client("admin")
    for i in range(5):
        CategoryFactory(merchant=merchant)
    for i in range(30):
        product_create(merchant=merchant, data={"sku": f"S{i}", "title_en": f"Item {i}", "price": 10})
    with django_assert_max_num_queries(10):
        html = client.get("/dashboard/catalog/").content.decode()
    assert html.count("/dashboard/catalog/products/") >= 30
    product = Product.objects.filter(merchant=merchant).first()
    with django_assert_max_num_queries(10):
        assert client.get(f"/dashboard/catalog/products/{product.pk}/").status_code == 200


def test_synced_product_warns_that_the_platform_owns_it():
    client, merchant, _user = page_client("admin")
    synced = product_create(
        merchant=merchant,
        data={"sku": "SH-1", "title_en": "Synced", "price": 10, "source": "shopify", "external_id": "gid://1"},
    )
    manual = product_create(merchant=merchant, data={"sku": "M-1", "title_en": "Manual", "price": 10})
    assert (
        "next sync replaces changes made here"
        in client.get(f"/dashboard/catalog/products/{synced.pk}/").content.decode()
    )
    assert "next sync" not in client.get(f"/dashboard/catalog/products/{manual.pk}/").content.decode()
