"""Reads for store knowledge, including hybrid retrieval (vector + lexical) used by the assistant."""

import math
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet

from merchants.knowledge.indexing import KIND, knowledge_version
from merchants.knowledge.models import Faq, KnowledgeChunk, KnowledgeDocument, Policy


def policy_list(*, merchant: Any, kind: str | None = None, language: str | None = None) -> QuerySet:
    qs = Policy.objects.for_merchant(merchant)
    if kind:
        qs = qs.filter(kind=kind)
    if language:
        qs = qs.filter(language=language)
    return qs


def faq_list(*, merchant: Any, language: str | None = None) -> QuerySet:
    qs = Faq.objects.for_merchant(merchant)
    return qs.filter(language=language) if language else qs


def document_list(*, merchant: Any) -> QuerySet:
    return KnowledgeDocument.objects.for_merchant(merchant)


# Question words and helpers carry no topic: "how do I contact you" must not match "how do I pick a size".
QUESTION_WORDS = frozenset(
    "كيف متي وين فين ليش لماذا ماذا ما هل كم اين اي ايش وش شو اقدر اقدار ممكن يمكن ابي ابغي اريد تقدرون "
    "how what when where why which who can could would should is are do does did will my your you our us i "
    "me we it there any".split()
)
VECTOR_WEIGHT = 0.5
UNKNOWN_TOKEN_WEIGHT = 0.6
LANGUAGE_BONUS = 0.04
KIND_BONUS = 0.15


@dataclass
class _Entry:
    id: str
    source_kind: str
    source_id: str
    title: str
    text: str
    language: str
    policy_kind: str
    ordinal: int
    tokens: frozenset
    title_tokens: frozenset


@dataclass
class KnowledgeHit:
    chunk_id: str
    source_kind: str
    source_id: str
    title: str
    text: str
    language: str
    policy_kind: str
    ordinal: int
    score: float
    title_score: float
    vector_score: float
    lexical_score: float


def _query_tokens(query: str, index: "_MerchantIndex") -> set[str]:
    """Query tokens minus question words; a present-tense verb prefix (ا/ت/ي/ن) is dropped when only
    the bare form occurs in the knowledge ("اتواصل" → "تواصل")."""
    from catalog.search.normalize import tokenize

    tokens = set()
    for token in tokenize(query):
        if token in QUESTION_WORDS:
            continue
        if token not in index.idf and len(token) >= 5 and token[0] in "اتين" and token[1:] in index.idf:
            token = token[1:]
        tokens.add(token)
    return tokens


class _MerchantIndex:
    def __init__(self, entries: list[_Entry]) -> None:
        self.entries = {e.id: e for e in entries}
        df: Counter = Counter()
        for e in entries:
            df.update(e.tokens)
        n = max(len(entries), 1)
        self.idf = {t: math.log(1 + n / c) for t, c in df.items()}
        self.default_idf = math.log(1 + n)


_indexes: dict[str, tuple[int, _MerchantIndex]] = {}
_lock = threading.Lock()


