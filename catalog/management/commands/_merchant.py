from typing import Any

from django.core.management.base import CommandError

from merchants.models import Merchant


def resolve_merchant(ref: str) -> Any:
    merchant = Merchant.objects.filter(slug=ref).first()
    if merchant is None:
        try:
            merchant = Merchant.objects.filter(id=ref).first()
        except Exception:
            merchant = None
    if merchant is None:
        raise CommandError(f"No merchant with slug or id {ref!r}.")
    return merchant
