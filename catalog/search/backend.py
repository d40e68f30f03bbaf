"""Every Qdrant call of the project goes through this module; tenant isolation is enforced here.

Two layouts (architecture §11), chosen by ``settings.VECTOR_LAYOUT`` ("auto" by default):

- **partitioned** (auto in local mode): one collection per (kind, embedding model, merchant). A search only
  ever touches the merchant's own collection, so local-mode payload filtering (Python-side, slow) is never
  used for isolation. Large local collections are searched through an in-process numpy mirror of the
  collection (exact cosine, ~10 ms at 100k points) because local-mode ``query_points`` is O(n) Python.
- **shared** (auto with ``QDRANT_URL``): one collection per (kind, model) with a keyword payload index on
  ``merchant_id`` (``is_tenant``) and a merchant condition added to *every* query and delete.

Callers pass ``merchant_id``; they cannot build a query without it, and the payload's ``merchant_id`` is always
written by this module. Point ids are UUID strings (or ints)."""

import logging
import re
import threading
import time
import uuid
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from django.conf import settings
from qdrant_client import models as qm

from kaleem.vectors import qdrant_client

logger = logging.getLogger(__name__)

Point = tuple[Any, Sequence[float], dict[str, Any]]
Hit = tuple[str, float, dict[str, Any]]

# Payload fields indexed on the server per kind (filters and tenant isolation).
PAYLOAD_INDEXES: dict[str, dict[str, Any]] = {
    "products": {
        "status": qm.PayloadSchemaType.KEYWORD,
        "category_ids": qm.PayloadSchemaType.KEYWORD,
        "price": qm.PayloadSchemaType.FLOAT,
        "in_stock": qm.PayloadSchemaType.BOOL,
        "language": qm.PayloadSchemaType.KEYWORD,
    },
    "knowledge": {"source_type": qm.PayloadSchemaType.KEYWORD, "language": qm.PayloadSchemaType.KEYWORD},
}

_known_collections: set[str] = set()
_collections_lock = threading.Lock()


class VectorBackendError(Exception):
    """Qdrant is unreachable or refused the operation."""


def _layout() -> str:
    layout = getattr(settings, "VECTOR_LAYOUT", "auto")
    if layout in ("partitioned", "shared"):
        return layout
    return "shared" if settings.QDRANT_URL else "partitioned"


def _model_slug(model: str | None) -> str:
    if model is None:
        from integrations.ai.embeddings import get_embedder

        model = get_embedder().model_name
    return re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")[:40] or "model"


def _merchant_key(merchant_id: Any) -> str:
    if merchant_id in (None, ""):
        raise ValueError("merchant_id is required for every vector operation")
    value = getattr(merchant_id, "pk", merchant_id)
    try:
        return uuid.UUID(str(value)).hex
    except ValueError:
        return re.sub(r"[^a-zA-Z0-9]", "", str(value))[:64]


def collection_name(*, kind: str, merchant_id: Any, model: str | None = None) -> str:
    base = f"kaleem_{kind}_{_model_slug(model)}"
    if _layout() == "partitioned":
        return f"{base}_m{_merchant_key(merchant_id)}"
    return base


def _point_id(value: Any) -> str | int:
    if isinstance(value, int):
        return value
    return str(uuid.UUID(str(value)))


def _ensure_collection(name: str, *, kind: str, dimension: int) -> None:
    if name in _known_collections:
        return
    with _collections_lock:
        if name in _known_collections:
            return
        client = qdrant_client()
        if not client.collection_exists(name):
            try:
                client.create_collection(
                    name, vectors_config=qm.VectorParams(size=dimension, distance=qm.Distance.COSINE)
                )
            except Exception:  # another process created it meanwhile
                if not client.collection_exists(name):
                    raise
            if _layout() == "shared":
                _create_payload_indexes(client, name, kind)
        _tune_local_storage(name)
        _known_collections.add(name)


