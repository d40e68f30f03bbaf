"""Context every dashboard page needs (store switcher, navigation, unread badge), computed lazily so
pages that do not render the shell pay nothing."""

import functools
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from kaleem.tenancy.roles import Role, role_at_least
from merchants.forms import ROLE_LABELS

# Navigation targets owned by other areas: a link appears once its page is routed.
_NAV_URL_NAMES = {
    "inbox": "dashboard-inbox",
    "catalog": "catalog-dashboard-products",
    "orders": "dashboard-orders",
    "knowledge": "dashboard-knowledge",
    "analytics": "dashboard-analytics",
    "channels": "dashboard-settings-channels",
}
_NAV_FALLBACK_PATHS = {"catalog": ("catalog-dashboard", "catalog:product-list", "catalog-product-list")}


def _reverse_first(*names: str) -> str:
    for name in names:
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return ""


def _nav_urls() -> dict[str, str]:
    return {key: _reverse_first(name, *_NAV_FALLBACK_PATHS.get(key, ())) for key, name in _NAV_URL_NAMES.items()}


def _unread_count(membership: Any, request: HttpRequest) -> int:
    try:
        from conversations.dashboard_views import inbox_unread_count
    except ImportError:
        return 0
    return inbox_unread_count(merchant=membership.merchant, request=request)


def dashboard(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "page_membership", None)
    if membership is None or not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}

    def memberships() -> list:
        from merchants.selectors import membership_list

        return list(membership_list(user=request.user))

    role = membership.role if membership else None
    return {
        "dashboard_memberships": SimpleLazyObject(memberships),
        "dashboard_nav": SimpleLazyObject(_nav_urls),
        "dashboard_can_manage": bool(role) and role_at_least(role, Role.ADMIN),
        "dashboard_can_reply": bool(role) and role_at_least(role, Role.AGENT),
        "current_role_label": ROLE_LABELS.get(role, "") if role else "",
        # a callable (templates call it, once thanks to the cache) rather than a lazy proxy:
        # the Arabic plural formula needs a real int (n % 100)
        "dashboard_unread": functools.cache(lambda: _unread_count(membership, request) if membership else 0),
    }
