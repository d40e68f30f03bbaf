"""Role permissions: read needs `read_role`, writes need `write_role` (viewer < agent < admin < owner).

Set `read_role` / `write_role` on a view (or `required_roles = {"POST": "agent"}` per method)."""

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from kaleem.tenancy.roles import Role, role_at_least


def required_role(view: Any, method: str) -> str:
    per_method = getattr(view, "required_roles", {}) or {}
    if method in per_method:
        return per_method[method]
    if method in SAFE_METHODS:
        return getattr(view, "read_role", Role.VIEWER)
    return getattr(view, "write_role", Role.ADMIN)


class HasMerchantRole(BasePermission):
    message = "Your role in this store does not allow this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        if getattr(request, "merchant", None) is None:
            self.message = "No store selected: send X-Merchant or log in as a store member."
            return False
        return role_at_least(getattr(request, "membership_role", None), required_role(view, request.method))
