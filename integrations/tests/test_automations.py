"""Automation webhooks against a local n8n-like receiver: signed envelopes, order per subscription
through an outage, dead letters after the retry window and replay, SSRF guard, delivery log API."""

import json
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from catalog import commerce_services
from catalog.tests.factories import ProductFactory
from integrations import services
from integrations.automations.delivery import deliver_subscription, sign, verify
from integrations.models import WebhookDelivery
from kaleem.outbox import emit
from kaleem.outbox.services import relay_pending
from kaleem.ssrf import UnsafeURLError
from kaleem.testing.api import member_client

CUSTOMER = {"name": "Sara", "phone": "0551234567", "city": "Riyadh", "address": "Olaya St 12"}


def _order(merchant, product):
    order, _ = commerce_services.order_create(
        merchant=merchant, lines=[{"product": product.pk, "quantity": 1}], customer=CUSTOMER
    )
    return order


@pytest.mark.django_db
def test_receiver_down_then_recovered_gets_every_event_in_order_with_verifiable_signatures(owner, n8n):
    client, merchant, _user = owner
    r = client.post(
        "/api/v1/integrations/webhooks",
        {"url": f"{n8n.url}/webhook/orders", "events": ["order.created", "order.status_changed"]},
        format="json",
    )
    assert r.status_code == 201, r.content
    secret, subscription_id = r.json()["secret"], r.json()["id"]
    product = ProductFactory(merchant=merchant, stock=10, price=Decimal("50.00"))
    n8n.down = True

    order = _order(merchant, product)
    commerce_services.order_set_status(merchant=merchant, order=order, status="confirmed")
    commerce_services.order_set_status(merchant=merchant, order=order, status="shipped")
    relay_pending()
    relay_pending()  # relaying twice must not queue twice
    assert WebhookDelivery.objects.filter(subscription_id=subscription_id).count() == 3

    now = timezone.now()
    assert deliver_subscription(subscription_id=subscription_id, now=now) == {"sent": 0, "failed": 1, "dead": 0}
    # the head failed: later events were not attempted (order per subscription)
    assert sorted(WebhookDelivery.objects.values_list("attempts", flat=True)) == [0, 0, 1]
    assert deliver_subscription(subscription_id=subscription_id, now=now + timedelta(seconds=1)) == {
        "sent": 0,
        "failed": 0,
        "dead": 0,
    }  # backoff not over yet
    deliver_subscription(subscription_id=subscription_id, now=now + timedelta(minutes=5))  # still down

    n8n.down = False
    assert deliver_subscription(subscription_id=subscription_id, now=now + timedelta(hours=2))["sent"] == 3
    bodies = [json.loads(r["body"]) for r in n8n.received]
    assert [b["type"] for b in bodies] == ["order.created", "order.status_changed", "order.status_changed"]
    assert [b["data"]["status"] for b in bodies] == ["pending", "confirmed", "shipped"]
    assert {b["merchant"] for b in bodies} == {str(merchant.pk)}
    assert set(bodies[0]) == {"id", "type", "created_at", "merchant", "data"}
    for received in n8n.received:
        header = received["headers"]["X-Kaleem-Signature"]
        assert verify(secret, header, received["body"])
        assert not verify("another-secret", header, received["body"])
        assert not verify(secret, header, received["body"] + b" ")
    assert "customer_phone" not in json.dumps(bodies)  # no PII in automation events

    log = client.get(f"/api/v1/integrations/webhooks/{subscription_id}/deliveries").json()["results"]
    assert {d["state"] for d in log} == {"succeeded"}
    first = next(d for d in log if d["attempts"] == 3)
    assert first["last_status_code"] == 200 and first["last_latency_ms"] is not None
    assert [e["status_code"] for e in first["log"]] == [503, 503, 200]


@override_settings(AUTOMATION_RETRY_WINDOW_SECONDS=3600)
@pytest.mark.django_db
def test_after_the_retry_window_a_delivery_is_dead_lettered_and_can_be_replayed(owner, n8n):
    client, merchant, _user = owner
    subscription = services.subscription_create(merchant=merchant, url=n8n.url + "/webhook/x", events=["*"])
    product = ProductFactory(merchant=merchant, stock=1)
    n8n.down = True
    _order(merchant, product)  # order.created + product.out_of_stock (stock 1 → 0)
    relay_pending()
    types = sorted(WebhookDelivery.objects.values_list("event_type", flat=True))
    assert types == ["order.created", "product.out_of_stock"]
    now = timezone.now()
    step = now
    for _ in range(12):
        step += timedelta(minutes=30)
        deliver_subscription(subscription_id=subscription.id, now=step)
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"dead"}

    n8n.down = False
    r = client.post(f"/api/v1/integrations/webhooks/{subscription.id}/replay", {}, format="json")
    assert r.json() == {"replayed": 2}
    deliver_subscription(subscription_id=subscription.id)
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"succeeded"}
    assert [json.loads(r["body"])["type"] for r in n8n.received] == ["order.created", "product.out_of_stock"]


