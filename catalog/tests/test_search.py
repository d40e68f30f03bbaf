import pytest
from django.test import override_settings

from catalog.choices import IndexState
from catalog.demo import demo_load
from catalog.models import Product
from catalog.search import backend
from catalog.search.normalize import detect_language, normalize_text, tokenize
from catalog.selectors import product_search, product_similar
from catalog.services import product_archive, product_create, product_delete, product_update
from catalog.tests.fakes import FakeEmbeddingsServer
from integrations.ai.embeddings import get_embedder, vector_cache
from kaleem.models import OutboxEvent

pytestmark = pytest.mark.django_db


def _skus(result):
    return [p.sku for p, _ in result.items]


def _make(merchant, sku, title_ar="", title_en="", price=100, **extra):
    return product_create(
        merchant=merchant, data={"sku": sku, "title_ar": title_ar, "title_en": title_en, "price": price, **extra}
    )


def test_normalisation_contract():
    assert normalize_text("أَحْذِيَةٌ  رِيَاضِيَّةٌ ـــ ١٢٣") == "احذيه رياضيه 123"
    assert normalize_text("إبرة آمنة مستشفى") == "ابره امنه مستشفي"
    assert tokenize("الأحذية الرياضية Shoes") == tokenize("احذيه رياضيه shoe")
    assert detect_language("ابي جزمة size 42") == "ar" and detect_language("black shoes") == "en"


def test_outbox_sync_create_searchable_archive_gone(owner, relay):
    _, merchant, _ = owner
    product = _make(merchant, "P1", "عطر عود ملكي", "Royal oud perfume", 500)
    assert OutboxEvent.objects.filter(merchant_id=merchant.pk, event_type="product.changed").exists()
    relay()
    product.refresh_from_db()
    assert product.index_state == IndexState.INDEXED
    assert _skus(product_search(merchant=merchant, query="عود")) == ["P1"]
    hits = backend.vector_search(kind="products", merchant_id=merchant.pk, vector=get_embedder().embed(["oud"])[0])
    assert [h[0] for h in hits] == [str(product.id)]
    product_archive(merchant=merchant, product=product)
    relay()
    product.refresh_from_db()
    assert product.index_state == IndexState.REMOVED
    assert product_search(merchant=merchant, query="عود").items == []
    assert (
        backend.vector_search(kind="products", merchant_id=merchant.pk, vector=get_embedder().embed(["oud"])[0]) == []
    )
    product_update(merchant=merchant, product=product, data={"status": "active"})
    relay()
    assert _skus(product_search(merchant=merchant, query="oud")) == ["P1"]
    product_delete(merchant=merchant, product=product)
    relay()
    assert product_search(merchant=merchant, query="oud").items == []
    assert backend.vector_ids(kind="products", merchant_id=merchant.pk) == {}


def test_search_never_returns_other_merchants_products(owner, other_owner, relay):
    _, a, _ = owner
    _, b, _ = other_owner
    _make(a, "A-1", "حقيبة ظهر", "Backpack", 150)
    # B's product is a perfect match for the query, lexically and by vector.
    secret = _make(b, "B-1", "عطر عود فاخر", "Luxury oud perfume", 900)
    relay()
    for query in ("عطر عود فاخر", "Luxury oud perfume", "oud", "B-1"):
        result = product_search(merchant=a, query=query)
        assert all(p.merchant_id == a.pk for p, _ in result.items), query
        assert "B-1" not in _skus(result)
    vector = get_embedder().embed(["Luxury oud perfume"])[0]
    assert str(secret.id) not in {h[0] for h in backend.vector_search(kind="products", merchant_id=a.pk, vector=vector)}
    with pytest.raises(Exception):
        product_similar(merchant=a, product_id=secret.id)
    assert _skus(product_search(merchant=b, query="oud")) == ["B-1"]


