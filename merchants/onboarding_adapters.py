"""The onboarding wizard's calls into other areas (knowledge, channels, assistant simulation).

Each function uses the owning area's public services; when that area is not installed yet the
`*_available()` check is False and the page explains the step instead of failing."""

import importlib
import re
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

TELEGRAM_TOKEN_RE = re.compile(r"^[0-9]{5,15}:[A-Za-z0-9_-]{30,60}$")
META_KIND_LABELS = {"whatsapp": "WhatsApp", "messenger": "Messenger", "instagram": "Instagram"}
META_FIELDS = {
    "whatsapp": ["phone_number_id", "access_token", "app_secret"],
    "messenger": ["page_id", "access_token", "app_secret"],
    "instagram": ["ig_user_id", "access_token", "app_secret"],
}
META_FIELD_LABELS = {
    "phone_number_id": _("Phone number ID"),
    "page_id": _("Page ID"),
    "ig_user_id": _("Instagram account ID"),
    "access_token": _("Access token"),
    "app_secret": _("App secret"),
}


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _has(module_name: str, *attrs: str) -> bool:
    module = _module(module_name)
    return module is not None and all(hasattr(module, a) for a in attrs)


# --- knowledge -----------------------------------------------------------------------------------

STARTER_TEMPLATES = {
    "ar": [
        (
            "shipping",
            "policy",
            "سياسة الشحن",
            "نشحن إلى جميع مدن المملكة خلال 2-5 أيام عمل. الشحن مجاني للطلبات فوق 200 ريال، ورسوم الشحن 25 ريالاً لما دون ذلك.",
        ),
        (
            "returns",
            "policy",
            "سياسة الاسترجاع والاستبدال",
            "يمكن استرجاع المنتجات أو استبدالها خلال 14 يوماً من الاستلام بشرط أن تكون بحالتها الأصلية مع الفاتورة. يُعاد المبلغ خلال 7 أيام عمل.",
        ),
        ("payment", "policy", "طرق الدفع", "نقبل مدى وفيزا وماستركارد وآبل باي، والدفع عند الاستلام برسوم 15 ريالاً."),
        ("faq_hours", "faq", "ما هي أوقات العمل؟", "خدمة العملاء متاحة من الأحد إلى الخميس من 9 صباحاً حتى 9 مساءً."),
    ],
    "en": [
        (
            "shipping",
            "policy",
            "Shipping policy",
            "We ship to every city in the country within 2–5 working days. Shipping is free on orders over 200 SAR; otherwise it costs 25 SAR.",
        ),
        (
            "returns",
            "policy",
            "Returns and exchanges",
            "Items can be returned or exchanged within 14 days of delivery in their original condition with the receipt. Refunds are paid within 7 working days.",
        ),
        (
            "payment",
            "policy",
            "Payment methods",
            "We accept mada, Visa, Mastercard and Apple Pay, and cash on delivery for a 15 SAR fee.",
        ),
        (
            "faq_hours",
            "faq",
            "What are your opening hours?",
            "Customer service is available Sunday to Thursday, 9 am to 9 pm.",
        ),
    ],
}


def _knowledge_services() -> Any:
    return _module("merchants.knowledge.services")


def knowledge_available() -> bool:
    return _has("merchants.knowledge.services", "policy_create", "faq_create")


def knowledge_count(*, merchant: Any) -> int:
    selectors = _module("merchants.knowledge.selectors")
    if selectors is None:
        return 0
    return selectors.policy_list(merchant=merchant).count() + selectors.faq_list(merchant=merchant).count()


def starter_templates(*, language: str, merchant: Any = None) -> list[dict[str, Any]]:
    rows = STARTER_TEMPLATES.get(language) or STARTER_TEMPLATES["ar"]
    return [
        {"key": key, "kind": kind, "title": title, "body": body, "checked": True, "error": ""}
        for key, kind, title, body in rows
    ]


# starter key → knowledge PolicyKind
POLICY_KIND = {"shipping": "shipping", "returns": "returns", "payment": "payment"}


def knowledge_save(*, merchant: Any, actor: Any, items: list[dict[str, Any]], language: str) -> None:
    """Creates or updates one policy/FAQ per starter template; saving the step twice does not
    duplicate entries (the template key is stored as the entry's `key`)."""
    module = _knowledge_services()
    selectors = _module("merchants.knowledge.selectors")
    if module is None or selectors is None:
        return
    for item in items:
        key = f"starter:{item['key']}"
        if item["kind"] == "faq":
            existing = selectors.faq_list(merchant=merchant).filter(key=key).first()
            if existing:
                module.faq_update(
                    merchant=merchant,
                    actor=actor,
                    faq_id=existing.pk,
                    data={"question": item["title"], "answer": item["body"]},
                )
            else:
                module.faq_create(
                    merchant=merchant,
                    actor=actor,
                    question=item["title"],
                    answer=item["body"],
                    language=language,
                    key=key,
                )
        else:
            existing = selectors.policy_list(merchant=merchant).filter(key=key).first()
            if existing:
                module.policy_update(
                    merchant=merchant,
                    actor=actor,
                    policy_id=existing.pk,
                    data={"title": item["title"], "body": item["body"]},
                )
            else:
                module.policy_create(
                    merchant=merchant,
                    actor=actor,
                    kind=POLICY_KIND.get(item["key"], "other"),
                    title=item["title"],
                    body=item["body"],
                    language=language,
                    key=key,
                )


