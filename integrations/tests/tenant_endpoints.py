"""Integrations endpoints taking an object id, for the one cross-tenant test."""

from django.utils import timezone

from integrations import services
from integrations.models import SyncJob, WebhookDelivery
from kaleem.testing.tenant_isolation import register_tenant_endpoint


def _connection(merchant):
    return services.connection_upsert(merchant=merchant, platform="shopify", credentials={"access_token": "x"}).pk


def _job(merchant):
    connection = services.connection_upsert(merchant=merchant, platform="salla", credentials={"access_token": "x"})
    return SyncJob.objects.create(merchant=merchant, connection=connection).pk


def _subscription(merchant):
    return services.subscription_create(merchant=merchant, url="https://hooks.example.com/x", events=["*"]).pk


def _delivery(merchant):
    subscription = services.subscription_create(merchant=merchant, url="https://hooks.example.com/y", events=["*"])
    return WebhookDelivery.objects.create(
        merchant=merchant,
        subscription=subscription,
        event_id="00000000-0000-0000-0000-000000000001",
        event_type="order.created",
        event_created_at=timezone.now(),
        next_attempt_at=timezone.now(),
    ).pk


C = "/api/v1/integrations/platforms/{id}"
register_tenant_endpoint("integrations-connection-detail", "GET", C, _connection)
register_tenant_endpoint("integrations-connection-detail", "DELETE", C, _connection)
register_tenant_endpoint("integrations-connection-sync", "POST", C + "/sync", _connection)
register_tenant_endpoint("integrations-connection-connect", "POST", C + "/connect", _connection)
register_tenant_endpoint("integrations-sync-job", "GET", "/api/v1/integrations/sync-jobs/{id}", _job)
S = "/api/v1/integrations/webhooks/{id}"
register_tenant_endpoint("integrations-subscription-detail", "GET", S, _subscription)
register_tenant_endpoint("integrations-subscription-detail", "PATCH", S, _subscription, body={"active": False})
register_tenant_endpoint("integrations-subscription-detail", "DELETE", S, _subscription)
register_tenant_endpoint("integrations-subscription-deliveries", "GET", S + "/deliveries", _subscription)
register_tenant_endpoint("integrations-subscription-replay", "POST", S + "/replay", _subscription, body={})
register_tenant_endpoint("integrations-delivery", "GET", "/api/v1/integrations/deliveries/{id}", _delivery)