def test_filters_synonyms_and_languages(owner):
    _, merchant, _ = owner
    demo_load(merchant=merchant)
    r = product_search(merchant=merchant, query="ابي جزمة سودا تحت 300 ريال")
    assert r.applied_filters == {"price_max": 300.0, "colour": "black"}
    assert r.items and all(p.effective_price <= 300 for p, _ in r.items)
    assert _skus(r)[0] == "SH-RUN-01"
    assert _skus(product_search(merchant=merchant, query="عطر عود", limit=3))[0] == "PF-OUD-27"
    assert _skus(product_search(merchant=merchant, query="royal oud perfume", limit=3))[0] == "PF-OUD-27"
    assert "BG-TRV-24" in _skus(product_search(merchant=merchant, query="شنطة سفر", limit=3))
    r = product_search(merchant=merchant, query="shoes", filters={"category": "sandals"}, limit=20)
    assert set(_skus(r)) <= {"SH-SND-06", "SH-SND-07", "SH-SND-08"} and r.items
    r = product_search(merchant=merchant, query="thobe", filters={"in_stock": True}, limit=20)
    assert "TH-COL-20" not in _skus(r) and "TH-WHT-17" in _skus(r)
    r = product_search(merchant=merchant, query="under 100 SAR")  # filters only: browse cheapest first
    assert r.applied_filters == {"price_max": 100.0} and all(p.effective_price <= 100 for p, _ in r.items)
    r = product_search(merchant=merchant, query="عباية بنفسجي")  # no purple abaya: colour relaxed, abayas shown
    assert r.relaxed_filters == ["colour"] and _skus(r) and _skus(r)[0].startswith("AB-")


def test_similar_products(owner):
    _, merchant, _ = owner
    demo_load(merchant=merchant)
    oud = Product.objects.get(merchant=merchant, sku="PF-OUD-27")
    similar = product_similar(merchant=merchant, product_id=oud.id, limit=4)
    skus = [p.sku for p, _ in similar]
    assert "PF-OUD-27" not in skus and len(skus) == 4
    assert sum(s.startswith("PF-") for s in skus) >= 2
    in_stock = [p.in_stock for p, _ in similar]
    assert in_stock == sorted(in_stock, reverse=True)  # in stock first


def test_lexical_fallback_when_qdrant_unavailable(owner, relay):
    from kaleem.vectors import qdrant_client

    _, merchant, _ = owner
    _make(merchant, "F1", "ثوب أبيض", "White thobe", 200)
    relay()
    try:
        with override_settings(QDRANT_URL="http://127.0.0.1:9", VECTOR_LAYOUT="partitioned"):
            qdrant_client.cache_clear()
            backend.reset_availability()
            backend.drop_mirrors()
            result = product_search(merchant=merchant, query="ثوب")
            assert result.mode == "lexical" and _skus(result) == ["F1"]
            # A product saved while the index is down stays saved, marked failed, and the event is retried.
            p = _make(merchant, "F2", "ثوب شتوي", "Winter thobe", 250)
            relay()
            p.refresh_from_db()
            assert p.index_state == IndexState.FAILED and p.index_error
            event = OutboxEvent.objects.filter(payload__product_ids=[str(p.id)]).get()
            assert event.state == OutboxEvent.State.PENDING and event.attempts == 1
    finally:
        qdrant_client.cache_clear()
        backend.reset_availability()
        backend.drop_mirrors()


def test_embedding_failure_keeps_product_and_retries(owner, relay):
    _, merchant, _ = owner
    with FakeEmbeddingsServer(dimension=32) as server:
        with override_settings(
            EMBEDDINGS_PROVIDER="openai",
            EMBEDDINGS_BASE_URL=server.base_url,
            EMBEDDINGS_MODEL="fake-32",
            EMBEDDINGS_RETRIES=0,
            EMBEDDINGS_TIMEOUT=2.0,
        ):
            vector_cache.clear()
            backend.reset_availability()
            server.fail_next = 100
            p = _make(merchant, "E1", "حذاء", "Shoe", 100)
            relay()
            p.refresh_from_db()
            assert p.index_state == IndexState.FAILED and "EmbeddingError" in p.index_error
            assert _skus(product_search(merchant=merchant, query="حذاء")) == ["E1"]  # lexical still finds it
            server.fail_next = 0
            OutboxEvent.objects.filter(state=OutboxEvent.State.PENDING).update(available_at="2000-01-01T00:00:00Z")
            relay()
            p.refresh_from_db()
            assert p.index_state == IndexState.INDEXED
            assert product_search(merchant=merchant, query="shoe").mode == "hybrid"


