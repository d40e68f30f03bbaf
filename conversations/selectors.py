"""Reads for conversations: inbox lists, threads, answer gaps grouped by meaning, KPIs."""

from datetime import timedelta
from typing import Any

import numpy as np
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from conversations.models import AnswerGap, Conversation, Lead, Message
from kaleem.core.errors import NotFoundError


def conversation_list(
    *,
    merchant: Any,
    status: str | None = None,
    channel_id: Any = None,
    assigned_to: Any = None,
    unassigned: bool = False,
) -> QuerySet[Conversation]:
    qs = Conversation.objects.for_merchant(merchant).select_related("contact", "channel", "assigned_to")
    if status:
        qs = qs.filter(status__in=[s for s in status.split(",") if s in Conversation.Status.values])
    if channel_id:
        qs = qs.filter(channel_id=channel_id)
    if assigned_to is not None:
        qs = qs.filter(assigned_to_id=assigned_to)
    if unassigned:
        qs = qs.filter(assigned_to__isnull=True)
    return qs


def conversation_get(*, merchant: Any, conversation_id: Any) -> Conversation:
    conversation = (
        Conversation.objects.for_merchant(merchant)
        .select_related("contact", "channel", "assigned_to")
        .filter(id=conversation_id)
        .first()
    )
    if conversation is None:
        raise NotFoundError("Conversation not found.")
    return conversation


def message_list(*, merchant: Any, conversation_id: Any, include_notes: bool = True) -> QuerySet[Message]:
    conversation = conversation_get(merchant=merchant, conversation_id=conversation_id)
    qs = Message.objects.for_merchant(merchant).filter(conversation=conversation)
    if not include_notes:
        qs = qs.exclude(kind=Message.Kind.NOTE)
    return qs


def answer_gap_groups(
    *, merchant: Any, days: int = 30, limit: int = 20, threshold: float = 0.72, max_rows: int = 1000
) -> list[dict[str, Any]]:
    """Unanswered questions grouped by meaning (greedy clustering over embeddings), biggest group first."""
    since = timezone.now() - timedelta(days=days)
    gaps = list(
        AnswerGap.objects.for_merchant(merchant)
        .filter(created_at__gte=since, resolved_at__isnull=True)
        .exclude(reason=AnswerGap.Reason.HUMAN_REQUEST)
        .order_by("-created_at")
        .values("id", "question", "normalized", "language", "reason", "intent", "created_at")[:max_rows]
    )
    if not gaps:
        return []
    texts = [g["normalized"] or g["question"] for g in gaps]
    try:
        from integrations.ai.embeddings import embed_cached

        vectors = np.asarray(embed_cached(texts), dtype=np.float32)
    except Exception:  # no embedder: group identical normalised text only
        vectors = None
    groups: list[dict[str, Any]] = []
    centroids: list[np.ndarray] = []
    for index, gap in enumerate(gaps):
        target = None
        if vectors is not None and centroids:
            sims = np.asarray(centroids) @ vectors[index]
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                target = best
        elif vectors is None:
            target = next((i for i, g in enumerate(groups) if g["_key"] == texts[index]), None)
        if target is None:
            groups.append(
                {
                    "_key": texts[index],
                    "question": gap["question"],
                    "language": gap["language"],
                    "count": 0,
                    "examples": [],
                    "reasons": {},
                    "intents": {},
                    "last_seen_at": gap["created_at"],
                }
            )
            if vectors is not None:
                centroids.append(vectors[index].copy())
            target = len(groups) - 1
        group = groups[target]
        group["count"] += 1
        if len(group["examples"]) < 5 and gap["question"] not in group["examples"]:
            group["examples"].append(gap["question"])
        group["reasons"][gap["reason"]] = group["reasons"].get(gap["reason"], 0) + 1
        if gap["intent"]:
            group["intents"][gap["intent"]] = group["intents"].get(gap["intent"], 0) + 1
    for group in groups:
        group.pop("_key", None)
    groups.sort(key=lambda g: (-g["count"], -g["last_seen_at"].timestamp()))
    return groups[:limit]


def assistant_kpis(*, merchant: Any, days: int = 30) -> dict[str, Any]:
    """Coverage, hand-off rate and per-intent counts from stored messages (the dashboard's figures)."""
    since = timezone.now() - timedelta(days=days)
    inbound = Message.objects.for_merchant(merchant).filter(
        created_at__gte=since, direction=Message.Direction.INBOUND, assistant_claimed_at__isnull=False
    )
    turns = inbound.count()
    gaps = AnswerGap.objects.for_merchant(merchant).filter(created_at__gte=since)
    unanswered = gaps.values("message_id").distinct().count()
    handoffs = gaps.filter(reason__in=[AnswerGap.Reason.HUMAN_REQUEST, AnswerGap.Reason.HANDOFF]).count()
    conversations = Conversation.objects.for_merchant(merchant).filter(created_at__gte=since)
    per_intent = dict(
        inbound.exclude(intent="").values_list("intent").annotate(n=Count("id")).values_list("intent", "n")
    )
    return {
        "turns": turns,
        "coverage": round((turns - unanswered) / turns, 4) if turns else None,
        "handoffs": handoffs,
        "conversations": conversations.count(),
        "waiting_human": conversations.filter(status=Conversation.Status.WAITING_HUMAN).count(),
        "handoff_rate": round(conversations.filter(~Q(handoff_reason="")).count() / max(conversations.count(), 1), 4),
        "per_intent": per_intent,
    }


def lead_list(*, merchant: Any, status: str | None = None, conversation_id: Any = None) -> QuerySet[Lead]:
    qs = Lead.objects.for_merchant(merchant)
    if status:
        qs = qs.filter(status=status)
    if conversation_id:
        qs = qs.filter(conversation_id=conversation_id)
    return qs.order_by("-created_at", "-id")


def lead_get(*, merchant: Any, lead_id: Any) -> Lead:
    lead = Lead.objects.for_merchant(merchant).filter(id=lead_id).first()
    if lead is None:
        raise NotFoundError("Lead not found.")
    return lead
