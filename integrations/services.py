"""Integration writes: platform connections, inbound platform webhooks, automation subscriptions."""

import json
import logging
import re
import secrets
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from catalog import commerce_services
from integrations.automations.delivery import forget_subscriptions
from integrations.commerce.base import WebhookRejected, connector_for
from integrations.commerce.sync import products_archive_external, products_upsert
from integrations.models import (
    Platform,
    PlatformConnection,
    PlatformWebhookEvent,
    StoreLlmSettings,
    WebhookSubscription,
)
from kaleem.core.errors import ApplicationError, NotFoundError
from kaleem.db import atomic, on_commit
from kaleem.ssrf import UnsafeURLError, assert_public_url

logger = logging.getLogger(__name__)

AUTOMATION_EVENTS = (
    "conversation.created",
    "message.received",
    "handoff.requested",
    "order.created",
    "order.status_changed",
    "lead.created",
    "product.out_of_stock",
)
CREDENTIAL_KEYS = {
    Platform.SHOPIFY: {"access_token", "webhook_secret", "previous_webhook_secret"},
    Platform.SALLA: {"access_token", "refresh_token", "expires", "webhook_secret", "webhook_token"},
    Platform.ZID: {"authorization", "access_token", "store_id", "webhook_username", "webhook_password"},
}


class IntegrationError(ApplicationError):
    code = "integration_error"


# --- platform connections ------------------------------------------------------------------------


def connection_upsert(
    *,
    merchant: Any,
    platform: str,
    credentials: dict,
    shop_domain: str = "",
    external_store_id: str = "",
    base_url: str = "",
    api_version: str = "",
    checkout_url: str = "",
) -> PlatformConnection:
    """Create or replace the store's connection to `platform`; credentials are stored encrypted."""
    if platform not in Platform.values:
        raise IntegrationError("Unknown platform.", fields={"platform": ["Invalid choice."]})
    unknown = set(credentials) - CREDENTIAL_KEYS[platform]
    if unknown:
        raise IntegrationError(f"Unknown credential keys: {', '.join(sorted(unknown))}.")
    for name, url in (("base_url", base_url), ("checkout_url", checkout_url)):
        if url:
            try:
                assert_public_url(url)
            except UnsafeURLError as exc:
                raise UnsafeURLError(exc.message, fields={name: [exc.message]}) from exc
    connection = PlatformConnection.objects.for_merchant(merchant).filter(platform=platform).first()
    if connection is None:
        connection = PlatformConnection(merchant=merchant, platform=platform)
    connection.credentials = json.dumps({k: str(v) for k, v in credentials.items() if v not in (None, "")})
    connection.shop_domain = shop_domain[:255]
    connection.external_store_id = str(external_store_id)[:100]
    connection.base_url = base_url
    connection.api_version = api_version[:20]
    connection.checkout_url = checkout_url
    connection.status = PlatformConnection.Status.ACTIVE
    try:
        with atomic():
            connection.save()
    except IntegrityError as exc:
        raise IntegrationError("This platform is already connected.", code="conflict", status_code=409) from exc
    return connection


def connection_verify(*, connection: PlatformConnection) -> dict:
    """Call the platform once with the stored credentials (the "connect" step)."""
    try:
        info = connector_for(connection).connect()
    except Exception as exc:
        PlatformConnection.objects.filter(id=connection.id).update(
            status=PlatformConnection.Status.ERROR, last_error=str(exc)[:500]
        )
        raise IntegrationError("The platform refused the credentials or is unreachable.", status_code=502) from exc
    PlatformConnection.objects.filter(id=connection.id).update(status=PlatformConnection.Status.ACTIVE, last_error="")
    return info


def connection_connect(*, connection: PlatformConnection) -> dict:
    """Verify the credentials, then subscribe our webhook URL on the platform (idempotent on re-connect)."""
    info = connection_verify(connection=connection)
    callback = connection_webhook_url(connection)
    try:
        topics = connector_for(connection).register_webhooks(callback)
    except Exception as exc:
        PlatformConnection.objects.filter(id=connection.id).update(last_error=f"webhooks: {exc}"[:500])
        raise IntegrationError("The platform refused the webhook subscription.", status_code=502) from exc
    return {"store": info, "webhook_url": callback, "topics": topics}


