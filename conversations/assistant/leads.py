"""Lead capture in the chat: "call me back" / "كلموني" → name → Saudi mobile (validated) → a Lead through
`conversations.services.lead_capture` (idempotent per turn: key "turn:<message id>") → `lead.created`
through the outbox → confirmation, in the customer's language.

The dialogue lives in `state["lead"]` (`step` "name" | "phone", `name`, `phone`, `interest`); like the
checkout dialogue it is replaced, never mutated in place, so a re-run from an earlier copy of the state
sees the state before the turn. "cancel"/"إلغاء" stops it; a message with "?"/"؟" at the name step is a
question for the assistant (the step stays); a long message at the name step is not a name (the
dialogue ends and the assistant answers it); a name and number in one message are both taken."""

import re
from typing import Any

TEXT = {
    "ask_name": {
        "ar": "أكيد، بيتواصل معك فريقنا. وش اسمك الكريم؟",
        "en": "Sure, our team will get in touch with you. What's your name?",
    },
    "ask_phone": {
        "ar": "تشرفنا يا {name}! وش رقم جوالك اللي نتواصل معك عليه؟ (مثل 05XXXXXXXX)",
        "en": "Thanks, {name}! Which mobile number should we contact you on? (e.g. 05XXXXXXXX)",
    },
    "bad_phone": {
        "ar": "الرقم غير صحيح. اكتب رقم جوال سعودي مثل 0551234567 أو ‎+966551234567.",
        "en": "That number doesn't look right. Please send a Saudi mobile number like 0551234567 or +966551234567.",
    },
    "too_short": {
        "ar": "ممكن تكتب اسمك؟",
        "en": "Could you tell me your name?",
    },
    "done": {
        "ar": "تم ✅ سجلنا طلبك يا {name}، وبيتواصل معك فريق {store} على الرقم {phone} في أقرب وقت.",
        "en": "Done ✅ Thanks, {name}: the {store} team will contact you on {phone} as soon as possible.",
    },
    "cancelled": {
        "ar": "تمام، ألغيت طلب التواصل. إذا احتجت شي ثاني أنا موجود.",
        "en": "OK, I've cancelled the contact request. I'm here if you need anything else.",
    },
    "qr_cancel": {"ar": "إلغاء", "en": "Cancel"},
}

_CANCEL = re.compile(
    r"^\s*(lead:cancel|cancel|no|stop|never ?mind|no thanks|لا|إلغاء|الغاء|الغي|ألغي|خلاص|لا شكرا|لا شكراً)\s*[.!]*\s*$",
    re.I,
)
_QUESTION = re.compile(r"[?؟]")
_PHONE_IN_TEXT = re.compile(r"(?:\+|00)?[0-9٠-٩۰-۹](?:[\s\-().]?[0-9٠-٩۰-۹]){7,14}")
_NAME_NOISE = re.compile(r"^(اسمي|انا|أنا|الاسم|my name is|i am|i'm|name)\s*[:：,،-]?\s*", re.I)
MAX_NAME = 120
MAX_NAME_WORDS = 6


def _say(key: str, language: str, **values: Any) -> str:
    templates = TEXT[key]
    return templates.get(language, templates["ar"]).format(**values)


def _cancel_button(language: str) -> list[dict]:
    return [{"type": "quick_reply", "title": _say("qr_cancel", language), "payload": "lead:cancel"}]


def _normalize_phone(text: str) -> str | None:
    from catalog.commerce_services import normalize_saudi_phone

    return normalize_saudi_phone(text)


def _find_phone(text: str) -> tuple[str | None, str]:
    """(normalised Saudi mobile found in the text, the text without it)."""
    for match in _PHONE_IN_TEXT.finditer(text):
        phone = _normalize_phone(match.group(0))
        if phone:
            return phone, (text[: match.start()] + " " + text[match.end() :]).strip()
    return None, text


def _clean_name(text: str) -> str:
    name = _NAME_NOISE.sub("", text.strip()).strip(" .,،!:-")
    return " ".join(name.split())[:MAX_NAME]


def lead_pending(state: dict) -> bool:
    return bool((state.get("lead") or {}).get("step"))


def lead_start(*, state: dict, text: str, language: str) -> dict:
    """The customer asked to be contacted: ask for the name (the number too if it was not given)."""
    phone, _rest = _find_phone(text)
    state["lead"] = {"step": "name", "interest": text.strip()[:500], **({"phone": phone} if phone else {})}
    return {"text": _say("ask_name", language), "elements": _cancel_button(language)}


def lead_answer(
    *,
    merchant: Any,
    state: dict,
    text: str,
    language: str,
    store_name: str,
    contact: Any = None,
    conversation_id: Any = None,
    turn_id: str | None = None,
) -> dict | None:
    """The answer to the pending lead question, or None when the message is not one (a question for
    the assistant): {"text", "elements", "lead_id"?}."""
    box = {**(state.get("lead") or {})}
    state["lead"] = box
    step = box.get("step")
    text = (text or "").strip()[:500]
    if _CANCEL.match(text):
        state.pop("lead", None)
        return {"text": _say("cancelled", language), "elements": []}
    if step == "name":
        if _QUESTION.search(text):
            return None
        phone, rest = _find_phone(text)
        if len(rest.split()) > MAX_NAME_WORDS and not phone:
            # "عندكم عبايات سوداء بمقاس كبير وسعر مناسب" is not a name: the customer moved on
            state.pop("lead", None)
            return None
        if phone:
            box["phone"] = phone
        name = _clean_name(rest)
        if len(name) < 2 or any(ch.isdigit() for ch in name):
            return {"text": _say("too_short", language), "elements": _cancel_button(language)}
        box["name"] = name
        if not box.get("phone"):
            box["step"] = "phone"
            return {"text": _say("ask_phone", language, name=name), "elements": _cancel_button(language)}
    elif step == "phone":
        phone = _normalize_phone(text) or _find_phone(text)[0]
        if phone is None:
            return {"text": _say("bad_phone", language), "elements": _cancel_button(language)}
        box["phone"] = phone
    else:
        state.pop("lead", None)
        return None
    return _capture(merchant, state, box, language, store_name, contact, conversation_id, turn_id)


def _capture(
    merchant: Any,
    state: dict,
    box: dict,
    language: str,
    store_name: str,
    contact: Any,
    conversation_id: Any,
    turn_id: str | None,
) -> dict:
    from conversations.services import lead_capture
    from kaleem.core.errors import ApplicationError

    try:
        lead, _created = lead_capture(
            merchant=merchant,
            name=box["name"],
            phone=box["phone"],
            language=language,
            interest=box.get("interest", ""),
            contact_id=getattr(contact, "pk", contact),
            conversation_id=conversation_id,
            idempotency_key=f"turn:{turn_id}" if turn_id else None,
        )
    except ApplicationError:
        box["step"] = "phone"
        return {"text": _say("bad_phone", language), "elements": _cancel_button(language)}
    state.pop("lead", None)
    return {
        "text": _say("done", language, name=lead.name, store=store_name, phone=lead.phone),
        "elements": [],
        "lead_id": str(lead.pk),
    }