def _tune_local_storage(name: str) -> None:
    """Local mode persists every point with its own SQLite commit (one fsync each: ~50 points/s on this disk
    under load). WAL + synchronous=NORMAL turns those commits into log appends. The vector index is derived
    data — `manage.py reindex_catalog` rebuilds it — so the weaker durability on power loss is acceptable."""
    if settings.QDRANT_URL:
        return
    try:
        collection = qdrant_client()._client.collections.get(name)
        storage = getattr(getattr(collection, "storage", None), "storage", None)
        if storage is not None:
            storage.execute("PRAGMA journal_mode=WAL")
            storage.execute("PRAGMA synchronous=NORMAL")
    except Exception:  # internals of qdrant-client's local mode: an optimisation only, never a failure
        logger.debug("could not tune local Qdrant storage for %s", name, exc_info=True)


def _create_payload_indexes(client: Any, name: str, kind: str) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Payload indexes have no effect")  # local client in tests
        client.create_payload_index(
            name,
            "merchant_id",
            field_schema=qm.KeywordIndexParams(type=qm.KeywordIndexType.KEYWORD, is_tenant=True),
        )
        for field, schema in PAYLOAD_INDEXES.get(kind, {}).items():
            client.create_payload_index(name, field, field_schema=schema)


def _exists(name: str) -> bool:
    if name in _known_collections:
        return True
    if qdrant_client().collection_exists(name):
        _tune_local_storage(name)
        _known_collections.add(name)
        return True
    return False


def _merchant_condition(merchant_id: Any) -> qm.FieldCondition:
    return qm.FieldCondition(key="merchant_id", match=qm.MatchValue(value=str(getattr(merchant_id, "pk", merchant_id))))


def _build_filter(merchant_id: Any, must: dict | None) -> qm.Filter | None:
    conditions: list[Any] = []
    # The merchant condition is redundant in the partitioned layout but kept: defence in depth, and the
    # shared layout must never run a query without it.
    conditions.append(_merchant_condition(merchant_id))
    for key, value in (must or {}).items():
        if key == "merchant_id":
            continue
        if isinstance(value, dict):
            conditions.append(qm.FieldCondition(key=key, range=qm.Range(**value)))
        elif isinstance(value, list | tuple | set):
            conditions.append(qm.FieldCondition(key=key, match=qm.MatchAny(any=list(value))))
        else:
            conditions.append(qm.FieldCondition(key=key, match=qm.MatchValue(value=value)))
    return qm.Filter(must=conditions)


# --- the in-process mirror used for large partitioned local collections -------------------------------------