def connection_disconnect(*, merchant: Any, connection: PlatformConnection) -> None:
    if connection.merchant_id != merchant.pk:
        raise NotFoundError("Connection not found.")
    connection.delete()


def connection_webhook_url(connection: PlatformConnection) -> str:
    """The address to paste into the platform's webhook settings (its key is the secret path segment)."""
    from django.conf import settings

    base = str(getattr(settings, "KALEEM_PUBLIC_URL", "")).rstrip("/")
    return f"{base}/webhooks/platforms/{connection.platform}/{connection.public_key}"


def connection_setup(
    *,
    merchant: Any,
    platform: str,
    credentials: dict,
    shop_domain: str = "",
    external_store_id: str = "",
    base_url: str = "",
    checkout_url: str = "",
    keep_credentials: bool = False,
) -> tuple[PlatformConnection, str]:
    """Dashboard "connect": store the (encrypted) credentials, check them against the platform, subscribe
    our webhooks and start the initial import. Returns (connection, outcome) where outcome is
    "connected" or "refused" (the connection is kept with status error and last_error for the page).
    `keep_credentials`: blank credential fields keep the stored values (re-connect without retyping).
    Zid's webhook basic-auth user/password are generated when not given: the merchant pastes them."""
    from integrations.commerce.sync import sync_job_start
    from integrations.models import SyncJob

    existing = PlatformConnection.objects.for_merchant(merchant).filter(platform=platform).first()
    merged = {k: v for k, v in credentials.items() if v not in (None, "")}
    if keep_credentials and existing is not None and existing.credentials:
        merged = {**json.loads(existing.credentials), **merged}
    if platform == Platform.ZID:
        merged.setdefault("webhook_username", f"kaleem-{secrets.token_hex(4)}")
        merged.setdefault("webhook_password", secrets.token_urlsafe(24))
    connection = connection_upsert(
        merchant=merchant,
        platform=platform,
        credentials=merged,
        shop_domain=shop_domain,
        external_store_id=external_store_id,
        base_url=base_url,
        checkout_url=checkout_url,
    )
    try:
        connection_connect(connection=connection)
    except IntegrationError:
        connection.refresh_from_db()
        return connection, "refused"
    if not SyncJob.objects.filter(connection=connection, kind=SyncJob.Kind.FULL).exists():
        sync_job_start(connection=connection, kind=SyncJob.Kind.FULL)
    connection.refresh_from_db()
    return connection, "connected"


def connection_sync_request(*, merchant: Any, connection: PlatformConnection, kind: str) -> Any:
    """ "Sync now": one job at a time per connection; returns the new job, or None when one is already
    pending or running (a double click does not double the work)."""
    from integrations.commerce.sync import sync_job_start
    from integrations.models import SyncJob

    if connection.merchant_id != merchant.pk:
        raise NotFoundError("Connection not found.")
    if kind not in SyncJob.Kind.values:
        raise IntegrationError("Unknown sync kind.", fields={"kind": ["Invalid choice."]})
    if connection.status == PlatformConnection.Status.DISABLED:
        raise IntegrationError("This connection is disabled.", code="conflict", status_code=409)
    busy = SyncJob.objects.filter(
        connection=connection, state__in=[SyncJob.State.PENDING, SyncJob.State.RUNNING]
    ).exists()
    return None if busy else sync_job_start(connection=connection, kind=kind)


# --- inbound platform webhooks -------------------------------------------------------------------

MAX_WEBHOOK_BYTES = 1_000_000


