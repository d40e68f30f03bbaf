"""A real gunicorn + Celery worker + beat (Redis broker): a Shopify webhook is verified by the web
process and applied by the worker; an order placed over the API reaches the merchant's n8n receiver,
which is down at first, through the outbox relay, the automation sender and the beat's retry sweep —
in order and signed."""

import base64
import hashlib
import hmac
import json
import time
import urllib.request

import pytest
from django.conf import settings
from django.db import connection

from catalog.models import Product
from channels.testing.stack import database_url, free_port, stack_env, start_gunicorn, start_worker, stop
from integrations import services
from integrations.automations.delivery import verify
from integrations.models import WebhookDelivery
from kaleem.testing.api import member_client
from kaleem.testing.services import redis_url_or_skip


def wait_for(predicate, timeout: float):  # noqa: ANN001, ANN201
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return None


def _post(url: str, body: bytes, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 - loopback test server
        return response.status, json.loads(response.read() or b"{}")


@pytest.mark.worker
@pytest.mark.slow
def test_platform_webhook_and_automation_delivery_through_real_workers(transactional_db, n8n, tmp_path):
    if connection.vendor == "sqlite":
        pytest.skip("needs a database shared with subprocesses: run with DATABASE_URL=postgres://… (CI does)")
    redis_url_or_skip()
    from kaleem.tests.ops_support import private_redis  # a throw-away redis-server: no other worker eats our tasks

    client, merchant, _user = member_client("owner")
    secret = "shpss_worker_test"
    shop = services.connection_upsert(
        merchant=merchant,
        platform="shopify",
        credentials={"access_token": "x", "webhook_secret": secret},
        shop_domain="demo-store.myshopify.com",
    )
    subscription = services.subscription_create(
        merchant=merchant, url=f"{n8n.url}/webhook/orders", events=["order.created", "product.out_of_stock"]
    )
    n8n.down = True
    with private_redis() as redis_url:
        env = stack_env(
            db_url=database_url(connection.settings_dict),
            redis_url=redis_url,
            SECRET_KEY=settings.SECRET_KEY,
            FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS or []),
        )
        port = free_port()
        web = start_gunicorn(env, port=port, workers=1, log=open(tmp_path / "web.log", "wb"))  # noqa: SIM115
        worker = start_worker(env, beat=True, workdir=tmp_path, log=open(tmp_path / "worker.log", "wb"))  # noqa: SIM115
        try:
            product = {
                "id": 9554194432293,
                "title": "Linen Abaya",
                "status": "active",
                "body_html": "<p>Linen</p>",
                "tags": "linen",
                "variants": [{"id": 1, "price": "249.00", "sku": "ABAYA-LINEN", "inventory_quantity": 1}],
            }
            raw = json.dumps(product).encode()
            digest = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
            headers = {
                "X-Shopify-Topic": "products/create",
                "X-Shopify-Webhook-Id": "w1",
                "X-Shopify-Hmac-Sha256": digest,
            }
            status, body = _post(f"http://127.0.0.1:{port}/webhooks/platforms/shopify/{shop.public_key}", raw, headers)
            assert (status, body["outcome"]) == (200, "accepted")
            created = wait_for(lambda: Product.objects.for_merchant(merchant).filter(sku="ABAYA-LINEN").first(), 90)
            assert created, (tmp_path / "worker.log").read_text()[-3000:]

            token = client.tokens["access"]
            order = {
                "items": [{"product": str(created.pk), "quantity": 1}],
                "customer": {"name": "Sara", "phone": "0551234567", "city": "Riyadh", "address": "Olaya 1"},
            }
            status, placed = _post(
                f"http://127.0.0.1:{port}/api/v1/orders",
                json.dumps(order).encode(),
                {"Authorization": f"Bearer {token}", "Idempotency-Key": "w-1"},
            )
            assert status == 201 and placed["number"] == "K-10001"

            # the relay queues both events for the subscription; the receiver is down, so they wait
            assert wait_for(
                lambda: WebhookDelivery.objects.filter(subscription=subscription, attempts__gte=1).exists(), 60
            )
            n8n.down = False
            assert wait_for(lambda: len(n8n.received) >= 2, 90), (tmp_path / "worker.log").read_text()[-3000:]
            bodies = [json.loads(r["body"]) for r in n8n.received]
            assert [b["type"] for b in bodies] == ["order.created", "product.out_of_stock"]
            assert bodies[0]["data"]["number"] == "K-10001"
            subscription.refresh_from_db()
            assert all(verify(subscription.secret, r["headers"]["X-Kaleem-Signature"], r["body"]) for r in n8n.received)
            time.sleep(3)
            assert len(n8n.received) == 2  # at least once, but not twice here
        finally:
            stop(worker)
            stop(web)
