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
from merchants.knowledge.selectors import KnowledgeHit, knowledge_search, lead_chunk

SECOND_SENTENCE_RATIO = 0.9
HINTED_MIN_SCORE = 0.15
FAQ_LEXICAL_MIN = 0.4
FAQ_STRONG_LEXICAL = 0.6
WEAK_LEXICAL = 0.2


def _threshold() -> float:
    return float(getattr(settings, "ASSISTANT_POLICY_MIN_SCORE", 0.35))


@dataclass
class PolicyOutcome:
    text: str
    elements: list[dict[str, Any]]
    answered: bool
    evidence: list[dict[str, Any]] = field(default_factory=list)
    source: dict[str, Any] | None = None


def _choose(hits: list[KnowledgeHit], hints: tuple[str, ...]) -> KnowledgeHit | None:
    """The hit to answer from, or None (don't know).

    When the question names a policy kind, the answer must come from that kind (or from an FAQ that
    shares the question's words): the kind is strong evidence, so a lower score suffices. Otherwise
    the best hit needs both a good score and real word overlap or a close embedding — a close
    embedding alone is not proof ('do you sell cars' is near 'do you ship cars')."""
    if hints:
        candidates = [
            h
            for h in hits
            if h.policy_kind in hints
            or (h.source_kind == "faq" and (h.title_score >= FAQ_LEXICAL_MIN or h.lexical_score >= FAQ_STRONG_LEXICAL))
        ]
        if candidates and candidates[0].score >= HINTED_MIN_SCORE:
            return candidates[0]
        return None
    top = hits[0]
    if top.score >= _threshold() and (top.lexical_score >= 0.3 or top.vector_score >= 0.55):
        return top
    return None


def _answer_chunks(*, merchant: Any, chosen: KnowledgeHit, hits: list[KnowledgeHit]) -> list[KnowledgeHit]:
    """The chosen chunk; with weak word evidence, the policy's lead sentence first (it states the rule);
    plus the next chunk of the same source when it is nearly as relevant."""
    if chosen.source_kind == "faq":
        return [chosen]
    chunks = [chosen]
    if chosen.lexical_score < WEAK_LEXICAL and chosen.ordinal != 0:
        lead = lead_chunk(merchant=merchant, source_id=chosen.source_id)
        if lead is not None:
            chunks = [lead, chosen] if chosen.lexical_score > 0 else [lead]
    for hit in hits:
        if len(chunks) >= 2:
            break
        if (
            hit.source_id == chosen.source_id
            and all(hit.chunk_id != c.chunk_id for c in chunks)
            and hit.score >= SECOND_SENTENCE_RATIO * chosen.score
        ):
            chunks.append(hit)
    return sorted(chunks, key=lambda c: c.ordinal)


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
        limit=10,
    )
    evidence = [{"kind": h.source_kind, "id": h.source_id, "score": h.score} for h in hits[:3]]
    chosen = _choose(hits, hints) if hits else None
    if chosen is None:
        return PolicyOutcome(
            text=replies.say("dont_know", language),
            elements=[replies.quick_reply("qr_human", language)],
            answered=False,
            evidence=evidence,
        )
    top = chosen
    evidence = [{"kind": chosen.source_kind, "id": chosen.source_id, "score": chosen.score}] + [
        e for e in evidence if e["id"] != chosen.source_id
    ][:2]
    chunks = _answer_chunks(merchant=merchant, chosen=chosen, hits=hits)
    body = " ".join(c.text for c in chunks)
    if use_llm:
        from integrations.ai.llm import phrase_answer

        phrased = phrase_answer(
            merchant=merchant, question=analysis.raw, evidence=[c.text for c in chunks], language=language
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
