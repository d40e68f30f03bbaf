"""Product discovery and product questions, over the catalog's search contract.

Running filters live in the conversation state: a new search replaces them; a refinement
("cheaper", "in black", "size 42") re-runs the last query with the extra constraint."""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from conversations.assistant import replies
from conversations.assistant.language import Analysis

COLOURS = {
    "اسود": "black",
    "سوداء": "black",
    "سودا": "black",
    "ابيض": "white",
    "بيضاء": "white",
    "بيضا": "white",
    "احمر": "red",
    "حمراء": "red",
    "حمرا": "red",
    "ازرق": "blue",
    "زرقاء": "blue",
    "زرقا": "blue",
    "كحلي": "navy",
    "اخضر": "green",
    "خضراء": "green",
    "وردي": "pink",
    "زهري": "pink",
    "بيج": "beige",
    "بني": "brown",
    "رمادي": "grey",
    "ذهبي": "gold",
    "فضي": "silver",
    "black": "black",
    "white": "white",
    "red": "red",
    "blue": "blue",
    "navy": "navy",
    "green": "green",
    "pink": "pink",
    "beige": "beige",
    "brown": "brown",
    "grey": "grey",
    "gray": "grey",
    "gold": "gold",
    "silver": "silver",
}
_CHEAPER = re.compile(r"ارخص|اقل سعر|\bcheaper\b|less expensive|lower price")
_PRICEY = re.compile(r"اغلى|more expensive|\bpricier\b")
_SIZE = re.compile(r"(?:مقاس|size)\s*([0-9]{1,3}|xxl|xl|l|m|s|xs|لارج|ميديم|سمول|large|medium|small)\b")
_ORDINALS = [
    (re.compile(r"\b(first|1st)\b|الاول|اول واحد|رقم 1\b|^1$"), 0),
    (re.compile(r"\b(second|2nd)\b|الثاني|ثاني واحد|رقم 2\b|^2$"), 1),
    (re.compile(r"\b(third|3rd)\b|الثالث|رقم 3\b|^3$"), 2),
    (re.compile(r"\b(fourth|4th)\b|الرابع|رقم 4\b|^4$"), 3),
    (re.compile(r"\b(fifth|5th)\b|الخامس|رقم 5\b|^5$"), 4),
]
_ASK_PRICE = re.compile(r"كم|بكم|سعر|\bprice\b|how much|\bcost\b")
_ASK_SIZE = re.compile(r"مقاس|\bsizes?\b")
_ASK_STOCK = re.compile(r"متوفر|موجود|باقي|\bstock\b|available|availability")
_ASK_COLOUR = re.compile(r"لون|الوان|colou?rs?")


@dataclass
class ProductOutcome:
    text: str
    elements: list[dict[str, Any]]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    found: bool = True
    product_ids: list[str] = field(default_factory=list)


def _search(*, merchant: Any, query: str, filters: dict, limit: int) -> tuple[list[tuple[Any, float]], dict]:
    """The one seam onto the catalog (catalog.selectors.product_search)."""
    from catalog.selectors import product_search

    result = product_search(merchant=merchant, query=query, filters=filters or None, limit=limit)
    return list(result.items), dict(getattr(result, "applied_filters", {}) or {})


def _title(product: Any, language: str) -> str:
    if language == "en":
        return product.title_en or product.title_ar or product.sku
    return product.title_ar or product.title_en or product.sku


def _price(product: Any) -> Decimal:
    sale = getattr(product, "sale_price", None)
    return sale if sale is not None and sale < product.price else product.price


def product_card(product: Any, language: str) -> dict[str, Any]:
    image = ""
    try:
        image = product.image_url or ""
    except Exception:
        image = (product.images or [""])[0] if getattr(product, "images", None) else ""
    return {
        "type": "product",
        "id": str(product.id),
        "sku": product.sku,
        "title": _title(product, language),
        "price": str(_price(product)),
        "currency": product.currency,
        "image_url": image,
        "in_stock": bool(product.in_stock),
    }


def refinement_filters(analysis: Analysis, state: dict) -> dict:
    text = analysis.classifier_text
    filters: dict[str, Any] = {}
    # "Cheaper" is relative to the best match shown (the first card, the one the customer looks at);
    # "more expensive" likewise.
    if _CHEAPER.search(text) and state.get("shown_prices"):
        filters["price_max"] = float(Decimal(state["shown_prices"][0])) - 0.01
    elif _PRICEY.search(text) and state.get("shown_prices"):
        filters["price_min"] = float(Decimal(state["shown_prices"][0])) + 0.01
    for word in text.split():
        bare = word[3:] if word.startswith("بال") else word
        bare = bare[1:] if bare.startswith("ب") and bare[1:] in COLOURS else bare
        if bare in COLOURS:
            filters["colour"] = COLOURS[bare]
            break
    size = _SIZE.search(text)
    if size:
        filters["size"] = size.group(1)
    return filters