def test_unchanged_products_are_never_reembedded(owner, relay):
    _, merchant, _ = owner
    with FakeEmbeddingsServer(dimension=32) as server:
        with override_settings(
            EMBEDDINGS_PROVIDER="openai", EMBEDDINGS_BASE_URL=server.base_url, EMBEDDINGS_MODEL="fake-hash"
        ):
            vector_cache.clear()
            p = _make(merchant, "H1", "مسك أبيض", "White musk", 100)
            relay()
            assert server.texts == 1
            product_update(merchant=merchant, product=p, data={"price": 80, "stock": 0})  # payload-only change
            relay()
            vector_cache.clear()  # not thanks to the in-process cache: the stored hash decides
            product_update(merchant=merchant, product=p, data={"stock": 3})
            relay()
            assert server.texts == 1
            p.refresh_from_db()
            assert p.index_state == IndexState.INDEXED
            hits = backend.vector_search(
                kind="products",
                merchant_id=merchant.pk,
                vector=get_embedder().embed(["musk"])[0],
                must={"price": {"lte": 90}},
            )
            assert hits and hits[0][2]["price"] == 80.0  # the payload did change
            product_update(merchant=merchant, product=p, data={"title_en": "White musk oil"})
            relay()
            assert server.texts == 3  # 1 query embedding above + the changed product


def test_lexical_index_sees_writes_immediately(owner):
    _, merchant, _ = owner
    _make(merchant, "L1", "قميص", "Shirt", 50)
    assert _skus(product_search(merchant=merchant, query="shirt")) == ["L1"]
    _make(merchant, "L2", "قميص كتان", "Linen shirt", 90)
    assert set(_skus(product_search(merchant=merchant, query="shirt"))) == {"L1", "L2"}


def test_index_sweep_picks_up_products_whose_event_died(owner):
    from catalog.tasks import index_sweep_task

    _, merchant, _ = owner
    p = _make(merchant, "SW1", "ساعة ذكية", "Smart watch", 500)  # event never relayed
    Product.objects.filter(id=p.id).update(index_state=IndexState.FAILED, index_error="boom")
    assert index_sweep_task() >= 1
    p.refresh_from_db()
    assert p.index_state == IndexState.INDEXED and p.index_error == ""


@pytest.mark.django_db(transaction=True)
def test_large_catalog_refreshes_in_background(owner):
    """Above SEARCH_SYNC_REBUILD_MAX products the current index keeps answering while a fresh one is built."""
    import time

    from catalog.search import engine

    _, merchant, _ = owner
    with override_settings(SEARCH_SYNC_REBUILD_MAX=1, SEARCH_SIGNATURE_TTL=0):
        _make(merchant, "BG1", "جاكيت", "Jacket", 100)
        _make(merchant, "BG2", "جاكيت جلد", "Leather jacket", 300)
        assert set(_skus(product_search(merchant=merchant, query="jacket"))) == {"BG1", "BG2"}
        _make(merchant, "BG3", "جاكيت شتوي", "Winter jacket", 200)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if "BG3" in _skus(product_search(merchant=merchant, query="jacket")) and not engine._rebuilding:
                break
            time.sleep(0.05)
        assert set(_skus(product_search(merchant=merchant, query="jacket"))) == {"BG1", "BG2", "BG3"}


def test_product_get_malformed_and_foreign_ids_are_not_found(owner, other_owner):
    from catalog.selectors import product_get
    from kaleem.core.errors import NotFoundError

    _, merchant, _ = owner
    _, other, _ = other_owner
    theirs = _make(other, "NF1", "", "Thing", 10)
    for bad in ("not-a-uuid", None, 42, theirs.id):
        with pytest.raises(NotFoundError):
            product_get(merchant=merchant, product_id=bad)


def test_embedding_text_drops_repeated_words_and_size_values():
    from types import SimpleNamespace

    from catalog.search.indexing import product_embedding_text

    product = SimpleNamespace(
        title_ar="حذاء رسمي أسود",
        title_en="Black formal shoes",
        attributes={"colour": "أسود", "size": ["40", "41", "42"], "المقاس": "XL", "material": "جلد"},
        tags=["Formal", "men"],
        description_ar="حذاء رسمي من الجلد الطبيعي",
        description_en="Formal shoes, genuine leather.",
    )
    text = product_embedding_text(product, "أحذية Shoes")
    assert text == "حذاء رسمي أسود | Black formal shoes | أحذية | جلد | men | من الجلد الطبيعي | genuine leather."
    for size in ("40", "41", "42", "XL"):
        assert size not in text.split()
