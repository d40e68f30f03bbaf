"""One assistant turn: normalise → language → intent → handler → reply (+ diagnostics).

Pure over a `state` dict (running product filters, products shown, pending question, failure
streak) so the same code serves channels (state stored on the Conversation), the simulator (state
in the cache) and the evaluation harness (state in memory)."""

import html
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from conversations.assistant import replies
from conversations.assistant.intents import IntentResult, classify, wants_bot_back
from conversations.assistant.language import Analysis, analyse, tokenize
from conversations.assistant.leads import lead_answer, lead_pending, lead_start
from conversations.services import Reply
from kaleem import metrics

__all__ = ["TurnResult", "run_turn", "wants_bot_back"]
logger = logging.getLogger(__name__)

MAX_ANALYSED_CHARS = 1000  # a 10,000-character message is stored whole but understood by its start
LOW_CONFIDENCE_HANDOFF_STREAK = 2
_TAGS = re.compile(r"<[^>]{0,500}>")
_SCRIPT = re.compile(r"<(script|style)[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_PHONE = re.compile(r"\+?\d[\d\s-]{7,14}\d")
_DIGITS = str.maketrans({chr(0x0660 + i): str(i) for i in range(10)} | {chr(0x06F0 + i): str(i) for i in range(10)})
_ORDER_NUMBER = re.compile(r"#?\s?([A-Za-z]{0,3}-?\d{3,12})")


@dataclass
class TurnResult:
    reply: Reply
    intent: str
    confidence: float
    language: str
    state: dict
    handoff: bool = False
    handoff_reason: str = ""
    evidence: list[dict] = field(default_factory=list)
    latency_ms: float = 0.0
    gap_reason: str = ""
    normalized: str = ""
    outcome: str = "answered"  # answered | fallback | handoff
    source: dict | None = None
    product_ids: list[str] = field(default_factory=list)
    intent_source: str = ""


def _min_intent_confidence() -> float:
    return float(getattr(settings, "ASSISTANT_MIN_INTENT_CONFIDENCE", 0.3))


def _strip_markup(text: str) -> str:
    text = _SCRIPT.sub(" ", text or "")
    text = _TAGS.sub(" ", text)
    return html.unescape(text)


_catalog_terms: dict[str, tuple[float, Any, frozenset]] = {}
_terms_lock = threading.Lock()
CATALOG_TERMS_RECHECK = 5.0  # seconds between catalog version checks per merchant and process


def _catalog_version(merchant_id: str) -> Any:
    from django.db.models import Count, Max

    from catalog.models import Product

    row = Product.objects.filter(merchant_id=merchant_id).aggregate(n=Count("id"), last=Max("updated_at"))
    return (row["n"], row["last"])


def catalog_terms(merchant: Any) -> frozenset:
    """Words of this store's product titles, descriptions, tags and categories: evidence that a message is
    about products. Rebuilt when the catalog changes (count / last update), checked every few seconds."""
    merchant_id = str(getattr(merchant, "pk", merchant))
    cached = _catalog_terms.get(merchant_id)
    now = time.monotonic()
    if cached is not None and now - cached[0] < CATALOG_TERMS_RECHECK:
        return cached[2]
    try:
        version = _catalog_version(merchant_id)
    except Exception:  # catalog not migrated in some test setups: no product vocabulary
        logger.debug("catalog version unavailable", exc_info=True)
        return frozenset()
    if cached is not None and cached[1] == version:
        with _terms_lock:
            _catalog_terms[merchant_id] = (now, version, cached[2])
        return cached[2]
    terms: set[str] = set()
    from catalog.models import Category, Product

    rows = Product.objects.filter(merchant_id=merchant_id, status="active").values_list(
        "title_ar", "title_en", "description_ar", "description_en", "tags"
    )[:5000]
    for title_ar, title_en, description_ar, description_en, tags in rows:
        words = f"{title_ar} {title_en} {description_ar} {description_en} {' '.join(map(str, tags or []))}"
        terms.update(t for t in tokenize(words) if len(t) >= 3 and not t.isdigit())
    for name_ar, name_en in Category.objects.filter(merchant_id=merchant_id).values_list("name_ar", "name_en"):
        terms.update(t for t in tokenize(f"{name_ar} {name_en}") if len(t) >= 3)
    value = frozenset(terms)
    with _terms_lock:
        _catalog_terms[merchant_id] = (now, version, value)
    return value


GENERIC_SHOPPING_WORDS = frozenset(
    tokenize(
        "ابي ابغى ابغا ابا اريد ارغب ودي عندكم لديكم تبيعون تبيع بيع شراء اشتري اشوف وريني ورني ابحث دور "
        "شي شيء حلو زين جديد الجديد متوفر موجود نوع انواع سعر بسعر ريال want looking sell selling buy need "
        "something nice new show see find get available price riyal sar store shop other متجر محل",
        keep_stopwords=True,
    )
)


def _term_known(token: str, terms: frozenset) -> bool:
    """Exact, or one is a prefix (≥ 3 letters) of the other: light stemming leaves "عبا"/"عباي"."""
    if token in terms:
        return True
    if any(token[:k] in terms for k in range(3, len(token))):
        return True
    return len(token) >= 3 and token in _prefixes(terms)


_prefix_cache: dict[frozenset, frozenset] = {}


def _prefixes(terms: frozenset) -> frozenset:
    cached = _prefix_cache.get(terms)  # frozensets cache their hash: a cheap lookup
    if cached is None:
        cached = frozenset(t[:k] for t in terms for k in range(3, len(t)))
        if len(_prefix_cache) > 256:
            _prefix_cache.clear()
        _prefix_cache[terms] = cached
    return cached


def _mentions_catalog(analysis: Analysis, terms: frozenset) -> bool:
    content = [t for t in analysis.tokens if t not in GENERIC_SHOPPING_WORDS and not t.isdigit()]
    if not content:
        return True  # "show me what you have": browsing is fine
    return any(_term_known(t, terms) for t in content)


def _faq_match(merchant: Any, analysis: Analysis) -> float:
    from merchants.knowledge.selectors import faq_question_match

    try:
        return faq_question_match(merchant=merchant, query=analysis.classifier_text)
    except Exception:  # knowledge unavailable: classify without it
        logger.debug("faq match unavailable", exc_info=True)
        return 0.0


def _embed(text: str) -> Any:
    from integrations.ai.embeddings import embed_cached

    try:
        return embed_cached([text])[0]
    except Exception:  # embeddings provider down: rules + character n-grams still work
        logger.warning("query embedding failed; continuing without it", exc_info=True)
        return None


def _store_name(merchant: Any) -> str:
    return getattr(merchant, "name", "") or "المتجر"


def run_turn(
    *,
    merchant: Any,
    text: str,
    state: dict | None = None,
    language_hint: str = "",
    has_attachments: bool = False,
    use_llm: bool = True,
    contact: Any = None,
    conversation_id: Any = None,
    turn_id: str | None = None,
) -> TurnResult:
    """One turn. `contact`/`conversation_id`/`turn_id` are passed to commerce (order ownership checks,
    idempotent checkout); the simulator and the evaluation leave them empty."""
    started = time.perf_counter()
    state = dict(state or {})
    streak = int(state.get("low_conf_streak", 0))
    cleaned = _strip_markup(text)[:MAX_ANALYSED_CHARS]
    analysis = analyse(cleaned, language_hint=language_hint or state.get("language", ""))
    language = analysis.language or "ar"
    if cleaned.strip().lower().startswith("cart:"):
        # a button payload carries no language: keep the conversation's
        language = language_hint or state.get("language") or language
    context = {"contact": contact, "conversation_id": conversation_id, "turn_id": turn_id}
    result = _dispatch(
        merchant=merchant,
        analysis=analysis,
        state=state,
        language=language,
        has_attachments=has_attachments,
        use_llm=use_llm,
        context=context,
    )
    result.state["language"] = language
    if result.outcome == "answered":
        result.state["low_conf_streak"] = 0
    elif result.gap_reason in ("low_confidence", "no_evidence"):
        streak += 1
        result.state["low_conf_streak"] = streak
        if streak >= LOW_CONFIDENCE_HANDOFF_STREAK and not result.handoff:
            result.handoff = True
            result.handoff_reason = "low_confidence"
            result.outcome = "handoff"
            result.gap_reason = result.gap_reason or "handoff"
            result.reply = Reply(text=replies.say("handoff_after_failures", language))
            result.state["low_conf_streak"] = 0
    if result.handoff:
        result.outcome = "handoff"
    if result.gap_reason and result.intent not in ("human_request",):
        result.state["last_question"] = analysis.raw[:500]
    result.language = language
    result.normalized = analysis.normalized[:500]
    result.latency_ms = round((time.perf_counter() - started) * 1000, 2)
    metrics.ASSISTANT_TURNS.labels(intent=result.intent, outcome=result.outcome).inc()
    metrics.ASSISTANT_TURN_SECONDS.observe(result.latency_ms / 1000)
    logger.info(
        "assistant turn",
        extra={
            "intent": result.intent,
            "confidence": result.confidence,
            "intent_source": result.intent_source,
            "outcome": result.outcome,
            "latency_ms": result.latency_ms,
        },
    )
    return result


def _dispatch(
    *,
    merchant: Any,
    analysis: Analysis,
    state: dict,
    language: str,
    has_attachments: bool,
    use_llm: bool,
    context: dict,
) -> TurnResult:
    def make(intent: str, confidence: float, text: str, elements: list | None = None, **kw: Any) -> TurnResult:
        return TurnResult(
            reply=Reply(text=text, elements=list(elements or [])),
            intent=intent,
            confidence=round(float(confidence), 4),
            language=language,
            state=state,
            **kw,
        )

    if not analysis.classifier_text or not re.search(r"[^\W_]", analysis.classifier_text):
        if has_attachments:
            return make("other", 1.0, replies.say("attachment", language), [replies.quick_reply("qr_human", language)])
        # empty, emoji-only or punctuation-only: invite a question, do not count as a failure
        return make(
            "other",
            1.0,
            replies.say("greeting", language, store=_store_name(merchant)),
            [replies.quick_reply("qr_new", language), replies.quick_reply("qr_shipping", language)],
        )

    from conversations.assistant.seams import NotAvailable, cart_action, commerce_pending

    # A commerce dialogue in progress (checkout question asked, or a cart button): commerce answers.
    if commerce_pending(state, analysis.raw):
        try:
            outcome = cart_action(
                merchant=merchant, action="reply", state=state, text=analysis.raw, language=language, **context
            )
        except NotAvailable:
            outcome = {"handled": False}
        if outcome.get("handled", True) and outcome.get("text"):
            return make("checkout", 0.95, outcome["text"], outcome.get("elements", []), intent_source="context")

    # A lead dialogue in progress (we asked for the name or the number of a customer to call back).
    if lead_pending(state):
        lead = lead_answer(
            merchant=merchant,
            state=state,
            text=analysis.raw,
            language=language,
            store_name=_store_name(merchant),
            **context,
        )
        if lead is not None:
            return make("lead_request", 0.95, lead["text"], lead["elements"], intent_source="context")

    # A pending question from the previous turn (we asked for the order's phone, or its number).
    if state.get("pending") == "order_phone":
        number = state.pop("order_number", "")
        state.pop("pending", None)
        phone = _PHONE.search(analysis.raw.translate(_DIGITS))
        if phone:
            from conversations.assistant.seams import order_phone_matches

            if number and order_phone_matches(merchant=merchant, order_number=number, phone=phone.group(0)):
                return _order_answer(merchant=merchant, number=number, language=language, make=make, verified=True)
            return make(
                "order_status",
                0.95,
                replies.say("order_not_found", language, number=number),
                [replies.quick_reply("qr_human", language)],
                outcome="fallback",
                gap_reason="not_available",
            )
    if state.get("pending") == "order_number":
        number = _ORDER_NUMBER.search(analysis.raw)
        if number:
            state.pop("pending", None)
            return _order_answer(
                merchant=merchant,
                number=number.group(1),
                language=language,
                make=make,
                contact=context["contact"],
                state=state,
            )
        state.pop("pending", None)

    vector = _embed(analysis.classifier_text)
    intent: IntentResult = classify(
        analysis,
        vector=vector,
        has_products_shown=bool(state.get("shown")),
        has_running_search=bool((state.get("search") or {}).get("query")),
        catalog_terms=catalog_terms(merchant),
        faq_match=_faq_match(merchant, analysis),
    )
    name, confidence = intent.intent, intent.confidence

    if intent.injection:
        return make(
            name,
            confidence,
            replies.say("injection", language),
            [replies.quick_reply("qr_human", language)],
            outcome="fallback",
            intent_source=intent.source,
        )
    if name == "human_request":
        return make(
            name,
            confidence,
            replies.say("handoff", language),
            handoff=True,
            handoff_reason="human_request",
            gap_reason="human_request",
            intent_source=intent.source,
        )
    if name == "lead_request":
        started = lead_start(state=state, text=analysis.raw, language=language)
        return make(name, confidence, started["text"], started["elements"], intent_source=intent.source)
    if name == "greeting":
        return make(
            name,
            confidence,
            replies.say("greeting", language, store=_store_name(merchant)),
            [
                replies.quick_reply("qr_new", language),
                replies.quick_reply("qr_returns", language),
                replies.quick_reply("qr_human", language),
            ],
            intent_source=intent.source,
        )
    if name == "thanks":
        return make(name, confidence, replies.say("thanks", language), intent_source=intent.source)
    if confidence < _min_intent_confidence() or name == "other":
        return make(
            name,
            confidence,
            replies.say("fallback", language),
            [replies.quick_reply("qr_human", language)],
            outcome="fallback",
            gap_reason="low_confidence",
            intent_source=intent.source,
        )
    if name == "order_status":
        number = _ORDER_NUMBER.search(analysis.raw)
        if not number:
            state["pending"] = "order_number"
            return make(name, confidence, replies.say("order_ask_number", language), intent_source=intent.source)
        result = _order_answer(
            merchant=merchant,
            number=number.group(1),
            language=language,
            make=make,
            contact=context["contact"],
            state=state,
        )
        result.confidence = confidence
        return result
    if name in ("cart_add", "cart_view", "checkout"):
        try:
            outcome = cart_action(
                merchant=merchant, action=name, state=state, text=analysis.raw, language=language, **context
            )
            if not outcome.get("text"):
                raise NotAvailable(name)
            return make(
                name, confidence, outcome.get("text", ""), outcome.get("elements", []), intent_source=intent.source
            )
        except NotAvailable:
            return make(
                name,
                confidence,
                replies.say("cart_not_available", language),
                [replies.quick_reply("qr_human", language)],
                outcome="fallback",
                gap_reason="not_available",
                intent_source=intent.source,
            )
    if name in ("product_search", "product_question"):
        from conversations.assistant.products import product_question_turn, product_search_turn

        if name == "product_question" and state.get("shown"):
            po = product_question_turn(merchant=merchant, analysis=analysis, state=state, language=language)
        else:
            from conversations.assistant.products import refinement_filters

            # A refinement re-runs the last search: a follow-up rule matched, or the message only adds a
            # colour/size/price constraint without naming anything new.
            refinement = intent.source == "context" or (
                bool((state.get("search") or {}).get("query"))
                and bool(refinement_filters(analysis, state))
                and not (catalog_terms(merchant) & set(analysis.tokens))
            )
            if not refinement and not _mentions_catalog(analysis, catalog_terms(merchant)):
                # Nothing in the question matches anything this store sells ("do you sell cars?"): say
                # so instead of showing whatever is semantically nearest.
                return make(
                    name,
                    confidence,
                    replies.say("products_none", language),
                    [replies.quick_reply("qr_human", language)],
                    outcome="fallback",
                    gap_reason="no_products",
                    intent_source=intent.source,
                )
            po = product_search_turn(
                merchant=merchant, analysis=analysis, state=state, language=language, refinement=refinement
            )
        return make(
            name,
            confidence,
            po.text,
            po.elements,
            evidence=po.evidence,
            product_ids=po.product_ids,
            outcome="answered" if po.found else "fallback",
            gap_reason="" if po.found else "no_products",
            intent_source=intent.source,
        )
    # policy_question
    from conversations.assistant.policies import policy_answer_turn

    pa = policy_answer_turn(merchant=merchant, analysis=analysis, vector=vector, language=language, use_llm=use_llm)
    return make(
        name,
        confidence,
        pa.text,
        pa.elements,
        evidence=pa.evidence,
        source=pa.source,
        outcome="answered" if pa.answered else "fallback",
        gap_reason="" if pa.answered else "no_evidence",
        intent_source=intent.source,
    )


def _order_answer(
    *,
    merchant: Any,
    number: str,
    language: str,
    make: Any,
    contact: Any = None,
    verified: bool = False,
    state: dict | None = None,
) -> TurnResult:
    """Order status from commerce. A contact that did not place the order must first give the order's
    phone number (asked here, checked on the next turn); a wrong phone is answered like an unknown order."""
    from conversations.assistant.seams import NotAvailable, order_lookup, order_needs_phone

    if not verified and state is not None:
        try:
            needs_phone = order_needs_phone(merchant=merchant, order_number=number, contact=contact)
        except Exception:  # commerce absent or failing: fall through to the lookup's own answer
            needs_phone = False
        if needs_phone:
            state["pending"] = "order_phone"
            state["order_number"] = number
            return make("order_status", 0.95, replies.say("order_ask_phone", language, number=number))
    try:
        order = order_lookup(
            merchant=merchant, order_number=number, contact=None if verified else contact, language=language
        )
    except NotAvailable:
        return make(
            "order_status",
            0.95,
            replies.say("order_not_available", language, number=number),
            [replies.quick_reply("qr_human", language)],
            outcome="fallback",
            gap_reason="not_available",
        )
    if order is None:
        return make(
            "order_status",
            0.95,
            replies.say("order_not_found", language, number=number),
            [replies.quick_reply("qr_human", language)],
            outcome="fallback",
            gap_reason="not_available",
        )
    return make("order_status", 0.95, replies.say("order_status", language, number=number, status=order["status"]))
