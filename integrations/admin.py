"""Staff admin for integrations. Secrets never show; service-owned rows are read-only; actions call services."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations.automations.delivery import deliveries_replay
from integrations.models import (
    PlatformConnection,
    PlatformWebhookEvent,
    StoreLlmSettings,
    SyncJob,
    WebhookDelivery,
    WebhookSubscription,
)
from kaleem.admin import MerchantScopedAdmin, ReadOnlyAdminMixin


@admin.register(PlatformConnection)
class PlatformConnectionAdmin(MerchantScopedAdmin):
    list_display = ["platform", "shop_domain", "external_store_id", "status", "last_synced_at"]
    list_filter = ["platform", "status"]
    exclude = ["credentials"]
    readonly_fields = ["public_key", "last_synced_at", "last_error"]


@admin.register(PlatformWebhookEvent)
class PlatformWebhookEventAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = ["topic", "state", "attempts", "created_at", "processed_at"]
    list_filter = ["state", "topic"]


@admin.register(SyncJob)
class SyncJobAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = ["connection", "kind", "state", "processed", "created_count", "updated_count", "archived_count"]
    list_filter = ["kind", "state"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(MerchantScopedAdmin):
    list_display = ["url", "active", "created_at"]
    list_filter = ["active"]
    exclude = ["secret", "auth_header_value", "lease_until"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = ["event_type", "subscription", "state", "attempts", "last_status_code", "last_latency_ms"]
    list_filter = ["state", "event_type"]
    actions = ["replay"]

    @admin.action(description="Replay selected dead letters")
    def replay(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for merchant_id in set(queryset.values_list("merchant_id", flat=True)):
            ids = list(queryset.filter(merchant_id=merchant_id).values_list("id", flat=True))
            deliveries_replay(merchant=merchant_id, delivery_ids=ids)


@admin.register(StoreLlmSettings)
class StoreLlmSettingsAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    """Changed by the store's admins on the dashboard (validated, SSRF-guarded); the key never shows."""

    list_display = ["mode", "model", "monthly_token_budget", "updated_at"]
    list_filter = ["mode"]
    exclude = ["api_key"]
