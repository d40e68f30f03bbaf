"""Structured filters parsed from a shopper's free text, in Arabic (MSA + Gulf) and English.

    parse_query("ابي جزمة سودا مقاس 42 تحت 200 ريال")
    → ParsedQuery(text="ابي جزمه", filters={"price_max": 200.0, "colour": "black", "size": "42"})

Only unambiguous phrases become filters; everything else stays in the text for retrieval."""

import re
from dataclasses import dataclass, field
from typing import Any

from catalog.search.normalize import normalize_text

# Canonical colour → words (already normalised: alef/yaa/taa-marbuta unified, lowercase).
COLOURS: dict[str, tuple[str, ...]] = {
    "black": ("black", "اسود", "سوداء", "سودا", "سود"),
    "white": ("white", "ابيض", "بيضاء", "بيضا", "بيض"),
    "red": ("red", "احمر", "حمراء", "حمرا", "حمر"),
    "blue": ("blue", "ازرق", "زرقاء", "زرقا", "كحلي", "navy"),
    "green": ("green", "اخضر", "خضراء", "خضرا", "زيتي", "olive"),
    "yellow": ("yellow", "اصفر", "صفراء", "صفرا"),
    "brown": ("brown", "بني", "بنيه", "camel", "جملي"),
    "beige": ("beige", "بيج", "cream", "كريمي"),
    "grey": ("grey", "gray", "رمادي", "رصاصي"),
    "pink": ("pink", "وردي", "زهري", "بمبي"),
    "purple": ("purple", "بنفسجي", "موف"),
    "gold": ("gold", "golden", "ذهبي"),
    "silver": ("silver", "فضي"),
}
COLOUR_BY_WORD: dict[str, str] = {word: canon for canon, words in COLOURS.items() for word in words}

SIZE_WORDS: dict[str, str] = {
    "xs": "XS",
    "xxs": "XXS",
    "xl": "XL",
    "xxl": "XXL",
    "xxxl": "XXXL",
    "2xl": "XXL",
    "3xl": "XXXL",
    "small": "S",
    "medium": "M",
    "large": "L",
    "صغير": "S",
    "وسط": "M",
    "متوسط": "M",
    "كبير": "L",
    "سمول": "S",
    "ميديم": "M",
    "لارج": "L",
    "اكس لارج": "XL",
}
_NUM = r"(\d+(?:\.\d+)?)"
_CURRENCY = r"(?:\s*(?:ريال|رس|ر\.س|sar|sr|riyals?|rials?|\$|usd|dollars?))?"
_PRICE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"(?:بين|من)\s*{_NUM}{_CURRENCY}\s*(?:و|الى|-|ل)\s*{_NUM}{_CURRENCY}"), "range"),
    (re.compile(rf"between\s*{_NUM}{_CURRENCY}\s*(?:and|-|to)\s*{_NUM}{_CURRENCY}"), "range"),
    (re.compile(rf"{_NUM}\s*(?:-|to)\s*{_NUM}{_CURRENCY}"), "range_bare"),
    (
        re.compile(
            rf"(?:تحت|اقل من|اقل|ارخص من|دون|ما يتعدى|ما يزيد عن|لا يتجاوز|حد اقصى|بحدود|في حدود|under|below|less than|cheaper than|up to|max|maximum|at most|<)\s*{_NUM}{_CURRENCY}"
        ),
        "max",
    ),
    (
        re.compile(
            rf"(?:فوق|اكثر من|اكثر|اغلى من|اعلى من|over|above|more than|at least|min|minimum|from|>)\s*{_NUM}{_CURRENCY}"
        ),
        "min",
    ),
]
_SIZE_PATTERN = re.compile(
    r"(?:مقاس|مقاسي|قياس|سايز|size|sz)\s*[:#]?\s*(xxxl|xxl|xl|xs|s|m|l|\d{1,3}(?:\.5)?|"
    + "|".join(sorted((re.escape(w) for w in SIZE_WORDS), key=len, reverse=True))
    + r")\b"
)
_BARE_SIZE = re.compile(r"\b(xxxl|xxl|xl|xs|2xl|3xl)\b")
_IN_STOCK = re.compile(r"\b(?:in stock|available now)\b|(?:^|\s)(?:متوفر|متوفره|متاح|موجود)(?=\s|$)")


@dataclass
class ParsedQuery:
    text: str
    filters: dict[str, Any] = field(default_factory=dict)


def _number(raw: str) -> float:
    return float(raw)


def parse_query(text: str) -> ParsedQuery:
    norm = normalize_text(text)
    filters: dict[str, Any] = {}
    for pattern, kind in _PRICE_PATTERNS:
        match = pattern.search(norm)
        if not match:
            continue
        if kind.startswith("range"):
            low, high = sorted((_number(match.group(1)), _number(match.group(2))))
            if kind == "range_bare" and ("price_min" in filters or "price_max" in filters):
                continue
            filters.setdefault("price_min", low)
            filters.setdefault("price_max", high)
        elif kind == "max":
            filters.setdefault("price_max", _number(match.group(1)))
        else:
            filters.setdefault("price_min", _number(match.group(1)))
        norm = (norm[: match.start()] + " " + norm[match.end() :]).strip()
    size = _SIZE_PATTERN.search(norm)
    if size:
        value = size.group(1)
        filters["size"] = SIZE_WORDS.get(value, value.upper())
        norm = (norm[: size.start()] + " " + norm[size.end() :]).strip()
    else:
        bare = _BARE_SIZE.search(norm)
        if bare:
            filters["size"] = SIZE_WORDS.get(bare.group(1), bare.group(1).upper())
            norm = (norm[: bare.start()] + " " + norm[bare.end() :]).strip()
    if _IN_STOCK.search(norm):
        filters["in_stock"] = True
        norm = _IN_STOCK.sub(" ", norm)
    words = norm.split()
    kept = []
    for word in words:
        bare_word = word[2:] if word.startswith("ال") and len(word) > 4 else word
        colour = COLOUR_BY_WORD.get(word) or COLOUR_BY_WORD.get(bare_word)
        if colour and "colour" not in filters:
            filters["colour"] = colour
            continue
        kept.append(word)
    return ParsedQuery(text=re.sub(r"\s+", " ", " ".join(kept)).strip(), filters=filters)


def canonical_colour(value: Any) -> str:
    """Canonical colour of a product attribute value ("أسود", "Black", "black/white" → "black")."""
    norm = normalize_text(str(value))
    if norm in COLOUR_BY_WORD:
        return COLOUR_BY_WORD[norm]
    for word in re.split(r"[\s/,|-]+", norm):
        word = word[2:] if word.startswith("ال") and len(word) > 4 else word
        if word in COLOUR_BY_WORD:
            return COLOUR_BY_WORD[word]
    return norm


def canonical_size(value: Any) -> str:
    norm = normalize_text(str(value))
    return SIZE_WORDS.get(norm, norm.upper())