def _index_for(merchant_id: str) -> _MerchantIndex:
    from catalog.search.normalize import tokenize

    version = knowledge_version(merchant_id)
    cached = _indexes.get(merchant_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = KnowledgeChunk.objects.filter(merchant_id=merchant_id).values_list(
        "id", "source_kind", "source_id", "title", "text", "language", "policy_kind", "ordinal"
    )
    entries = [
        _Entry(
            id=str(r[0]),
            source_kind=r[1],
            source_id=str(r[2]),
            title=r[3],
            text=r[4],
            language=r[5],
            policy_kind=r[6],
            ordinal=r[7],
            tokens=frozenset(tokenize(f"{r[3]} {r[4]}")) - QUESTION_WORDS,
            title_tokens=frozenset(tokenize(r[3])) - QUESTION_WORDS,
        )
        for r in rows
    ]
    index = _MerchantIndex(entries)
    with _lock:
        _indexes[merchant_id] = (version, index)
    return index


def knowledge_search(
    *,
    merchant: Any,
    query: str,
    query_vector: Any = None,
    language: str = "",
    kind_hints: tuple[str, ...] = (),
    limit: int = 5,
) -> list[KnowledgeHit]:
    """Best chunks for a question: cosine similarity from the vector index blended with IDF-weighted
    token overlap, nudged towards the customer's language and the policy kinds the question names."""

    merchant_id = str(getattr(merchant, "pk", merchant))
    index = _index_for(merchant_id)
    if not index.entries:
        return []
    vector_scores: dict[str, float] = {}
    if query_vector is not None:
        try:
            from catalog.search.backend import vector_search

            for point_id, score, _payload in vector_search(
                kind=KIND, merchant_id=merchant_id, vector=np.asarray(query_vector), limit=30
            ):
                vector_scores[point_id] = float(score)
        except Exception:  # Qdrant down: lexical only (degrade, don't fail)
            vector_scores = {}
    q_tokens = _query_tokens(query, index)
    # Words the knowledge never uses weigh less than its rarest words: they are often generic verbs
    # ("accept", "تقبلون"), but they still dilute the match for questions about unknown things.
    q_weight = sum(index.idf.get(t, UNKNOWN_TOKEN_WEIGHT * index.default_idf) for t in q_tokens) or 1.0
    hits: list[KnowledgeHit] = []
    for entry in index.entries.values():
        overlap = q_tokens & entry.tokens
        lexical = sum(index.idf.get(t, index.default_idf) for t in overlap) / q_weight if overlap else 0.0
        title_overlap = q_tokens & entry.title_tokens
        title_score = (
            sum(index.idf.get(t, index.default_idf) for t in title_overlap) / q_weight if title_overlap else 0.0
        )
        vector = vector_scores.get(entry.id, 0.0)
        if not overlap and entry.id not in vector_scores:
            continue
        score = VECTOR_WEIGHT * max(vector, 0.0) + (1 - VECTOR_WEIGHT) * lexical
        if language and entry.language == language:
            score += LANGUAGE_BONUS
        if kind_hints and entry.policy_kind in kind_hints:
            score += KIND_BONUS
        hits.append(
            KnowledgeHit(
                chunk_id=entry.id,
                source_kind=entry.source_kind,
                source_id=entry.source_id,
                title=entry.title,
                text=entry.text,
                language=entry.language,
                policy_kind=entry.policy_kind,
                ordinal=entry.ordinal,
                score=round(score, 4),
                title_score=round(title_score, 4),
                vector_score=round(vector, 4),
                lexical_score=round(lexical, 4),
            )
        )
    hits.sort(key=lambda h: h.score, reverse=True)
    return hits[:limit]


def faq_question_match(*, merchant: Any, query: str) -> float:
    """How well the question matches one of the store's FAQ questions (IDF-weighted share of the
    question's words found in the FAQ question), 0..1. Used as evidence of a store question."""
    index = _index_for(str(getattr(merchant, "pk", merchant)))
    q_tokens = _query_tokens(query, index)
    if not q_tokens:
        return 0.0
    q_weight = sum(index.idf.get(t, UNKNOWN_TOKEN_WEIGHT * index.default_idf) for t in q_tokens) or 1.0
    best = 0.0
    for entry in index.entries.values():
        if entry.source_kind != "faq":
            continue
        overlap = q_tokens & entry.title_tokens
        if overlap:
            best = max(best, sum(index.idf.get(t, index.default_idf) for t in overlap) / q_weight)
    return round(min(best, 1.0), 4)


def lead_chunk(*, merchant: Any, source_id: str) -> KnowledgeHit | None:
    """The first chunk of a source: a policy's lead sentence usually states its main rule."""
    index = _index_for(str(getattr(merchant, "pk", merchant)))
    entries = [e for e in index.entries.values() if e.source_id == source_id]
    if not entries:
        return None
    e = min(entries, key=lambda x: x.ordinal)
    return KnowledgeHit(
        chunk_id=e.id,
        source_kind=e.source_kind,
        source_id=e.source_id,
        title=e.title,
        text=e.text,
        language=e.language,
        policy_kind=e.policy_kind,
        ordinal=e.ordinal,
        score=0.0,
        title_score=0.0,
        vector_score=0.0,
        lexical_score=0.0,
    )
