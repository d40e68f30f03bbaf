"""Pages: the current merchant lives in the session and is re-verified against memberships."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

SESSION_KEY = "kaleem_merchant_id"


def _session_membership(request: HttpRequest):  # noqa: ANN202
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    from merchants.selectors import membership_resolve

    return membership_resolve(user=user, merchant_ref=request.session.get(SESSION_KEY))


class SessionMerchantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        membership = SimpleLazyObject(lambda: _session_membership(request))
        request.page_membership = membership
        return self.get_response(request)