def platform_webhook_receive(
    *, platform: str, key: str, headers: Any, body: bytes, query: dict
) -> tuple[int, str, PlatformWebhookEvent | None]:
    """Verify on the raw body, store once, process after commit. Returns (HTTP status, outcome, event)."""
    connection = (
        PlatformConnection.objects.filter(platform=platform, public_key=key).exclude(status="disabled").first()
        if platform in Platform.values and key
        else None
    )
    if connection is None:
        return 404, "unknown", None
    if len(body) > MAX_WEBHOOK_BYTES:
        return 413, "too_large", None
    connector = connector_for(connection)
    try:
        connector.verify_webhook(headers, body)
    except WebhookRejected:
        return 401, "rejected", None
    try:
        envelope = connector.parse_webhook(headers, body, query)
    except (ValueError, TypeError, AttributeError):
        return 400, "malformed", None
    try:
        with atomic():
            event = PlatformWebhookEvent.objects.create(
                merchant_id=connection.merchant_id,
                connection=connection,
                dedupe_key=envelope.dedupe_key,
                topic=envelope.topic[:100],
                payload={"kind": envelope.kind, "external_id": envelope.external_id, "data": envelope.payload},
            )
            from integrations.tasks import platform_event_task

            on_commit(lambda: platform_event_task.delay(str(event.id)))
    except IntegrityError:
        return 200, "duplicate", None
    return 200, "accepted", event


def platform_event_process(*, event_id: Any) -> str:
    """Apply one stored delivery; safe to run twice (upserts are idempotent, state is conditional)."""
    event = PlatformWebhookEvent.objects.filter(id=event_id).select_related("connection__merchant").first()
    if event is None or event.state in (PlatformWebhookEvent.State.PROCESSED, PlatformWebhookEvent.State.IGNORED):
        return "skipped"
    connection = event.connection
    merchant = connection.merchant
    connector = connector_for(connection)
    kind = event.payload.get("kind")
    data = event.payload.get("data") or {}
    external_id = event.payload.get("external_id") or ""
    try:
        if kind == "upsert":
            products_upsert(merchant=merchant, source=connection.platform, items=[connector.parse_product(data)])
        elif kind == "delete":
            products_archive_external(merchant=merchant, source=connection.platform, external_ids=[external_id])
        elif kind == "order":
            order = connector.parse_order(data)
            commerce_services.order_upsert_external(merchant=merchant, source=connection.platform, **order)
        elif kind == "authorize" and hasattr(connector, "authorize"):
            # update() runs the field's get_prep_value: the tokens are stored encrypted
            PlatformConnection.objects.filter(id=connection.id).update(
                credentials=json.dumps(connector.authorize(data))
            )
        state = PlatformWebhookEvent.State.PROCESSED if kind != "ignore" else PlatformWebhookEvent.State.IGNORED
        PlatformWebhookEvent.objects.filter(id=event.id).update(
            state=state, processed_at=timezone.now(), attempts=event.attempts + 1, error=""
        )
        return state
    except Exception as exc:
        logger.warning("platform event %s failed", event.id, exc_info=True)
        PlatformWebhookEvent.objects.filter(id=event.id).update(
            state=PlatformWebhookEvent.State.FAILED,
            attempts=event.attempts + 1,
            error=f"{type(exc).__name__}: {exc}"[:500],
        )
        raise


# --- automation subscriptions --------------------------------------------------------------------


_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,100}$")
_RESERVED_HEADERS = {"host", "content-length", "content-type", "transfer-encoding", "connection", "user-agent"}


def _check_auth_header(name: str, value: str) -> None:
    """n8n "Header auth": any custom header, but not one that would rewrite the request itself."""
    if not name:
        return
    lowered = name.lower()
    if not _HEADER_NAME.match(name) or lowered in _RESERVED_HEADERS or lowered.startswith("x-kaleem-"):
        raise IntegrationError("This header name cannot be used.", fields={"auth_header_name": ["Not allowed."]})
    if any(ch in value for ch in "\r\n"):
        raise IntegrationError("Header values cannot contain line breaks.", fields={"auth_header_value": ["Invalid."]})


def _check_events(events: list[str]) -> list[str]:
    if not isinstance(events, list) or not events:
        raise IntegrationError("Choose at least one event.", fields={"events": ["Required."]})
    unknown = [e for e in events if e != "*" and e not in AUTOMATION_EVENTS]
    if unknown:
        raise IntegrationError(f"Unknown events: {', '.join(map(str, unknown))}.", fields={"events": unknown})
    return sorted(set(events))


