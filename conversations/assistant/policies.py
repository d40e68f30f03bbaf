"""Grounded answers to store questions: retrieve the merchant's knowledge, answer only from it.

Extractive by default: the best supporting sentences of the best source, quoted as written, with
the source named. Below the evidence threshold the assistant says it does not know and offers a
human — it never composes a price, duration or rule of its own. The optional LLM may rephrase the
same evidence; its output is checked by `integrations.ai.llm.guard_answer` and dropped if it adds
anything (numbers, prices, URLs, names) the evidence does not contain."""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from conversations.assistant import replies
from conversations.assistant.intents import policy_kind_hints
from conversations.assistant.language import Analysis
from merchants.knowledge.selectors import KnowledgeHit, knowledge_search

SECOND_SENTENCE_RATIO = 0.85


def _threshold() -> float:
    return float(getattr(settings, "ASSISTANT_POLICY_MIN_SCORE", 0.35))


@dataclass
class PolicyOutcome:
    text: str
    elements: list[dict[str, Any]]
    answered: bool
    evidence: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] | None = None


def _supported(hit: KnowledgeHit, hints: tuple[str, ...]) -> bool:
    """Beyond the score: the evidence must share words with the question, or be the policy kind the
    question names — a close embedding alone is not proof ('do you sell cars' ≈ 'do you ship cars')."""
    if hit.score < _threshold():
        return False
    if hit.lexical_score >= 0.25:
        return True
    if hints and hit.policy_kind in hints:
        return True
    return hit.vector_score >= 0.6


def _answer_sentences(hits: list[KnowledgeHit], limit: int = 2) -> list[str]:
    """The best chunk, plus the next best of the same source when it is nearly as relevant."""
    top = hits[0]
    chosen = [top.text]
    for hit in hits[1:]:
        if len(chosen) >= limit:
            break
        if hit.source_id == top.source_id and hit.score >= SECOND_SENTENCE_RATIO * top.score:
            chosen.append(hit.text)
    return chosen


def _source_label(hit: KnowledgeHit) -> str:
    return hit.title[:120]


def policy_answer_turn(
    *, merchant: Any, analysis: Analysis, vector: Any, language: str, use_llm: bool = True
) -> PolicyOutcome:
    hints = policy_kind_hints(analysis.classifier_text)
    hits = knowledge_search(
        merchant=merchant,
        query=analysis.classifier_text,
        query_vector=vector,
        language=language,
        kind_hints=hints,
        limit=6,
    )
    evidence = [{"kind": h.source_kind, "id": h.source_id, "score": h.score} for h in hits[:3]]
    if not hits or not _supported(hits[0], hints):
        return PolicyOutcome(
            text=replies.say("dont_know", language),
            elements=[replies.quick_reply("qr_human", language)],
            answered=False,
            evidence=evidence,
        )
    top = hits[0]
    body = " ".join(_answer_sentences(hits))
    if use_llm:
        from integrations.ai.llm import phrase_answer

        phrased = phrase_answer(
            merchant=merchant, question=analysis.raw, evidence=[h.text for h in hits[:3]], language=language
        )
        if phrased:
            body = phrased
    text = f"{body}\n{replies.say('policy_source', language, title=_source_label(top))}"
    return PolicyOutcome(
        text=text,
        elements=[replies.quick_reply("qr_human", language)],
        answered=True,
        evidence=evidence,
        source={"kind": top.source_kind, "id": top.source_id, "policy_kind": top.policy_kind},
    )
