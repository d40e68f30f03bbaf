from typing import Any

from django.http import HttpRequest


def current_merchant(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "page_membership", None)
    if membership is None or not membership:
        return {"current_merchant": None, "current_role": None}
    return {"current_merchant": membership.merchant, "current_role": membership.role}
