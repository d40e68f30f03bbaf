import pytest

from catalog.models import Product
from catalog.services import product_create

pytestmark = pytest.mark.django_db

URL = "/api/v1/catalog/products"


def _create(client, **extra):
    body = {"sku": "S1", "title_ar": "حذاء رياضي", "title_en": "Sports shoe", "price": "150.00", "stock": 3, **extra}
    return client.post(URL, body, format="json")


def test_crud_roundtrip_and_index_state(owner, relay):
    client, merchant, _ = owner
    res = _create(client, tags=["Sport", "men"], attributes={"colour": "black"})
    assert res.status_code == 201, res.json()
    body = res.json()
    assert body["index_state"] == "pending" and body["in_stock"] is True and body["tags"] == ["Sport", "men"]
    relay()
    pid = body["id"]
    assert client.get(f"{URL}/{pid}").json()["index_state"] == "indexed"
    res = client.patch(f"{URL}/{pid}", {"price": "120.00", "stock": 0}, format="json")
    assert res.status_code == 200 and res.json()["price"] == "120.00" and res.json()["in_stock"] is False
    assert client.post(f"{URL}/{pid}/archive").json()["status"] == "archived"
    assert client.delete(f"{URL}/{pid}").status_code == 204
    assert client.get(f"{URL}/{pid}").status_code == 404


def test_bad_product_input(owner):
    client, _, _ = owner
    assert _create(client, price="abc").status_code == 400
    assert _create(client, price="-1").status_code == 400
    res = _create(client, title_ar="", title_en="")
    assert res.status_code == 400 and res.json()["error"]["fields"]["title_ar"]
    assert _create(client, sale_price="999").status_code == 400
    assert _create(client, category="00000000-0000-0000-0000-000000000000").status_code == 404
    assert _create(client).status_code == 201
    dup = _create(client)
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "duplicate_sku"
    assert client.post(URL, "not json", content_type="application/json").status_code == 400


def test_viewer_cannot_write(db):
    from kaleem.testing.api import member_client

    client, _, _ = member_client("viewer")
    assert client.get(URL).status_code == 200
    assert _create(client).status_code == 403


def test_list_filters_and_cursor(owner):
    client, merchant, _ = owner
    parent = client.post("/api/v1/catalog/categories", {"name_en": "Shoes", "name_ar": "أحذية"}, format="json").json()
    child = client.post(
        "/api/v1/catalog/categories", {"name_en": "Sneakers", "parent": parent["id"]}, format="json"
    ).json()
    _create(client, sku="A", price="50", category=child["id"], tags=["Summer"])
    _create(client, sku="B", price="150", stock=0, category=parent["id"])
    _create(client, sku="C", price="250", status="draft")

    def skus(**params):
        res = client.get(URL, params)
        assert res.status_code == 200, res.json()
        return sorted(p["sku"] for p in res.json()["results"])

    assert skus() == ["A", "B", "C"]
    assert skus(category=parent["id"]) == ["A", "B"]  # includes the sub-category
    assert skus(category="sneakers") == ["A"]
    assert skus(price_min=100, price_max=200) == ["B"]
    assert skus(status="draft") == ["C"]
    assert skus(in_stock="false") == ["B"]
    assert skus(tag="summer") == ["A"]
    assert skus(category="00000000-0000-0000-0000-000000000000") == []
    page1 = client.get(URL, {"limit": 2}).json()
    page2 = client.get(page1["next"]).json()
    assert len(page1["results"]) == 2 and len(page2["results"]) == 1
    assert client.get(URL, {"price_min": "cheap"}).status_code == 400


def test_other_store_category_filter_matches_nothing(owner, other_owner):
    client, _, _ = owner
    other_client, _, _ = other_owner
    cat = other_client.post("/api/v1/catalog/categories", {"name_en": "Bags"}, format="json").json()
    _create(client)
    assert client.get(URL, {"category": cat["id"]}).json()["results"] == []