# --- channels ------------------------------------------------------------------------------------


def _channel_services() -> Any:
    return _module("channels.services")


def channels_available() -> bool:
    return _has("channels.services", "channel_create", "channel_connect")


def channel_list(*, merchant: Any) -> list[Any]:
    selectors = _module("channels.selectors")
    if selectors is None or not hasattr(selectors, "channel_list"):
        return []
    return list(selectors.channel_list(merchant=merchant))


def public_base_url(request: HttpRequest | None = None) -> str:
    return settings.KALEEM_PUBLIC_URL.rstrip("/")


def webhook_url(channel: Any) -> str:
    return f"{public_base_url()}/webhooks/{channel.kind}/{channel.public_key}"


def webchat_snippet(*, merchant: Any, request: HttpRequest) -> dict[str, Any] | None:
    channel = next((c for c in channel_list(merchant=merchant) if c.kind == "webchat"), None)
    if channel is None:
        return None
    from django.templatetags.static import static

    # the same one-line tag the webchat engineer's demo storefront embeds
    snippet = f'<script src="{public_base_url()}{static("webchat/widget.js")}" data-channel="{channel.public_key}" async></script>'
    return {"channel": channel, "snippet": snippet}


def meta_setup(*, merchant: Any) -> list[dict[str, Any]]:
    """What to paste into the Meta app: callback URL and verify token per Meta channel."""
    from merchants.channel_views import KIND_LABELS

    return [
        {
            "channel": c,
            "kind_label": KIND_LABELS.get(c.kind, c.kind),
            "callback_url": webhook_url(c),
            "verify_token": c.credential("verify_token"),
        }
        for c in channel_list(merchant=merchant)
        if getattr(c, "is_meta", False)
    ]


def webchat_connect(*, merchant: Any, actor: Any) -> Any:
    existing = next((c for c in channel_list(merchant=merchant) if c.kind == "webchat"), None)
    if existing is not None:
        return existing
    channel = _channel_services().channel_create(merchant=merchant, kind="webchat", name="Webchat")
    _audit_channel(merchant=merchant, actor=actor, channel=channel)
    return channel


def telegram_connect(*, merchant: Any, actor: Any, bot_token: str) -> Any:
    module = _channel_services()
    channel = module.channel_create(
        merchant=merchant, kind="telegram", name="Telegram", credentials={"bot_token": bot_token}
    )
    _audit_channel(merchant=merchant, actor=actor, channel=channel)
    module.channel_connect(channel=channel, base_url=public_base_url())  # setWebhook; errors mark the channel
    return channel


def meta_connect(*, merchant: Any, actor: Any, kind: str, fields: dict[str, str]) -> Any:
    channel = _channel_services().channel_create(
        merchant=merchant, kind=kind, name=META_KIND_LABELS[kind], credentials=fields
    )
    _audit_channel(merchant=merchant, actor=actor, channel=channel)
    return channel


def _audit_channel(*, merchant: Any, actor: Any, channel: Any) -> None:
    from merchants.services import audit

    audit(merchant=merchant, actor=actor, action="channel.created", target=channel, data={"kind": channel.kind})


# --- assistant simulation ------------------------------------------------------------------------


def _simulate_fn() -> Any:
    module = _module("conversations.assistant.pipeline")
    return getattr(module, "run_turn", None) if module is not None else None


def simulate_available() -> bool:
    return _simulate_fn() is not None


def simulate(*, merchant: Any, text: str, session_key: str = "") -> dict[str, Any] | None:
    """The reply a channel would get for `text`, without sending anything. Multi-turn memory is
    kept in the cache under the dashboard session so follow-ups ("the black one") work."""
    from django.core.cache import cache

    run_turn = _simulate_fn()
    if run_turn is None:
        return None
    key = f"dashboard:simulate:{merchant.pk}:{session_key}" if session_key else ""
    state = (cache.get(key) or {}) if key else {}
    result = run_turn(merchant=merchant, text=text, state=state)
    if key:
        cache.set(key, result.state, 30 * 60)
    reply = result.reply.as_dict() if hasattr(result.reply, "as_dict") else dict(result.reply or {})
    return {
        "text": reply.get("text", ""),
        "elements": reply.get("elements") or [],
        "intent": getattr(result, "intent", ""),
        "confidence": getattr(result, "confidence", None),
        "handoff": bool(getattr(result, "handoff", False)),
        "evidence": getattr(result, "evidence", None) or [],
    }