class _Mirror:
    """Exact-cosine copy of one local collection: rows patched on every write made through this module.

    Filters are evaluated on numpy columns built lazily per payload key (and dropped on writes), so a
    search is one matrix-vector product, a boolean mask and an argpartition — no Python loop over points."""

    def __init__(self, dimension: int) -> None:
        self.matrix = np.zeros((0, dimension), dtype=np.float32)
        self.alive = np.zeros(0, dtype=bool)
        self.ids: list[str | int] = []
        self.payloads: list[dict] = []
        self.rows: dict[str | int, int] = {}
        self.lock = threading.Lock()
        self._columns: dict[str, Any] = {}
        # Large collections: a PCA projection gives a cheap first pass (reduced × query), then the best
        # `RERANK` candidates are scored exactly. Reading 100k × 128 floats instead of × 512 is ~4x less memory
        # traffic, which is what an exact scan at this size is bound by.
        self.projection: np.ndarray | None = None
        self.reduced: np.ndarray | None = None

    def upsert(self, ids: list, vectors: np.ndarray, payloads: list[dict]) -> None:
        with self.lock:
            self._columns.clear()
            new_rows = []
            for i, pid in enumerate(ids):
                row = self.rows.get(pid)
                if row is None:
                    new_rows.append(i)
                else:
                    self.matrix[row] = vectors[i]
                    self.payloads[row] = payloads[i]
                    self.alive[row] = True
                    if self.reduced is not None:
                        self.reduced[row] = vectors[i] @ self.projection
            if new_rows:
                start = len(self.ids)
                self.matrix = np.vstack([self.matrix, vectors[new_rows]])
                if self.reduced is not None:
                    self.reduced = np.vstack([self.reduced, vectors[new_rows] @ self.projection])
                self.alive = np.concatenate([self.alive, np.ones(len(new_rows), dtype=bool)])
                for offset, i in enumerate(new_rows):
                    self.ids.append(ids[i])
                    self.payloads.append(payloads[i])
                    self.rows[ids[i]] = start + offset

    def delete(self, ids: Iterable) -> None:
        with self.lock:
            for pid in ids:
                row = self.rows.get(pid)
                if row is not None:
                    self.alive[row] = False

    def _column(self, key: str) -> Any:
        column = self._columns.get(key)
        if column is None:
            values = [payload.get(key) for payload in self.payloads]
            if any(isinstance(v, list) for v in values):
                inverted: dict[Any, list[int]] = {}
                for row, value in enumerate(values):
                    for item in value if isinstance(value, list) else [value]:
                        inverted.setdefault(item, []).append(row)
                column = ("list", {k: np.asarray(v, dtype=np.int64) for k, v in inverted.items()})
            elif values and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in values if v is not None
            ):
                column = ("number", np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64))
            else:
                column = ("value", np.asarray(values, dtype=object))
            self._columns[key] = column
        return column

    def _mask(self, merchant: str, must: dict | None) -> np.ndarray:
        mask = self.alive.copy()
        for key, expected in [("merchant_id", merchant), *(must or {}).items()]:
            kind, column = self._column(key)
            if isinstance(expected, dict):
                if kind != "number":
                    mask[:] = False
                    continue
                for op, bound in expected.items():
                    if bound is None:
                        continue
                    compare = {"gte": np.greater_equal, "gt": np.greater, "lte": np.less_equal, "lt": np.less}[op]
                    with np.errstate(invalid="ignore"):
                        mask &= compare(column, float(bound))
            else:
                wanted = list(expected) if isinstance(expected, list | tuple | set) else [expected]
                if kind == "list":
                    hit = np.zeros(len(mask), dtype=bool)
                    for value in wanted:
                        rows = column.get(value)
                        if rows is not None:
                            hit[rows] = True
                    mask &= hit
                elif kind == "number":
                    mask &= np.isin(column, [float(w) for w in wanted if isinstance(w, int | float)])
                else:
                    mask &= np.isin(column, np.asarray(wanted, dtype=object))
        return mask

    def _ensure_reduced(self) -> None:
        dims = int(getattr(settings, "VECTOR_MIRROR_REDUCED_DIM", 128))
        if (
            self.reduced is not None
            or not dims
            or len(self.ids) < int(getattr(settings, "VECTOR_MIRROR_REDUCE_MIN_POINTS", 20_000))
        ):
            return
        rng = np.random.default_rng(0)
        sample = self.matrix[rng.choice(len(self.ids), size=min(4096, len(self.ids)), replace=False)]
        _, _, vt = np.linalg.svd(sample, full_matrices=False)
        self.projection = np.ascontiguousarray(vt[:dims].T, dtype=np.float32)
        self.reduced = np.ascontiguousarray(self.matrix @ self.projection, dtype=np.float32)

    def search(self, vector: np.ndarray, limit: int, merchant: str, must: dict | None) -> list[Hit]:
        with self.lock:
            if not len(self.ids):
                return []
            mask = self._mask(merchant, must)
            candidates = np.flatnonzero(mask)
            if not len(candidates):
                return []
            self._ensure_reduced()
            rerank = max(limit * 10, int(getattr(settings, "VECTOR_MIRROR_RERANK", 1000)))
            if self.reduced is not None and len(candidates) > rerank * 4:
                approx = self.reduced @ (self.projection.T @ vector)
                approx[~mask] = -np.inf
                short = np.argpartition(-approx, rerank - 1)[:rerank]
                short = short[mask[short]]
                exact = self.matrix[short] @ vector
                k = min(limit, len(short))
                top = np.argpartition(-exact, k - 1)[:k] if k < len(short) else np.arange(len(short))
                top = top[np.argsort(-exact[top], kind="stable")]
                return [(str(self.ids[short[i]]), float(exact[i]), self.payloads[short[i]]) for i in top]
            if len(candidates) < len(mask) // 4:
                scores = self.matrix[candidates] @ vector  # selective filter: score only what passed
            else:
                scores = (self.matrix @ vector)[candidates]
            k = min(limit, len(candidates))
            top = np.argpartition(-scores, k - 1)[:k] if k < len(candidates) else np.arange(len(candidates))
            top = top[np.argsort(-scores[top], kind="stable")]
            return [(str(self.ids[candidates[i]]), float(scores[i]), self.payloads[candidates[i]]) for i in top]