def test_cross_tenant_product_is_404(owner, other_owner):
    client, _, _ = owner
    other_client, other_merchant, _ = other_owner
    theirs = product_create(merchant=other_merchant, data={"sku": "X", "title_en": "Secret", "price": 10})
    for method in ("get", "patch", "delete"):
        res = getattr(client, method)(f"{URL}/{theirs.id}", {}, format="json")
        assert res.status_code == 404
    assert client.get(f"{URL}/{theirs.id}/similar").status_code == 404
    assert Product.objects.filter(id=theirs.id, title_en="Secret").exists()
    assert client.get(URL).json()["results"] == []


def test_search_endpoint(owner, relay):
    client, merchant, _ = owner
    _create(
        client,
        sku="SH1",
        title_ar="جزمة رياضية سوداء",
        title_en="Black sneakers",
        price="180",
        attributes={"colour": "أسود"},
    )
    _create(
        client,
        sku="SH2",
        title_ar="حذاء رسمي بني",
        title_en="Brown formal shoes",
        price="400",
        attributes={"colour": "brown"},
    )
    _create(client, sku="BG1", title_ar="شنطة يد", title_en="Handbag", price="90")
    relay()
    res = client.get("/api/v1/catalog/search", {"q": "حذاء تحت 200 ريال"})
    assert res.status_code == 200, res.json()
    body = res.json()
    assert body["mode"] == "hybrid"
    assert body["applied_filters"] == {"price_max": 200.0}
    assert body["results"][0]["product"]["sku"] == "SH1"
    assert all(float(r["product"]["effective_price"]) <= 200 for r in body["results"])
    res = client.get("/api/v1/catalog/search", {"q": "shoes", "limit": 5}).json()
    assert {r["product"]["sku"] for r in res["results"]} >= {"SH1", "SH2"}
    assert all(isinstance(r["score"], float) for r in res["results"])
    res = client.get("/api/v1/catalog/search", {"q": "black shoes"}).json()
    assert res["applied_filters"] == {"colour": "black"} and res["results"][0]["product"]["sku"] == "SH1"


def test_search_bad_queries(owner):
    client, _, _ = owner
    _create(client)
    res = client.get("/api/v1/catalog/search", {"q": "   "})
    assert res.status_code == 400 and res.json()["error"]["code"] == "empty_query"
    assert client.get("/api/v1/catalog/search").status_code == 400
    res = client.get("/api/v1/catalog/search", {"q": "حذاء " * 1000})  # 5,000 characters
    assert res.status_code == 200 and res.json()["truncated"] is True
    assert client.get("/api/v1/catalog/search", {"q": "x" * 5001}).status_code == 400
    res = client.get("/api/v1/catalog/search", {"q": "😀🔥👟"})
    assert res.status_code == 200 and res.json()["results"] == []
    res = client.get("/api/v1/catalog/search", {"q": "sports حذاء"})
    assert res.status_code == 200 and res.json()["results"][0]["product"]["sku"] == "S1"
    assert client.get("/api/v1/catalog/search", {"q": "x", "limit": 0}).status_code == 400
    assert client.get("/api/v1/catalog/search", {"q": "x", "limit": 500}).status_code == 400


def test_export_csv(owner):
    client, _, _ = owner
    _create(client, tags=["a", "b"], attributes={"colour": "أسود"})
    res = client.get(f"{URL}/export")
    assert res.status_code == 200
    text = b"".join(res.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("sku,title_ar,title_en")
    assert "حذاء رياضي" in lines[1] and "a|b" in lines[1] and "أسود" in lines[1]


def test_synonyms_api(owner, relay):
    client, _, _ = owner
    _create(client, sku="K1", title_ar="كندورة بيضاء", title_en="")
    relay()
    assert client.get("/api/v1/catalog/search", {"q": "بشت"}).json()["results"] == []
    res = client.post("/api/v1/catalog/synonyms", {"terms": ["بشت", "كندوره"]}, format="json")
    assert res.status_code == 201
    assert [r["product"]["sku"] for r in client.get("/api/v1/catalog/search", {"q": "بشت"}).json()["results"]] == ["K1"]
    assert client.post("/api/v1/catalog/synonyms", {"terms": ["one"]}, format="json").status_code == 400
