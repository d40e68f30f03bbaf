"""Writes for store knowledge. Every change emits `knowledge.changed` in the same transaction; the
outbox handler (`indexing.knowledge_source_reindex`) rebuilds the source's chunks and vectors."""

import logging
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile

from kaleem.core.errors import ApplicationError, NotFoundError
from kaleem.db import atomic
from kaleem.outbox import emit
from merchants.knowledge.models import Faq, KnowledgeChunk, KnowledgeDocument, Policy, PolicyKind
from merchants.knowledge.text import document_type

logger = logging.getLogger(__name__)

POLICY_FIELDS = ("kind", "title", "body", "language", "key")
FAQ_FIELDS = ("question", "answer", "language", "key")


def max_document_bytes() -> int:
    return int(getattr(settings, "KNOWLEDGE_DOCUMENT_MAX_BYTES", 5 * 1_048_576))


def _changed(*, merchant: Any, source_kind: str, source_id: Any, deleted: bool = False) -> None:
    emit(
        merchant=merchant,
        event_type="knowledge.changed",
        payload={"source_kind": source_kind, "source_id": str(source_id), "deleted": deleted},
    )


def _audit(*, merchant: Any, actor: Any, action: str, target: Any) -> None:
    from merchants.services import audit

    audit(merchant=merchant, actor=actor, action=action, target=target)


def policy_create(
    *, merchant: Any, actor: Any = None, kind: str, title: str, body: str, language: str = "ar", key: str = ""
) -> Policy:
    if kind not in PolicyKind.values:
        raise ApplicationError("Unknown policy kind.", code="invalid", fields={"kind": ["Unknown kind."]})
    policy = Policy(merchant=merchant, kind=kind, title=title.strip(), body=body.strip(), language=language, key=key)
    policy.full_clean()
    with atomic():
        policy.save()
        _changed(merchant=merchant, source_kind="policy", source_id=policy.id)
        _audit(merchant=merchant, actor=actor, action="knowledge.policy_created", target=policy)
    return policy


def _get(model: Any, merchant: Any, object_id: Any, label: str) -> Any:
    obj = model.objects.for_merchant(merchant).filter(id=object_id).first()
    if obj is None:
        raise NotFoundError(f"{label} not found.")
    return obj


def policy_update(*, merchant: Any, actor: Any = None, policy_id: Any, data: dict[str, Any]) -> Policy:
    policy = _get(Policy, merchant, policy_id, "Policy")
    for name in POLICY_FIELDS:
        if name in data:
            value = data[name]
            setattr(policy, name, value.strip() if isinstance(value, str) else value)
    policy.full_clean()
    with atomic():
        policy.save()
        _changed(merchant=merchant, source_kind="policy", source_id=policy.id)
        _audit(merchant=merchant, actor=actor, action="knowledge.policy_updated", target=policy)
    return policy


def policy_delete(*, merchant: Any, actor: Any = None, policy_id: Any) -> None:
    policy = _get(Policy, merchant, policy_id, "Policy")
    with atomic():
        _audit(merchant=merchant, actor=actor, action="knowledge.policy_deleted", target=policy)
        _changed(merchant=merchant, source_kind="policy", source_id=policy.id, deleted=True)
        policy.delete()


def faq_create(
    *, merchant: Any, actor: Any = None, question: str, answer: str, language: str = "ar", key: str = ""
) -> Faq:
    faq = Faq(merchant=merchant, question=question.strip(), answer=answer.strip(), language=language, key=key)
    faq.full_clean()
    with atomic():
        faq.save()
        _changed(merchant=merchant, source_kind="faq", source_id=faq.id)
        _audit(merchant=merchant, actor=actor, action="knowledge.faq_created", target=faq)
    return faq


def faq_update(*, merchant: Any, actor: Any = None, faq_id: Any, data: dict[str, Any]) -> Faq:
    faq = _get(Faq, merchant, faq_id, "FAQ")
    for name in FAQ_FIELDS:
        if name in data:
            value = data[name]
            setattr(faq, name, value.strip() if isinstance(value, str) else value)
    faq.full_clean()
    with atomic():
        faq.save()
        _changed(merchant=merchant, source_kind="faq", source_id=faq.id)
        _audit(merchant=merchant, actor=actor, action="knowledge.faq_updated", target=faq)
    return faq


def faq_delete(*, merchant: Any, actor: Any = None, faq_id: Any) -> None:
    faq = _get(Faq, merchant, faq_id, "FAQ")
    with atomic():
        _audit(merchant=merchant, actor=actor, action="knowledge.faq_deleted", target=faq)
        _changed(merchant=merchant, source_kind="faq", source_id=faq.id, deleted=True)
        faq.delete()