def _payload_matches(payload: dict, must: dict | None) -> bool:
    for key, expected in (must or {}).items():
        if key == "merchant_id":
            continue
        actual = payload.get(key)
        if isinstance(expected, dict):
            if actual is None:
                return False
            for op, bound in expected.items():
                if (
                    (op == "gte" and not actual >= bound)
                    or (op == "gt" and not actual > bound)
                    or (op == "lte" and not actual <= bound)
                    or (op == "lt" and not actual < bound)
                ):
                    return False
        elif isinstance(expected, list | tuple | set):
            values = actual if isinstance(actual, list) else [actual]
            if not set(values) & set(expected):
                return False
        else:
            values = actual if isinstance(actual, list) else [actual]
            if expected not in values:
                return False
    return True


_mirrors: dict[str, _Mirror] = {}
_mirrors_lock = threading.Lock()


def _use_mirror() -> bool:
    # Only in local mode: the storage is owned by this process (local mode locks its folder), so patching the
    # mirror on each write keeps it exact. A server is shared by processes and searched natively.
    return _layout() == "partitioned" and not settings.QDRANT_URL


def _mirror_for(name: str) -> _Mirror | None:
    mirror = _mirrors.get(name)
    if mirror is not None:
        return mirror
    client = qdrant_client()
    info = client.get_collection(name)
    count = client.count(name, exact=True).count
    # Local-mode query_points evaluates payload filters in Python per point (~0.2 ms each: 120 ms at 600
    # points), so by default every local search goes through the mirror.
    if count < getattr(settings, "VECTOR_MIRROR_MIN_POINTS", 0):
        return None
    with _mirrors_lock:
        if name in _mirrors:
            return _mirrors[name]
        dimension = info.config.params.vectors.size
        mirror = _Mirror(dimension)
        offset = None
        while True:
            records, offset = client.scroll(name, limit=4096, offset=offset, with_vectors=True, with_payload=True)
            if records:
                mirror.upsert(
                    [r.id for r in records],
                    np.asarray([r.vector for r in records], dtype=np.float32),
                    [r.payload or {} for r in records],
                )
            if offset is None:
                break
        _mirrors[name] = mirror
        return mirror


def drop_mirrors() -> None:
    """Forget in-process mirrors (tests and benchmarks that recreate the client)."""
    with _mirrors_lock:
        _mirrors.clear()
    with _collections_lock:
        _known_collections.clear()


# --- public API -------------------------------------------------------------------------------------------------


def vector_upsert(*, kind: str, merchant_id: Any, points: list[Point], model: str | None = None) -> None:
    if not points:
        return
    merchant = str(getattr(merchant_id, "pk", merchant_id))
    name = collection_name(kind=kind, merchant_id=merchant_id, model=model)
    ids = [_point_id(pid) for pid, _, _ in points]
    vectors = np.asarray([np.asarray(vec, dtype=np.float32) for _, vec, _ in points], dtype=np.float32)
    payloads = [{**(payload or {}), "merchant_id": merchant} for _, _, payload in points]
    try:
        _ensure_collection(name, kind=kind, dimension=int(vectors.shape[1]))
        qdrant_client().upsert(
            name,
            points=qm.Batch(ids=ids, vectors=vectors.tolist(), payloads=payloads),
            wait=True,
        )
    except Exception as exc:
        raise VectorBackendError(f"vector upsert failed: {exc}") from exc
    mirror = _mirrors.get(name)
    if mirror is not None:
        mirror.upsert(ids, vectors, payloads)


