"""Derived knowledge data: chunks + vectors, rebuilt by the `knowledge.changed` outbox handler.

Idempotent: the handler recomputes the source's chunks from its current row, keeps unchanged chunks
(same content hash ⇒ no re-embedding), upserts the changed ones and deletes the rest."""

import hashlib
import logging
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from kaleem.core.errors import ApplicationError
from kaleem.db import atomic
from merchants.knowledge.models import Faq, KnowledgeChunk, KnowledgeDocument, Policy
from merchants.knowledge.text import chunk_text, extract_text, sentence_chunks

logger = logging.getLogger(__name__)
KIND = "knowledge"
MAX_DOCUMENT_CHUNKS = 2000


def knowledge_version(merchant_id: Any) -> int:
    return int(cache.get(f"knowledge:version:{merchant_id}") or 0)


def _bump_version(merchant_id: Any) -> None:
    key = f"knowledge:version:{merchant_id}"
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, None)


def _language_of(text: str) -> str:
    from catalog.search.normalize import detect_language

    return detect_language(text)


def _pieces(source_kind: str, obj: Any) -> list[dict[str, Any]]:
    if source_kind == "policy":
        # Sentence-sized chunks: a short customer question embeds close to one sentence, not to a page,
        # and the extractive answer quotes exactly the sentences that matched.
        return [
            {"title": obj.title, "text": piece, "language": obj.language, "policy_kind": obj.kind}
            for piece in sentence_chunks(obj.body)
        ]
    if source_kind == "faq":
        return [{"title": obj.question, "text": obj.answer.strip(), "language": obj.language, "policy_kind": ""}]
    # documents: extraction may fail or find nothing; the document row says so
    data = b""
    if obj.file:
        with obj.file.open("rb") as handle:
            data = handle.read()
    try:
        text = extract_text(data, obj.content_type)
    except ApplicationError as exc:
        KnowledgeDocument.objects.filter(id=obj.id).update(
            state=KnowledgeDocument.State.FAILED, error=exc.message[:500]
        )
        return []
    if not text.strip():
        KnowledgeDocument.objects.filter(id=obj.id).update(
            state=KnowledgeDocument.State.NO_TEXT,
            error="No text could be extracted (empty or scanned document).",
            text_chars=0,
            chunk_count=0,
        )
        return []
    language = obj.language or _language_of(text[:2000])
    pieces = chunk_text(text, max_chars=400)[:MAX_DOCUMENT_CHUNKS]
    KnowledgeDocument.objects.filter(id=obj.id).update(
        state=KnowledgeDocument.State.READY, error="", text_chars=len(text), chunk_count=len(pieces), language=language
    )
    return [{"title": obj.title, "text": piece, "language": language, "policy_kind": ""} for piece in pieces]


def embedding_text(title: str, text: str) -> str:
    return f"{title}: {text}" if title else text


def knowledge_source_reindex(*, merchant_id: Any, source_kind: str, source_id: Any) -> int:
    """Rebuild one source's chunks and vectors; returns the number of chunks now indexed."""
    model = {"policy": Policy, "faq": Faq, "document": KnowledgeDocument}[source_kind]
    obj = model.objects.filter(merchant_id=merchant_id, id=source_id).first()
    pieces = _pieces(source_kind, obj) if obj is not None else []
    existing = {
        c.ordinal: c
        for c in KnowledgeChunk.objects.filter(merchant_id=merchant_id, source_kind=source_kind, source_id=source_id)
    }
    to_embed: list[KnowledgeChunk] = []
    keep_ids = set()
    with atomic():
        for ordinal, piece in enumerate(pieces):
            digest = hashlib.sha256(
                f"{piece['title']}\x00{piece['text']}\x00{piece['language']}\x00{piece['policy_kind']}".encode()
            ).hexdigest()
            chunk = existing.get(ordinal)
            if chunk is not None and chunk.content_hash == digest and chunk.indexed_at:
                keep_ids.add(chunk.id)
                continue
            if chunk is None:
                chunk = KnowledgeChunk(
                    merchant_id=merchant_id, source_kind=source_kind, source_id=source_id, ordinal=ordinal
                )
            chunk.title = piece["title"][:500]
            chunk.text = piece["text"]
            chunk.language = piece["language"]
            chunk.policy_kind = piece["policy_kind"]
            chunk.content_hash = digest
            chunk.indexed_at = None
            chunk.save()
            keep_ids.add(chunk.id)
            to_embed.append(chunk)
        stale = [c.id for c in existing.values() if c.id not in keep_ids]
        if stale:
            KnowledgeChunk.objects.filter(id__in=stale).delete()
    _vectors_delete(merchant_id, stale)
    _vectors_upsert(merchant_id, to_embed)
    _bump_version(merchant_id)
    return len(pieces)


def _vectors_upsert(merchant_id: Any, chunks: list[KnowledgeChunk]) -> None:
    if not chunks:
        return
    from catalog.search.backend import vector_upsert
    from integrations.ai.embeddings import embed_cached

    vectors = embed_cached([embedding_text(c.title, c.text) for c in chunks])
    vector_upsert(
        kind=KIND,
        merchant_id=merchant_id,
        points=[
            (
                str(c.id),
                vectors[i],
                {
                    "source_type": c.source_kind,
                    "source_id": str(c.source_id),
                    "language": c.language,
                    "policy_kind": c.policy_kind,
                },
            )
            for i, c in enumerate(chunks)
        ],
    )
    KnowledgeChunk.objects.filter(id__in=[c.id for c in chunks]).update(indexed_at=timezone.now())


def _vectors_delete(merchant_id: Any, ids: list[Any]) -> None:
    if not ids:
        return
    from catalog.search.backend import vector_delete

    vector_delete(kind=KIND, merchant_id=merchant_id, ids=[str(i) for i in ids])


def on_knowledge_changed(event: Any) -> None:
    """Outbox handler for `knowledge.changed` (registered in MerchantsKnowledge startup)."""
    payload = event.payload or {}
    knowledge_source_reindex(
        merchant_id=event.merchant_id, source_kind=payload["source_kind"], source_id=payload["source_id"]
    )
