"""One isolation suite for both vector layouts (partitioned = local default, shared = server layout)."""

import uuid

import numpy as np
import pytest
from django.test import override_settings

from catalog.search import backend


def _vec(seed: int, dim: int = 16) -> list[float]:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=dim).astype(np.float32)
    return (v / np.linalg.norm(v)).tolist()


@pytest.fixture(params=["partitioned", "shared", "partitioned-qdrant-query"])
def layout(request):
    name = request.param
    overrides = {"VECTOR_LAYOUT": name.split("-")[0]}
    if name == "partitioned-qdrant-query":  # the mirror switched off: Qdrant's own query path
        overrides["VECTOR_MIRROR_MIN_POINTS"] = 10**9
    with override_settings(**overrides):
        backend.drop_mirrors()
        yield name
        backend.drop_mirrors()


def test_merchant_never_sees_other_merchants_vectors(layout):
    a, b = uuid.uuid4(), uuid.uuid4()
    kind = "products"
    shared_vector = _vec(1)
    a_id, b_id = str(uuid.uuid4()), str(uuid.uuid4())
    backend.vector_upsert(kind=kind, merchant_id=a, points=[(a_id, _vec(2), {"status": "active"})])
    # B's point is the exact query vector: the best possible match, and still invisible to A.
    backend.vector_upsert(kind=kind, merchant_id=b, points=[(b_id, shared_vector, {"status": "active"})])
    hits_a = backend.vector_search(kind=kind, merchant_id=a, vector=shared_vector, limit=10)
    assert [h[0] for h in hits_a] == [a_id]
    assert hits_a[0][2]["merchant_id"] == str(a)
    hits_b = backend.vector_search(kind=kind, merchant_id=b, vector=shared_vector, limit=10)
    assert [h[0] for h in hits_b] == [b_id]
    # A cannot read or delete B's point by id.
    assert backend.vector_get(kind=kind, merchant_id=a, ids=[b_id]) == {}
    backend.vector_delete(kind=kind, merchant_id=a, ids=[b_id])
    assert [h[0] for h in backend.vector_search(kind=kind, merchant_id=b, vector=shared_vector)] == [b_id]
    assert set(backend.vector_ids(kind=kind, merchant_id=a)) == {a_id}


def test_caller_payload_cannot_forge_merchant(layout):
    a, b = uuid.uuid4(), uuid.uuid4()
    pid = str(uuid.uuid4())
    backend.vector_upsert(kind="products", merchant_id=a, points=[(pid, _vec(3), {"merchant_id": str(b)})])
    assert backend.vector_search(kind="products", merchant_id=b, vector=_vec(3)) == []
    assert backend.vector_search(kind="products", merchant_id=a, vector=_vec(3))[0][0] == pid


def test_filters_upsert_replace_and_delete(layout):
    m = uuid.uuid4()
    ids = [str(uuid.uuid4()) for _ in range(5)]
    points = [
        (pid, _vec(10 + i), {"price": 10.0 * i, "in_stock": i % 2 == 0, "category_ids": [f"c{i}"]})
        for i, pid in enumerate(ids)
    ]
    backend.vector_upsert(kind="products", merchant_id=m, points=points)
    hits = backend.vector_search(
        kind="products", merchant_id=m, vector=_vec(10), limit=10, must={"price": {"lte": 25.0}}
    )
    assert {h[0] for h in hits} == set(ids[:3])
    hits = backend.vector_search(kind="products", merchant_id=m, vector=_vec(10), limit=10, must={"in_stock": True})
    assert {h[0] for h in hits} == {ids[0], ids[2], ids[4]}
    hits = backend.vector_search(
        kind="products", merchant_id=m, vector=_vec(10), limit=10, must={"category_ids": ["c1", "c3"]}
    )
    assert {h[0] for h in hits} == {ids[1], ids[3]}
    assert backend.vector_search(kind="products", merchant_id=m, vector=_vec(10), limit=1)[0][0] == ids[0]
    backend.vector_delete(kind="products", merchant_id=m, ids=[ids[0]])
    assert ids[0] not in {h[0] for h in backend.vector_search(kind="products", merchant_id=m, vector=_vec(10))}
    backend.vector_upsert(kind="products", merchant_id=m, points=[(ids[1], _vec(10), {"price": 1.0})])
    assert backend.vector_search(kind="products", merchant_id=m, vector=_vec(10), limit=1)[0][0] == ids[1]


def test_kinds_are_separate(layout):
    m = uuid.uuid4()
    pid = str(uuid.uuid4())
    backend.vector_upsert(kind="knowledge", merchant_id=m, points=[(pid, _vec(5), {"source_type": "faq"})])
    assert backend.vector_search(kind="products", merchant_id=m, vector=_vec(5)) == []
    assert backend.vector_search(kind="knowledge", merchant_id=m, vector=_vec(5))[0][0] == pid


def test_merchant_is_mandatory():
    with pytest.raises(ValueError):
        backend.vector_search(kind="products", merchant_id=None, vector=_vec(1))


def test_available_with_local_client():
    backend.reset_availability()
    assert backend.vector_available() is True


def test_mirror_reduced_first_pass_matches_exact_search():
    """Large local collections use a PCA first pass + exact re-rank; the top results must equal exact ones."""
    from catalog.search.backend import _Mirror

    rng = np.random.default_rng(3)
    centers = rng.normal(size=(40, 64)).astype(np.float32)
    vectors = centers[rng.integers(0, 40, size=3000)] + 0.5 * rng.normal(size=(3000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [str(uuid.uuid4()) for _ in range(3000)]
    payloads = [{"merchant_id": "m", "price": float(i % 100)} for i in range(3000)]
    exact, approx = _Mirror(64), _Mirror(64)
    exact.upsert(ids, vectors, payloads)
    approx.upsert(ids, vectors, payloads)
    with override_settings(
        VECTOR_MIRROR_REDUCE_MIN_POINTS=1000, VECTOR_MIRROR_REDUCED_DIM=16, VECTOR_MIRROR_RERANK=300
    ):
        for i in range(10):
            query = vectors[i * 7]
            fast = approx.search(query, 10, "m", {"price": {"lte": 50.0}})
            assert approx.reduced is not None
            with override_settings(VECTOR_MIRROR_REDUCED_DIM=0):
                slow = exact.search(query, 10, "m", {"price": {"lte": 50.0}})
            assert [h[0] for h in fast][:5] == [h[0] for h in slow][:5]
            assert all(h[2]["price"] <= 50.0 for h in fast)
        # writes after the projection exists keep the reduced rows in step
        approx.upsert([ids[0]], vectors[1:2], [{"merchant_id": "m", "price": 1.0}])
        assert approx.search(vectors[1], 2, "m", None)[0][0] in {ids[0], ids[1]}
