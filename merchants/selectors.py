import uuid
from typing import Any

from django.db.models import QuerySet

from merchants.models import ApiToken, AuditLog, Membership, Merchant


def membership_resolve(*, user: Any, merchant_ref: str | None) -> Membership | None:
    """The user's membership in the merchant named by id or slug; without a name, their first store."""
    qs = Membership.objects.filter(user=user, merchant__status=Merchant.Status.ACTIVE).select_related("merchant")
    if merchant_ref:
        ref = str(merchant_ref)
        try:
            return qs.filter(merchant_id=uuid.UUID(ref)).first()
        except ValueError:
            return qs.filter(merchant__slug=ref).first()
    return qs.order_by("created_at").first()


def membership_list(*, user: Any) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("merchant").order_by("created_at")


def team_member_list(*, merchant: Merchant) -> QuerySet[Membership]:
    return Membership.objects.for_merchant(merchant).select_related("user").order_by("created_at")


def api_token_list(*, merchant: Merchant) -> QuerySet[ApiToken]:
    return ApiToken.objects.for_merchant(merchant).order_by("-created_at")


def audit_log_list(*, merchant: Merchant) -> QuerySet[AuditLog]:
    return AuditLog.objects.for_merchant(merchant).select_related("actor").order_by("-created_at")