@pytest.mark.django_db
def test_events_reach_only_matching_active_subscriptions_of_the_same_store(n8n):
    _c, merchant, _u = member_client("owner")
    _c2, other, _u2 = member_client("owner")
    wanted = services.subscription_create(merchant=merchant, url=n8n.url + "/a", events=["order.created"])
    services.subscription_create(merchant=merchant, url=n8n.url + "/b", events=["lead.created"])
    inactive = services.subscription_create(merchant=merchant, url=n8n.url + "/c", events=["order.created"])
    inactive.active = False
    inactive.save()
    services.subscription_create(merchant=other, url=n8n.url + "/d", events=["order.created"])
    emit(merchant=merchant, event_type="order.created", payload={"order_id": "1"})
    emit(merchant=merchant, event_type="product.changed", payload={"product_ids": []})  # not an automation event
    relay_pending()
    assert list(WebhookDelivery.objects.values_list("subscription_id", flat=True)) == [wanted.id]


@override_settings(SSRF_ALLOW_PRIVATE=False)
@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/webhook/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/",
        "ftp://x.example/",
    ],
)
def test_subscriptions_to_private_or_link_local_targets_are_refused(owner, url):
    client, merchant, _user = owner
    r = client.post("/api/v1/integrations/webhooks", {"url": url, "events": ["order.created"]}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] in ("unsafe_url", "invalid", "validation_error")
    with pytest.raises(UnsafeURLError):
        services.subscription_create(merchant=merchant, url=url, events=["order.created"])


@pytest.mark.django_db
def test_loopback_allowed_when_the_test_setting_allows_it(owner, n8n):
    client, _merchant, _user = owner
    r = client.post("/api/v1/integrations/webhooks", {"url": n8n.url, "events": ["lead.created"]}, format="json")
    assert r.status_code == 201


@pytest.mark.django_db
def test_subscription_validation_and_roles(owner):
    client, merchant, _user = owner
    bad = client.post(
        "/api/v1/integrations/webhooks", {"url": "https://x.example/h", "events": ["nope"]}, format="json"
    )
    assert bad.status_code == 400
    empty = client.post("/api/v1/integrations/webhooks", {"url": "https://x.example/h", "events": []}, format="json")
    assert empty.status_code == 400
    agent, _m, _u = member_client("agent", merchant=merchant)
    assert agent.get("/api/v1/integrations/webhooks").status_code == 403
    r = client.post("/api/v1/integrations/webhooks", {"url": "https://x.example/h", "events": ["*"]}, format="json")
    sid = r.json()["id"]
    listed = client.get("/api/v1/integrations/webhooks").json()["results"]
    assert "secret" not in listed[0]
    rotated = client.patch(f"/api/v1/integrations/webhooks/{sid}", {"rotate_secret": True}, format="json").json()
    assert rotated["secret"] != r.json()["secret"]
    assert client.delete(f"/api/v1/integrations/webhooks/{sid}").status_code == 204


def test_signature_recipe_matches_the_documented_format():
    body = b'{"id":"1"}'
    stamp = int(time.time())
    header = sign("whsec", body, stamp)
    assert header.startswith(f"t={stamp},v1=") and len(header.split("v1=")[1]) == 64
    assert verify("whsec", header, body)
    assert not verify("whsec", sign("whsec", body, stamp - 3600), body)  # replayed old delivery
    assert not verify("whsec", "garbage", body)


@pytest.mark.django_db
def test_one_sender_per_subscription_at_a_time(n8n):
    from integrations.models import WebhookSubscription

    _c, merchant, _u = member_client("owner")
    subscription = services.subscription_create(merchant=merchant, url=n8n.url, events=["order.created"])
    emit(merchant=merchant, event_type="order.created", payload={"order_id": "1"})
    relay_pending()
    WebhookSubscription.objects.filter(id=subscription.id).update(lease_until=timezone.now() + timedelta(seconds=60))
    assert deliver_subscription(subscription_id=subscription.id) == {"sent": 0, "failed": 0, "dead": 0}
    assert n8n.received == []
    WebhookSubscription.objects.filter(id=subscription.id).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert deliver_subscription(subscription_id=subscription.id)["sent"] == 1  # an expired lease is taken over
    subscription.refresh_from_db()
    assert subscription.lease_until is None


@pytest.mark.django_db
def test_header_auth_reaches_the_receiver_and_reserved_headers_are_refused(owner, n8n):
    client, merchant, _user = owner
    for name in ("Host", "Content-Length", "X-Kaleem-Signature", "Bad Header", "X:y"):
        r = client.post(
            "/api/v1/integrations/webhooks",
            {"url": n8n.url, "events": ["*"], "auth_header_name": name, "auth_header_value": "v"},
            format="json",
        )
        assert r.status_code == 400, name
    r = client.post(
        "/api/v1/integrations/webhooks",
        {"url": n8n.url, "events": ["*"], "auth_header_name": "X-N8N-Auth", "auth_header_value": "a\r\nHost: evil"},
        format="json",
    )
    assert r.status_code == 400
    subscription = services.subscription_create(
        merchant=merchant, url=n8n.url, events=["*"], auth_header_name="X-N8N-Auth", auth_header_value="s3cret"
    )
    emit(merchant=merchant, event_type="lead.created", payload={"lead_id": "1"})
    relay_pending()
    deliver_subscription(subscription_id=subscription.id)
    assert n8n.received[0]["headers"]["X-N8N-Auth"] == "s3cret"
    assert json.loads(n8n.received[0]["body"])["type"] == "lead.created"
