"""Integration reads."""

from typing import Any

from django.db.models import QuerySet

from integrations.models import PlatformConnection, SyncJob, WebhookDelivery, WebhookSubscription
from kaleem.core.errors import NotFoundError


def _get(model: Any, merchant: Any, object_id: Any, label: str) -> Any:
    found = model.objects.for_merchant(merchant).filter(id=object_id).first()
    if found is None:
        raise NotFoundError(f"{label} not found.")
    return found


def connection_list(*, merchant: Any) -> QuerySet[PlatformConnection]:
    return PlatformConnection.objects.for_merchant(merchant)


def connection_overview(*, merchant: Any) -> list[PlatformConnection]:
    """The store's connections (at most one per platform) with `latest_job` and `last_webhook_at`
    attached: three queries whatever the number of jobs or events."""
    from django.db.models import Max

    from integrations.models import PlatformWebhookEvent

    connections = list(connection_list(merchant=merchant).order_by("platform"))
    ids = [c.pk for c in connections]
    latest: dict[Any, SyncJob] = {}
    if ids:
        for job in SyncJob.objects.for_merchant(merchant).filter(connection_id__in=ids).order_by("-created_at")[:50]:
            latest.setdefault(job.connection_id, job)
        for missing in [i for i in ids if i not in latest]:  # a quiet connection behind a busy one (rare)
            job = SyncJob.objects.for_merchant(merchant).filter(connection_id=missing).order_by("-created_at").first()
            if job is not None:
                latest[missing] = job
        received = dict(
            PlatformWebhookEvent.objects.for_merchant(merchant)
            .filter(connection_id__in=ids)
            .values_list("connection_id")
            .annotate(at=Max("created_at"))
        )
    else:
        received = {}
    for connection in connections:
        connection.latest_job = latest.get(connection.pk)
        connection.last_webhook_at = received.get(connection.pk)
    return connections


def connection_get(*, merchant: Any, connection_id: Any) -> PlatformConnection:
    return _get(PlatformConnection, merchant, connection_id, "Connection")


def llm_settings_get(*, merchant: Any) -> Any:
    """The store's LLM choice, or None (platform default)."""
    from integrations.models import StoreLlmSettings

    return StoreLlmSettings.objects.for_merchant(merchant).first()


def sync_job_get(*, merchant: Any, job_id: Any) -> SyncJob:
    return _get(SyncJob, merchant, job_id, "Sync job")


def sync_job_list(*, merchant: Any) -> QuerySet[SyncJob]:
    return SyncJob.objects.for_merchant(merchant)


def subscription_list(*, merchant: Any) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.for_merchant(merchant)


def subscription_get(*, merchant: Any, subscription_id: Any) -> WebhookSubscription:
    return _get(WebhookSubscription, merchant, subscription_id, "Subscription")


def delivery_list(*, merchant: Any, subscription: Any = None, state: str = "") -> QuerySet[WebhookDelivery]:
    qs = WebhookDelivery.objects.for_merchant(merchant)
    if subscription is not None:
        qs = qs.filter(subscription=subscription)
    if state:
        qs = qs.filter(state=state)
    return qs


def delivery_get(*, merchant: Any, delivery_id: Any) -> WebhookDelivery:
    return _get(WebhookDelivery, merchant, delivery_id, "Delivery")


def platform_checkout_url(*, merchant: Any, lines: list[dict]) -> str | None:
    """The store's checkout link when its catalog is synced from a platform (None: order in chat)."""
    from integrations.commerce.base import connector_for

    connection = (
        PlatformConnection.objects.for_merchant(merchant).filter(status=PlatformConnection.Status.ACTIVE).first()
    )
    if connection is None:
        return None
    return connector_for(connection).checkout_url(lines)


def platform_order_lookup(*, merchant: Any, number: str) -> Any:
    """Ask the connected platform for an order we have no record of; mirror it (catalog Order, source =
    platform) so later questions are answered locally. None when not found or the platform is unreachable."""
    import logging

    from catalog.commerce_services import order_upsert_external
    from integrations.commerce.base import connector_for

    connection = (
        PlatformConnection.objects.for_merchant(merchant).filter(status=PlatformConnection.Status.ACTIVE).first()
    )
    if connection is None:
        return None
    try:
        found = connector_for(connection).order_status(number.strip()[:40])
    except Exception:  # provider down or refusing: the assistant says it cannot find the order
        logging.getLogger(__name__).warning("platform order lookup failed", exc_info=True)
        return None
    if not found or not found.get("external_id"):
        return None
    order, _created = order_upsert_external(
        merchant=merchant,
        source=connection.platform,
        external_id=found["external_id"],
        number=found.get("number") or number,
        status=found.get("status") or "pending",
    )
    return order
