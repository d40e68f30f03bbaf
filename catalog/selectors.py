"""Catalog reads: lookups scoped by merchant, and product search (the contract other areas call)."""

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from catalog.choices import ProductStatus
from catalog.errors import EmptyQueryError
from catalog.models import Category, ImportJob, Product, ProductImage
from catalog.search import engine
from catalog.search.indexing import product_embedding_text
from catalog.search.normalize import tokenize
from catalog.search.query import canonical_colour, canonical_size, parse_query
from kaleem import metrics
from kaleem.core.errors import NotFoundError

MAX_LIMIT = 50


@dataclass
class SearchResult:
    """items: [(product, score)] best first; applied_filters: what was parsed from the query or passed in;
    mode: "hybrid" (lexical + vectors) or "lexical" (no query text, or vectors unavailable)."""

    items: list[tuple[Product, float]]
    applied_filters: dict[str, Any]
    mode: str
    query: str = ""
    search_text: str = ""
    truncated: bool = False
    relaxed_filters: list[str] = field(default_factory=list)


def product_list(*, merchant: Any) -> QuerySet[Product]:
    return Product.objects.for_merchant(merchant).select_related("category")


def _products_by_ids(*, merchant: Any, ids: list[str], **extra: Any) -> dict[str, Product]:
    """Rows for ranked ids. Looked up by primary key only and checked against the merchant here: with
    `merchant_id = … AND id IN (…)` SQLite's planner walks the merchant's whole listing index (146 ms at 100k
    products) instead of 10 primary-key probes. Another store's row can still never come back."""
    if not ids:
        return {}
    rows = Product.objects.filter(id__in=ids, **extra).order_by().select_related("category")
    return {str(p.id): p for p in rows if p.merchant_id == merchant.pk}


def product_get(*, merchant: Any, product_id: Any) -> Product:
    try:
        return product_list(merchant=merchant).get(id=product_id)
    except (Product.DoesNotExist, ValueError, TypeError, ValidationError) as exc:  # malformed ids: not found
        raise NotFoundError("Product not found.") from exc


def product_images(*, merchant: Any, product: Product) -> QuerySet[ProductImage]:
    return ProductImage.objects.for_merchant(merchant).filter(product=product)


def category_list(*, merchant: Any) -> QuerySet[Category]:
    return Category.objects.for_merchant(merchant)


def category_get(*, merchant: Any, category_id: Any) -> Category:
    try:
        return category_list(merchant=merchant).get(id=category_id)
    except Exception as exc:
        raise NotFoundError("Category not found.") from exc


def import_job_get(*, merchant: Any, job_id: Any) -> ImportJob:
    try:
        return ImportJob.objects.for_merchant(merchant).get(id=job_id)
    except Exception as exc:
        raise NotFoundError("Import job not found.") from exc


def _truncate(query: str) -> tuple[str, bool]:
    limit = int(getattr(settings, "SEARCH_MAX_QUERY_CHARS", 512))
    if len(query) <= limit:
        return query, False
    cut = query[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).strip(), True


def _resolve_filters(merchant: Any, filters: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key in ("price_min", "price_max"):
        if filters.get(key) not in (None, ""):
            resolved[key] = float(filters[key])
    if filters.get("in_stock") not in (None, ""):
        value = filters["in_stock"]
        resolved["in_stock"] = value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    if filters.get("colour") or filters.get("color"):
        resolved["colour"] = canonical_colour(filters.get("colour") or filters.get("color"))
    if filters.get("size"):
        resolved["size"] = canonical_size(filters["size"])
    if filters.get("tag"):
        resolved["tag"] = str(filters["tag"]).strip().lower()
    category = filters.get("category")
    if category:
        qs = Category.objects.for_merchant(merchant)
        found = None
        try:
            found = qs.filter(id=category).first()
        except Exception:
            found = None
        found = found or qs.filter(slug=str(category)).first()
        # An unknown category is a filter that matches nothing, not an error (and never another store's).
        resolved["category"] = str(found.id) if found else str(category)
        resolved["category_ids"] = [str(found.id) if found else "__none__"]
    return resolved


def product_search(*, merchant: Any, query: str, filters: dict | None = None, limit: int = 10) -> SearchResult:
    """Hybrid (BM25 + vectors, RRF) search over the merchant's active products, with filters parsed from
    the query ("تحت 200 ريال", "under 50", colours, sizes) merged with explicit `filters`
    (category id/slug, price_min, price_max, in_stock, colour, size, tag; explicit wins).

    Empty queries raise EmptyQueryError (400); queries longer than SEARCH_MAX_QUERY_CHARS are cut at a word
    boundary (`truncated=True`)."""
    started = time.perf_counter()
    raw = (query or "").strip()
    if not raw and not filters:
        raise EmptyQueryError("The search query is empty.", fields={"q": ["Type what you are looking for."]})
    raw, truncated = _truncate(raw)
    limit = max(1, min(int(limit or 10), MAX_LIMIT))
    parsed = parse_query(raw)
    applied = {**parsed.filters, **_resolve_filters(merchant, filters or {})}
    text = parsed.text
    if not tokenize(text, keep_stopwords=True) and not applied:
        # Emoji-only or punctuation-only: nothing to search for, an empty answer (not an error).
        return SearchResult(
            items=[], applied_filters={}, mode="lexical", query=raw, search_text="", truncated=truncated
        )
    if tokenize(text, keep_stopwords=True):
        ranked = engine.rank(merchant_id=merchant.pk, text=text, filters=applied, limit=limit)
        ids, mode, relaxed = ranked.ids, ranked.mode, ranked.relaxed
    else:
        ids, mode, relaxed = _browse(merchant, applied, limit), "lexical", []
    by_id = _products_by_ids(merchant=merchant, ids=[pid for pid, _ in ids])
    items = [(by_id[pid], round(score, 6)) for pid, score in ids if pid in by_id]
    public_filters = {k: v for k, v in applied.items() if k != "category_ids"}
    for key in relaxed:
        public_filters.pop(key, None)
    metrics.SEARCH_SECONDS.labels(mode=mode).observe(time.perf_counter() - started)
    return SearchResult(
        items=items,
        applied_filters=public_filters,
        mode=mode,
        query=raw,
        search_text=text,
        truncated=truncated,
        relaxed_filters=relaxed,
    )


def _browse(merchant: Any, applied: dict[str, Any], limit: int) -> list[tuple[str, float]]:
    """Filters without words ("تحت 100 ريال"): matching products, in stock first, cheapest first."""
    index = engine.lexical_index_for(merchant.pk)
    mask = index.mask(applied)
    if mask is None or not index.size:
        return []
    rows = [int(r) for r in mask.nonzero()[0]]
    rows.sort(key=lambda r: (not bool(index.in_stock[r]), float(index.prices[r])))
    return [(index.ids[r], 1.0) for r in rows[:limit]]


def product_similar(*, merchant: Any, product_id: Any, limit: int = 6) -> list[tuple[Product, float]]:
    """Products like this one (vectors; lexical fallback), same store, active, itself excluded, in stock first."""
    product = product_get(merchant=merchant, product_id=product_id)
    limit = max(1, min(int(limit or 6), MAX_LIMIT))
    text = product_embedding_text(product, product.category.name if product.category else "")
    hits = engine.similar_ids(merchant_id=merchant.pk, product_id=str(product.id), text=text, limit=limit)
    by_id = _products_by_ids(merchant=merchant, ids=[pid for pid, _ in hits], status=ProductStatus.ACTIVE)
    return [(by_id[pid], round(score, 6)) for pid, score in hits if pid in by_id]
