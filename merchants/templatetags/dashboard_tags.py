"""Template helpers for dashboard pages: locale-aware money and message elements."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.formats import number_format
from django.utils.translation import get_language

register = template.Library()

# Arabic pages show the local symbol after the amount; English pages the ISO code before it.
ARABIC_CURRENCY = {
    "SAR": "ر.س",
    "AED": "د.إ",
    "KWD": "د.ك",
    "QAR": "ر.ق",
    "BHD": "د.ب",
    "OMR": "ر.ع",
    "EGP": "ج.م",
    "JOD": "د.أ",
    "USD": "$",
    "EUR": "€",
}
THREE_DECIMALS = {"KWD", "BHD", "OMR", "JOD"}


def format_money(amount: Any, currency: str = "SAR", language: str | None = None) -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        return ""
    currency = (currency or "SAR").upper()
    digits = 3 if currency in THREE_DECIMALS else 2
    number = number_format(value, decimal_pos=digits, use_l10n=True, force_grouping=True)
    if (language or get_language() or "ar").startswith("ar"):
        return f"{number}\u00a0{ARABIC_CURRENCY.get(currency, currency)}"
    return f"{currency}\u00a0{number}"


@register.simple_tag
def money(amount: Any, currency: str = "SAR") -> str:
    return format_money(amount, currency)


@register.filter
def elements_of(elements: Any, kind: str) -> list[dict[str, Any]]:
    if not isinstance(elements, list):
        return []
    return [e for e in elements if isinstance(e, dict) and e.get("type") == kind]


@register.filter
def percent(value: Any, digits: int = 0) -> str:
    """0.853 → "85%" (Arabic pages use the Arabic percent sign)."""
    if value is None:
        return "—"
    number = number_format(Decimal(str(value)) * 100, decimal_pos=int(digits), use_l10n=True)
    sign = "\u066a" if (get_language() or "ar").startswith("ar") else "%"
    return f"{number}{sign}"