def subscription_create(
    *,
    merchant: Any,
    url: str,
    events: list[str],
    description: str = "",
    secret: str = "",
    auth_header_name: str = "",
    auth_header_value: str = "",
) -> WebhookSubscription:
    """SSRF guard: private, loopback and link-local targets are refused (unless SSRF_ALLOW_PRIVATE)."""
    assert_public_url(url)
    _check_auth_header(auth_header_name, auth_header_value)
    forget_subscriptions(getattr(merchant, "pk", merchant))
    return WebhookSubscription.objects.create(
        merchant=merchant,
        url=url,
        events=_check_events(events),
        description=description[:200],
        secret=secret or secrets.token_hex(32),
        auth_header_name=auth_header_name[:100],
        auth_header_value=auth_header_value,
    )


def subscription_update(*, merchant: Any, subscription: WebhookSubscription, data: dict) -> WebhookSubscription:
    if subscription.merchant_id != merchant.pk:
        raise NotFoundError("Subscription not found.")
    if "url" in data:
        assert_public_url(data["url"])
        subscription.url = data["url"]
    if "events" in data:
        subscription.events = _check_events(data["events"])
    _check_auth_header(
        data.get("auth_header_name", subscription.auth_header_name),
        data.get("auth_header_value", subscription.auth_header_value),
    )
    for key in ("description", "active", "auth_header_name", "auth_header_value"):
        if key in data:
            setattr(subscription, key, data[key])
    if data.get("rotate_secret"):
        subscription.secret = secrets.token_hex(32)
    subscription.save()
    forget_subscriptions(subscription.merchant_id)
    return subscription


def subscription_delete(*, merchant: Any, subscription: WebhookSubscription) -> None:
    if subscription.merchant_id != merchant.pk:
        raise NotFoundError("Subscription not found.")
    subscription.delete()
    forget_subscriptions(subscription.merchant_id)


# --- per-store LLM settings ----------------------------------------------------------------------

MAX_STORE_TOKEN_BUDGET = 1_000_000_000
_MODEL_NAME = re.compile(r"^[\w.:/@+-]{1,200}$")


def llm_settings_update(
    *,
    merchant: Any,
    mode: str,
    base_url: str = "",
    model: str = "",
    api_key: str = "",
    monthly_token_budget: int | None = None,
) -> StoreLlmSettings:
    """Save the store's assistant-LLM choice. `api_key` blank keeps the stored (encrypted) key. A
    store's own endpoint must be a public http(s) address (SSRF guard). With the platform's model the
    store's budget cannot exceed the platform's per-store budget (the operator pays for it)."""
    from integrations.ai.llm import platform_budget

    if mode not in StoreLlmSettings.Mode.values:
        raise IntegrationError("Unknown mode.", code="invalid", fields={"mode": ["invalid"]})
    row = StoreLlmSettings.objects.for_merchant(merchant).first() or StoreLlmSettings(merchant=merchant)
    base_url, model = (base_url or "").strip(), (model or "").strip()
    errors: dict[str, list[str]] = {}
    if mode == StoreLlmSettings.Mode.CUSTOM:
        if not base_url:
            errors["base_url"] = ["required"]
        else:
            try:
                assert_public_url(base_url)
            except UnsafeURLError:
                errors["base_url"] = ["unsafe_url"]
        if not model:
            errors["model"] = ["required"]
    if model and not _MODEL_NAME.match(model):
        errors["model"] = ["invalid"]
    if monthly_token_budget is not None:
        ceiling = platform_budget() if mode == StoreLlmSettings.Mode.PLATFORM else MAX_STORE_TOKEN_BUDGET
        if monthly_token_budget < 0 or monthly_token_budget > ceiling:
            errors["monthly_token_budget"] = ["over_platform_budget" if mode == "platform" else "invalid"]
    if errors:
        raise IntegrationError("Invalid LLM settings.", code="invalid", fields=errors)
    row.mode = mode
    if base_url or mode == StoreLlmSettings.Mode.CUSTOM:
        row.base_url = base_url
    if model or mode == StoreLlmSettings.Mode.CUSTOM:
        row.model = model
    if api_key:
        row.api_key = api_key.strip()
    row.monthly_token_budget = monthly_token_budget
    try:
        with atomic():
            row.save()
    except IntegrityError:  # two first saves at once: the other one created the row; apply ours to it
        return llm_settings_update(
            merchant=merchant,
            mode=mode,
            base_url=base_url,
            model=model,
            api_key=api_key,
            monthly_token_budget=monthly_token_budget,
        )
    return row
