import functools
import uuid
from typing import Any

from django.db.models import F, QuerySet

from kaleem.core.errors import NotFoundError
from kaleem.core.stored import as_stored
from merchants.models import ApiToken, AuditLog, Membership, Merchant


def membership_resolve(*, user: Any = None, user_id: Any = None, merchant_ref: str | None) -> Membership | None:
    """The membership of an active user in the active merchant named by id or slug; without a name,
    their first store. One query fetches membership, merchant and user (the API auth hot path)."""
    qs = Membership.objects.filter(merchant__status=Merchant.Status.ACTIVE).select_related("merchant", "user")
    qs = qs.filter(user=user) if user is not None else qs.filter(user_id=user_id, user__is_active=True)
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


AUDIT_LOG_ROW_FIELDS = ("action", "target_type", "target_id", "ip_address")


@functools.lru_cache(maxsize=1024)
def _audit_log_rows_shape(merchant_id: Any) -> QuerySet:
    # Resolving the column list, the actor join and the store filter costs more CPU than running the page
    # query, so the shape is built once per store and process and only cloned per request (the cached
    # queryset itself is never evaluated).
    # The id, the data document and the time go to the API as stored (kaleem.core.stored): converting
    # them to UUID objects, parsed documents and zone-aware times only for the renderer to turn them
    # back cost ~15-20 % of a page.
    return (
        AuditLog.objects.filter(merchant_id=merchant_id)
        .order_by("-created_at", "-id")
        .values(
            *AUDIT_LOG_ROW_FIELDS,
            actor_email=F("actor__email"),
            stored_id=as_stored("id"),
            stored_data=as_stored("data"),
            stored_created_at=as_stored("created_at"),
        )
    )


def audit_log_rows(*, merchant: Merchant) -> QuerySet:
    """The audit log as plain dict rows (no model instances; `stored_id`, `stored_data` and
    `stored_created_at` as the database keeps them): the API list is a hot read. Page them with
    `StoredCreatedCursorPagination`, shape them with `audit_log_rows_output`."""
    return _audit_log_rows_shape(merchant.pk).all()


def team_member_get(*, merchant: Merchant, membership_id: Any) -> Membership:
    """A member of this store; another store's member is simply not found."""
    membership = Membership.objects.for_merchant(merchant).filter(id=membership_id).select_related("user").first()
    if membership is None:
        raise NotFoundError("Member not found.")
    return membership


def api_token_get(*, merchant: Merchant, token_id: Any) -> ApiToken:
    token = ApiToken.objects.for_merchant(merchant).filter(id=token_id).first()
    if token is None:
        raise NotFoundError("API token not found.")
    return token