def product_search_turn(
    *, merchant: Any, analysis: Analysis, state: dict, language: str, refinement: bool
) -> ProductOutcome:
    search = dict(state.get("search") or {})
    extra = refinement_filters(analysis, state)
    if refinement and search.get("query"):
        query = search["query"]
        filters = {**search.get("filters", {}), **extra}
        if not extra:  # "show me more" / "other options": same search, next products
            filters = dict(search.get("filters", {}))
    else:
        query = (analysis.classifier_text if analysis.arabizi else analysis.raw)[:300]
        filters = {k: v for k, v in extra.items() if k in ("colour", "size")}
    items, applied = _search(merchant=merchant, query=query, filters=filters, limit=5)
    if refinement and not extra and search.get("query"):
        seen = set(state.get("shown") or [])
        more, _ = _search(merchant=merchant, query=query, filters=filters, limit=10)
        fresh = [(p, s) for p, s in more if str(p.id) not in seen]
        items = fresh[:5] or items
    state["search"] = {"query": query, "filters": {**applied, **filters}}
    if not items:
        key = "products_none_cheaper" if "price_max" in extra else "products_none"
        return ProductOutcome(
            text=replies.say(key, language),
            elements=[replies.quick_reply("qr_human", language)],
            found=False,
        )
    products = [p for p, _ in items][:5]
    state["shown"] = [str(p.id) for p in products]
    state["shown_prices"] = [str(_price(p)) for p in products]
    lines = [replies.say("products_found", language)]
    for n, p in enumerate(products, 1):
        lines.append(f"{n}. {_title(p, language)} — {_price(p)} {p.currency}")
    elements = [product_card(p, language) for p in products]
    elements += [
        replies.quick_reply("qr_cheaper", language),
        replies.quick_reply("qr_colours", language),
        replies.quick_reply("qr_human", language),
    ]
    return ProductOutcome(
        text="\n".join(lines),
        elements=elements,
        evidence=[{"kind": "product", "id": str(p.id), "score": round(float(s), 4)} for p, s in items[:5]],
        product_ids=[str(p.id) for p in products],
    )


def product_question_turn(*, merchant: Any, analysis: Analysis, state: dict, language: str) -> ProductOutcome:
    from catalog.models import Product

    shown = state.get("shown") or []
    text = analysis.classifier_text
    index = next((i for rx, i in _ORDINALS if rx.search(text)), None)
    if index is None and len(shown) == 1:
        index = 0
    if index is None:
        index = 0 if shown else None
    if index is None or index >= len(shown):
        return ProductOutcome(text=replies.say("product_ask_which", language), elements=[], found=False)
    product = Product.objects.for_merchant(merchant).filter(id=shown[index]).first()
    if product is None:
        return ProductOutcome(text=replies.say("products_none", language), elements=[], found=False)
    title = _title(product, language)
    attrs = product.attributes or {}
    asked = {
        "price": bool(_ASK_PRICE.search(text)),
        "size": bool(_ASK_SIZE.search(text)),
        "stock": bool(_ASK_STOCK.search(text)),
        "colour": bool(_ASK_COLOUR.search(text)),
    }
    if not any(asked.values()):
        asked = {"price": True, "size": True, "stock": True, "colour": False}
    parts = []
    if asked["price"]:
        price = _price(product)
        if price < product.price:
            parts.append(
                replies.say(
                    "price_sale", language, title=title, price=price, old=product.price, currency=product.currency
                )
            )
        else:
            parts.append(replies.say("price", language, title=title, price=price, currency=product.currency))
    if asked["size"]:
        sizes = attrs.get("sizes") or attrs.get("size") or attrs.get("مقاس")
        if isinstance(sizes, str):
            sizes = [sizes]
        parts.append(
            replies.say(
                "sizes", language, sizes="، ".join(map(str, sizes)) if language == "ar" else ", ".join(map(str, sizes))
            )
            if sizes
            else replies.say("sizes_unknown", language)
        )
    if asked["colour"]:
        colours = attrs.get("colour") or attrs.get("color") or attrs.get("colours")
        if colours:
            colours = colours if isinstance(colours, list) else [colours]
            parts.append(replies.say("colours", language, colours=", ".join(map(str, colours))))
    if asked["stock"]:
        if product.in_stock and (product.stock or 0) > 0:
            parts.append(replies.say("in_stock_count", language, title=title, stock=product.stock))
        elif product.in_stock:
            parts.append(replies.say("in_stock", language, title=title))
        else:
            parts.append(replies.say("out_of_stock", language, title=title))
    return ProductOutcome(
        text=" ".join(parts),
        elements=[product_card(product, language)],
        evidence=[{"kind": "product", "id": str(product.id), "score": 1.0}],
        product_ids=[str(product.id)],
    )