def vector_search(
    *,
    kind: str,
    merchant_id: Any,
    vector: Sequence[float],
    limit: int = 10,
    must: dict | None = None,
    model: str | None = None,
) -> list[Hit]:
    """Nearest points of this merchant only, best first: [(id, cosine score, payload)]."""
    merchant = str(getattr(merchant_id, "pk", merchant_id))
    name = collection_name(kind=kind, merchant_id=merchant_id, model=model)
    query = np.asarray(vector, dtype=np.float32)
    try:
        if not _exists(name):
            return []
        if _use_mirror():
            mirror = _mirror_for(name)
            if mirror is not None:
                norm = float(np.linalg.norm(query)) or 1.0
                return mirror.search(query / norm, limit, merchant, must)
        response = qdrant_client().query_points(
            name, query=query.tolist(), query_filter=_build_filter(merchant_id, must), limit=limit, with_payload=True
        )
    except Exception as exc:
        raise VectorBackendError(f"vector search failed: {exc}") from exc
    return [
        (str(p.id), float(p.score), p.payload or {})
        for p in response.points
        if (p.payload or {}).get("merchant_id") == merchant
    ]


def vector_delete(*, kind: str, merchant_id: Any, ids: list[Any], model: str | None = None) -> None:
    if not ids:
        return
    name = collection_name(kind=kind, merchant_id=merchant_id, model=model)
    point_ids = [_point_id(pid) for pid in ids]
    try:
        if not _exists(name):
            return
        # Delete by (ids AND merchant): in the shared layout an id of another merchant can never be removed.
        selector = qm.FilterSelector(
            filter=qm.Filter(must=[_merchant_condition(merchant_id), qm.HasIdCondition(has_id=point_ids)])
        )
        qdrant_client().delete(name, points_selector=selector, wait=True)
    except Exception as exc:
        raise VectorBackendError(f"vector delete failed: {exc}") from exc
    mirror = _mirrors.get(name)
    if mirror is not None:
        mirror.delete(point_ids)


def vector_get(*, kind: str, merchant_id: Any, ids: list[Any], model: str | None = None) -> dict[str, np.ndarray]:
    """Stored vectors of this merchant's points (missing ids are absent from the result)."""
    if not ids:
        return {}
    merchant = str(getattr(merchant_id, "pk", merchant_id))
    name = collection_name(kind=kind, merchant_id=merchant_id, model=model)
    try:
        if not _exists(name):
            return {}
        records = qdrant_client().retrieve(name, ids=[_point_id(i) for i in ids], with_vectors=True, with_payload=True)
    except Exception as exc:
        raise VectorBackendError(f"vector retrieve failed: {exc}") from exc
    return {
        str(r.id): np.asarray(r.vector, dtype=np.float32)
        for r in records
        if (r.payload or {}).get("merchant_id") == merchant and r.vector is not None
    }


def vector_ids(*, kind: str, merchant_id: Any, model: str | None = None) -> dict[str, dict[str, Any]]:
    """Every point of the merchant with its payload (drift reports, reindex)."""
    name = collection_name(kind=kind, merchant_id=merchant_id, model=model)
    try:
        if not _exists(name):
            return {}
        found: dict[str, dict[str, Any]] = {}
        offset = None
        flt = _build_filter(merchant_id, None)
        while True:
            records, offset = qdrant_client().scroll(
                name, scroll_filter=flt, limit=2048, offset=offset, with_payload=True, with_vectors=False
            )
            for r in records:
                found[str(r.id)] = r.payload or {}
            if offset is None:
                return found
    except Exception as exc:
        raise VectorBackendError(f"vector scroll failed: {exc}") from exc


_availability: dict[str, Any] = {"checked": 0.0, "ok": False}


def vector_available(*, max_age: float = 5.0) -> bool:
    """Whether Qdrant answers; cached a few seconds so a dead server costs one probe, not one per search."""
    now = time.monotonic()
    if now - _availability["checked"] < max_age:
        return bool(_availability["ok"])
    try:
        qdrant_client().get_collections()
        ok = True
    except Exception:
        logger.warning("Qdrant is unavailable; search falls back to lexical", exc_info=True)
        ok = False
    _availability.update(checked=now, ok=ok)
    return ok


def reset_availability() -> None:
    _availability.update(checked=0.0, ok=False)