def document_upload(
    *, merchant: Any, actor: Any = None, filename: str, data: bytes, title: str = "", language: str = ""
) -> KnowledgeDocument:
    """Store the upload; text extraction and chunking happen in the outbox handler (state: processing)."""
    content_type = document_type(filename)
    limit = max_document_bytes()
    if len(data) > limit:
        raise ApplicationError(
            f"The document is too large ({len(data)} bytes); the limit is {limit} bytes.",
            code="payload_too_large",
            status_code=413,
            fields={"file": [f"Maximum size is {limit // 1_048_576} MB."]},
        )
    document = KnowledgeDocument(
        merchant=merchant,
        title=(title or filename).strip()[:200] or "Document",
        filename=filename[:255],
        content_type=content_type,
        size_bytes=len(data),
        language=language if language in ("ar", "en") else "",
        state=KnowledgeDocument.State.PROCESSING,
    )
    document.full_clean(exclude=["file"])
    with atomic():
        document.file.save(filename[-100:], ContentFile(data), save=False)
        document.save()
        _changed(merchant=merchant, source_kind="document", source_id=document.id)
        _audit(merchant=merchant, actor=actor, action="knowledge.document_uploaded", target=document)
    return document


def document_update(*, merchant: Any, actor: Any = None, document_id: Any, data: dict[str, Any]) -> KnowledgeDocument:
    document = _get(KnowledgeDocument, merchant, document_id, "Document")
    if "title" in data:
        document.title = str(data["title"]).strip()[:200] or document.title
    if "language" in data and data["language"] in ("ar", "en", ""):
        document.language = data["language"]
    with atomic():
        document.save()
        _changed(merchant=merchant, source_kind="document", source_id=document.id)
        _audit(merchant=merchant, actor=actor, action="knowledge.document_updated", target=document)
    return document


def document_delete(*, merchant: Any, actor: Any = None, document_id: Any) -> None:
    document = _get(KnowledgeDocument, merchant, document_id, "Document")
    with atomic():
        _audit(merchant=merchant, actor=actor, action="knowledge.document_deleted", target=document)
        _changed(merchant=merchant, source_kind="document", source_id=document.id, deleted=True)
        file = document.file
        document.delete()
    if file:
        try:
            file.delete(save=False)
        except OSError:
            logger.warning("could not remove knowledge file %s", file.name, exc_info=True)


def knowledge_reindex_all(*, merchant: Any) -> int:
    """Re-emit a change for every source (after an embedding-model switch)."""
    count = 0
    with atomic():
        for model, kind in ((Policy, "policy"), (Faq, "faq"), (KnowledgeDocument, "document")):
            for source_id in model.objects.for_merchant(merchant).values_list("id", flat=True):
                _changed(merchant=merchant, source_kind=kind, source_id=source_id)
                count += 1
    return count


def chunks_for_source(*, merchant: Any, source_kind: str, source_id: Any) -> list[KnowledgeChunk]:
    return list(
        KnowledgeChunk.objects.for_merchant(merchant)
        .filter(source_kind=source_kind, source_id=source_id)
        .order_by("ordinal")
    )


def faq_create_from_gap(
    *, merchant: Any, actor: Any = None, gap_id: Any, question: str, answer: str, language: str = "ar"
) -> tuple[Faq, int]:
    """Answer an unanswered question once: marks every pending gap of its group (same normalised
    question) resolved and creates the FAQ, in one transaction. Returns (faq, gaps resolved).
    Another store's gap is not found. The resolve is a conditional update that goes first: a double
    submit (or two admins at once) finds nothing left to resolve and creates no second FAQ."""
    from django.utils import timezone

    from conversations.models import AnswerGap

    sample = AnswerGap.objects.for_merchant(merchant).filter(id=gap_id).first()
    if sample is None:
        raise NotFoundError("Unanswered question not found.")
    group = AnswerGap.objects.for_merchant(merchant).filter(resolved_at__isnull=True)
    group = group.filter(normalized=sample.normalized) if sample.normalized else group.filter(id=sample.id)
    with atomic():
        resolved = group.update(resolved_at=timezone.now())
        if not resolved:
            raise ApplicationError("This question was already answered.", code="already_resolved", status_code=409)
        faq = faq_create(merchant=merchant, actor=actor, question=question, answer=answer, language=language)
    return faq, resolved
