"""Shopify / Salla / Zid against local fakes speaking their protocols: paginated imports under rate
limits, verified and deduplicated webhooks, deletes that archive and de-index, order mirrors."""

import base64
import hashlib
import hmac
import json

import pytest
from django.test import override_settings

from catalog.commerce import order_status_for_assistant
from catalog.models import Order, Product
from catalog.selectors import product_search
from integrations import services
from integrations.commerce.sync import sync_job_start
from integrations.models import PlatformWebhookEvent, SyncJob
from integrations.tasks import platform_reconcile_all_task
from integrations.tests.fakes import salla_product, shopify_node
from kaleem.outbox.services import relay_pending
from kaleem.testing.factories import MerchantFactory

SHOPIFY_SECRET = "shpss_webhook_secret"
SALLA_SECRET = "salla_webhook_secret"


def _shopify(merchant, fake, **extra):
    return services.connection_upsert(
        merchant=merchant,
        platform="shopify",
        credentials={"access_token": fake.token, "webhook_secret": SHOPIFY_SECRET, **extra},
        shop_domain="demo-store.myshopify.com",
        base_url=fake.url,
    )


def _run_sync(connection, django_capture_on_commit_callbacks, kind=SyncJob.Kind.FULL):
    """Start the job as the API does and run the task; indexing (the relay) is not part of these tests."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = sync_job_start(connection=connection, kind=kind)
    assert len(callbacks) == 1
    callbacks[0]()  # the Celery task (eager), as a worker would run it after commit
    job.refresh_from_db()
    return job


def _shopify_post(client, connection, topic, payload, *, webhook_id="wh-1", secret=SHOPIFY_SECRET, signature=None):
    body = json.dumps(payload).encode()
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return client.post(
        f"/webhooks/platforms/shopify/{connection.public_key}",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC=topic,
        HTTP_X_SHOPIFY_SHOP_DOMAIN="demo-store.myshopify.com",
        HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
        HTTP_X_SHOPIFY_EVENT_ID=f"ev-{webhook_id}",
        HTTP_X_SHOPIFY_HMAC_SHA256=signature if signature is not None else digest,
    )


REST_PRODUCT = {
    "id": 9554194432293,
    "admin_graphql_api_id": "gid://shopify/Product/9554194432293",
    "title": "Linen Abaya",
    "status": "active",
    "vendor": "My Store",
    "product_type": "Abayas",
    "body_html": "<p>Light linen abaya for summer</p>",
    "tags": "linen, summer",
    "variants": [{"id": 49120001, "price": "249.00", "sku": "ABAYA-LINEN", "inventory_quantity": 12}],
    "images": [{"src": "https://cdn.shopify.com/abaya.jpg"}],
}


@pytest.mark.django_db
def test_shopify_import_of_1200_products_survives_429_and_throttling_and_imports_each_once(
    fake_shopify, django_capture_on_commit_callbacks
):
    merchant = MerchantFactory()
    fake_shopify.products = [shopify_node(i) for i in range(1, 1201)]
    fake_shopify.throttle_on = {3}  # HTTP 429 + Retry-After mid-way
    fake_shopify.throttled_on = {5}  # GraphQL cost budget exhausted on a later page
    connection = _shopify(merchant, fake_shopify)

    job = _run_sync(connection, django_capture_on_commit_callbacks)

    assert job.state == SyncJob.State.DONE, job.message
    assert (job.processed, job.created_count, job.pages) == (1200, 1200, 5)
    products = Product.objects.for_merchant(merchant).filter(source="shopify")
    assert products.count() == 1200
    assert len(set(products.values_list("external_id", flat=True))) == 1200
    sample = products.get(external_id=str(9554194400000 + 7))
    assert (sample.sku, sample.title_en, str(sample.price), sample.stock) == ("TSHIRT-00007", "T-Shirt 7", "29.99", 5)
    statuses = [r for r in fake_shopify.requests if r["method"] == "POST"]
    assert len(statuses) == 7  # 5 pages + one 429 retry + one THROTTLED retry

    fake_shopify.products[10]["variants"]["nodes"][0]["price"] = "19.99"  # changed on the platform
    fake_shopify.products[20]["title"] = "T-Shirt 21 (new)"
    again = _run_sync(connection, django_capture_on_commit_callbacks, kind=SyncJob.Kind.RECONCILE)
    assert (again.processed, again.created_count, again.updated_count) == (1200, 0, 2)  # unchanged rows untouched
    assert Product.objects.for_merchant(merchant).count() == 1200
    assert str(products.get(external_id=str(9554194400000 + 11)).price) == "19.99"


@pytest.mark.django_db
def test_reconcile_archives_products_deleted_while_webhooks_were_missed(
    fake_shopify, django_capture_on_commit_callbacks
):
    merchant = MerchantFactory()
    fake_shopify.products = [shopify_node(i) for i in range(1, 6)]
    connection = _shopify(merchant, fake_shopify)
    _run_sync(connection, django_capture_on_commit_callbacks)
    fake_shopify.products = fake_shopify.products[:3]
    with django_capture_on_commit_callbacks(execute=True):
        assert platform_reconcile_all_task() == 1
    job = SyncJob.objects.filter(connection=connection, kind=SyncJob.Kind.RECONCILE).get()
    assert job.archived_count == 2
    assert Product.objects.for_merchant(merchant).filter(status="archived").count() == 2


@pytest.mark.django_db
def test_sync_with_rejected_credentials_fails_visibly(fake_shopify, django_capture_on_commit_callbacks):
    merchant = MerchantFactory()
    connection = services.connection_upsert(
        merchant=merchant,
        platform="shopify",
        credentials={"access_token": "wrong"},
        shop_domain="demo-store.myshopify.com",
        base_url=fake_shopify.url,
    )
    job = _run_sync(connection, django_capture_on_commit_callbacks)
    assert job.state == SyncJob.State.FAILED
    assert "401" in job.message
    with pytest.raises(services.IntegrationError):
        services.connection_verify(connection=connection)


@pytest.mark.django_db
def test_salla_import_paginates_per_page_60_through_a_429(fake_salla, django_capture_on_commit_callbacks):
    merchant = MerchantFactory()
    fake_salla.products = [salla_product(i) for i in range(1, 131)]
    fake_salla.products[5]["status"] = "hidden"
    fake_salla.throttle_on = {2}
    connection = services.connection_upsert(
        merchant=merchant,
        platform="salla",
        credentials={"access_token": fake_salla.token, "webhook_secret": SALLA_SECRET},
        base_url=fake_salla.url,
    )
    job = _run_sync(connection, django_capture_on_commit_callbacks)
    assert job.state == SyncJob.State.DONE, job.message
    assert (job.created_count, job.total, job.pages) == (130, 130, 3)
    product = Product.objects.for_merchant(merchant).get(external_id=str(1025569001))
    assert (product.title_ar, product.sku, str(product.price), product.stock) == ("ساعة 1", "W-0001", "299.00", 7)
    assert Product.objects.for_merchant(merchant).get(external_id=str(1025569006)).status == "draft"
    assert all("per_page=60" in r["path"] for r in fake_salla.requests)


@pytest.mark.django_db
def test_zid_import_follows_next_links(fake_zid, django_capture_on_commit_callbacks):
    merchant = MerchantFactory()
    from integrations.tests.fakes import zid_product

    fake_zid.products = [zid_product(i) for i in range(1, 121)]
    connection = services.connection_upsert(
        merchant=merchant,
        platform="zid",
        credentials={
            "authorization": "partner",
            "access_token": fake_zid.token,
            "webhook_username": "u",
            "webhook_password": "p",
        },
        external_store_id="3121837",
        base_url=fake_zid.url + "/v1",
    )
    job = _run_sync(connection, django_capture_on_commit_callbacks)
    assert job.state == SyncJob.State.DONE, job.message
    assert (job.created_count, job.pages) == (120, 3)
    product = Product.objects.for_merchant(merchant).get(sku="Z.7")
    assert (product.title_ar, product.title_en) == ("عطر 7", "Perfume 7")
    assert fake_zid.requests[0]["headers"]["Store-Id"] == "3121837"


@pytest.mark.django_db
def test_shopify_webhook_bad_hmac_is_rejected_and_nothing_is_stored(client, fake_shopify):
    connection = _shopify(MerchantFactory(), fake_shopify)
    r = _shopify_post(client, connection, "products/create", REST_PRODUCT, secret="not-the-secret")
    assert r.status_code == 401
    r = _shopify_post(client, connection, "products/create", REST_PRODUCT, signature="")
    assert r.status_code == 401
    assert not PlatformWebhookEvent.objects.exists()
    assert not Product.objects.exists()
    r = client.post("/webhooks/platforms/shopify/unknown-key", data=b"{}", content_type="application/json")
    assert r.status_code == 404


@pytest.mark.django_db
def test_shopify_webhook_accepted_once_when_delivered_twice(client, fake_shopify, django_capture_on_commit_callbacks):
    merchant = MerchantFactory()
    connection = _shopify(merchant, fake_shopify)
    with django_capture_on_commit_callbacks(execute=True):
        first = _shopify_post(client, connection, "products/create", REST_PRODUCT, webhook_id="wh-77")
    with django_capture_on_commit_callbacks(execute=True):
        second = _shopify_post(client, connection, "products/create", REST_PRODUCT, webhook_id="wh-77")
    assert (first.status_code, first.json()["outcome"]) == (200, "accepted")
    assert (second.status_code, second.json()["outcome"]) == (200, "duplicate")
    assert PlatformWebhookEvent.objects.filter(connection=connection).count() == 1
    product = Product.objects.for_merchant(merchant).get(source="shopify")
    assert (product.sku, product.title_en, str(product.price), product.tags) == (
        "ABAYA-LINEN",
        "Linen Abaya",
        "249.00",
        ["linen", "summer"],
    )


@pytest.mark.django_db
def test_shopify_rotated_secret_still_verifies_during_rotation(client, fake_shopify):
    connection = _shopify(MerchantFactory(), fake_shopify, previous_webhook_secret="old-secret")
    r = _shopify_post(client, connection, "products/update", REST_PRODUCT, secret="old-secret")
    assert r.status_code == 200


@pytest.mark.django_db
def test_malformed_and_oversized_webhooks(client, fake_shopify):
    connection = _shopify(MerchantFactory(), fake_shopify)
    body = b"{not json"
    digest = base64.b64encode(hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    r = client.post(
        f"/webhooks/platforms/shopify/{connection.public_key}",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC="products/create",
        HTTP_X_SHOPIFY_HMAC_SHA256=digest,
    )
    assert r.status_code == 400
    big = b"{" + b" " * 1_100_000 + b"}"
    r = client.post(f"/webhooks/platforms/shopify/{connection.public_key}", data=big, content_type="application/json")
    assert r.status_code == 413
    assert client.get(f"/webhooks/platforms/shopify/{connection.public_key}").status_code == 405


@pytest.mark.django_db
def test_product_deleted_on_platform_is_archived_and_not_found_by_search(
    client, fake_shopify, django_capture_on_commit_callbacks
):
    merchant = MerchantFactory()
    connection = _shopify(merchant, fake_shopify)
    with django_capture_on_commit_callbacks(execute=True):
        _shopify_post(client, connection, "products/create", REST_PRODUCT, webhook_id="c1")
    relay_pending()
    assert [p.sku for p, _ in product_search(merchant=merchant, query="linen abaya").items] == ["ABAYA-LINEN"]

    with django_capture_on_commit_callbacks(execute=True):
        r = _shopify_post(client, connection, "products/delete", {"id": REST_PRODUCT["id"]}, webhook_id="d1")
    assert r.status_code == 200
    relay_pending()
    product = Product.objects.for_merchant(merchant).get(external_id=str(REST_PRODUCT["id"]))
    assert product.status == "archived"
    assert product_search(merchant=merchant, query="linen abaya").items == []


@pytest.mark.django_db
def test_shopify_order_webhook_mirrors_the_order_for_the_assistant(
    client, fake_shopify, django_capture_on_commit_callbacks
):
    merchant = MerchantFactory()
    connection = _shopify(merchant, fake_shopify)
    order = {
        "id": 5940139491234,
        "name": "#1001",
        "email": "john.doe@example.com",
        "currency": "SAR",
        "total_price": "59.99",
        "financial_status": "paid",
        "fulfillment_status": None,
        "line_items": [{"id": 1, "sku": "TSHIRT-001", "title": "T-Shirt", "quantity": 2, "price": "29.99"}],
    }
    with django_capture_on_commit_callbacks(execute=True):
        _shopify_post(client, connection, "orders/create", order, webhook_id="o1")
    with django_capture_on_commit_callbacks(execute=True):
        _shopify_post(
            client, connection, "orders/updated", {**order, "fulfillment_status": "fulfilled"}, webhook_id="o2"
        )
    mirrored = Order.objects.for_merchant(merchant).get(source="shopify")
    assert (mirrored.number, mirrored.status, str(mirrored.total)) == ("#1001", "shipped", "59.99")
    assert mirrored.customer_email == "john.doe@example.com"
    assert order_status_for_assistant(merchant=merchant, order_number="1001", language="en")["status"] == "shipped"


def _salla_post(client, connection, payload, *, secret=SALLA_SECRET, headers=None):
    body = json.dumps(payload).encode()
    extra = headers or {
        "HTTP_X_SALLA_SIGNATURE": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "HTTP_X_SALLA_SECURITY_STRATEGY": "Signature",
    }
    return client.post(
        f"/webhooks/platforms/salla/{connection.public_key}", data=body, content_type="application/json", **extra
    )


@pytest.mark.django_db
def test_salla_webhooks_signature_and_token_strategies(client, fake_salla, django_capture_on_commit_callbacks):
    merchant = MerchantFactory()
    connection = services.connection_upsert(
        merchant=merchant,
        platform="salla",
        credentials={"access_token": "t", "webhook_secret": SALLA_SECRET, "webhook_token": "tok-123"},
        base_url=fake_salla.url,
    )
    event = {
        "event": "product.created",
        "merchant": 1305146709,
        "created_at": "Mon Apr 17 2023 12:14:21 GMT+0300",
        "data": salla_product(1),
    }
    assert _salla_post(client, connection, event, secret="wrong").status_code == 401
    with django_capture_on_commit_callbacks(execute=True):
        assert _salla_post(client, connection, event).json()["outcome"] == "accepted"
    assert _salla_post(client, connection, event).json()["outcome"] == "duplicate"
    token = {"HTTP_X_SALLA_SECURITY_STRATEGY": "Token", "HTTP_AUTHORIZATION": "Bearer tok-123"}
    raw_token = {"HTTP_X_SALLA_SECURITY_STRATEGY": "Token", "HTTP_AUTHORIZATION": "tok-123"}
    bad_token = {"HTTP_X_SALLA_SECURITY_STRATEGY": "Token", "HTTP_AUTHORIZATION": "Bearer nope"}
    deleted = {**event, "event": "product.deleted"}
    assert _salla_post(client, connection, deleted, headers=bad_token).status_code == 401
    with django_capture_on_commit_callbacks(execute=True):
        assert _salla_post(client, connection, deleted, headers=token).status_code == 200
    assert _salla_post(client, connection, {**deleted, "x": 1}, headers=raw_token).status_code == 200
    assert Product.objects.for_merchant(merchant).get(external_id=str(1025569001)).status == "archived"

    authorize = {
        "event": "app.store.authorize",
        "merchant": 1305146709,
        "created_at": "2026-01-01T13:00:00+03:00",
        "data": {"access_token": "ory_at_NEW", "refresh_token": "ory_rt_NEW", "expires": 1768435200, "scope": "x"},
    }
    with django_capture_on_commit_callbacks(execute=True):
        _salla_post(client, connection, authorize)
    connection.refresh_from_db()
    assert json.loads(connection.credentials)["access_token"] == "ory_at_NEW"


@pytest.mark.django_db
def test_zid_webhook_requires_basic_auth_on_the_secret_path(client, fake_zid, django_capture_on_commit_callbacks):
    from integrations.tests.fakes import zid_product

    merchant = MerchantFactory()
    connection = services.connection_upsert(
        merchant=merchant,
        platform="zid",
        credentials={"access_token": fake_zid.token, "webhook_username": "kaleem", "webhook_password": "s3cret"},
        base_url=fake_zid.url,
    )
    body = json.dumps({**zid_product(3), "updated_at": "2026-01-01 13:15:00"}).encode()
    url = f"/webhooks/platforms/zid/{connection.public_key}?event=product.create"
    good = "Basic " + base64.b64encode(b"kaleem:s3cret").decode()
    bad = "Basic " + base64.b64encode(b"kaleem:guess").decode()
    assert client.post(url, data=body, content_type="application/json").status_code == 401
    assert client.post(url, data=body, content_type="application/json", HTTP_AUTHORIZATION=bad).status_code == 401
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url, data=body, content_type="application/json", HTTP_AUTHORIZATION=good)
    assert r.status_code == 200
    assert (
        client.post(url, data=body, content_type="application/json", HTTP_AUTHORIZATION=good).json()["outcome"]
        == "duplicate"
    )
    assert Product.objects.for_merchant(merchant).get(sku="Z.3").title_en == "Perfume 3"
    wrong_path = "/webhooks/platforms/zid/not-the-key?event=product.create"
    assert (
        client.post(wrong_path, data=body, content_type="application/json", HTTP_AUTHORIZATION=good).status_code == 404
    )


@pytest.mark.django_db
def test_credentials_are_encrypted_at_rest(fake_shopify):
    from django.db import connection as db

    conn = _shopify(MerchantFactory(), fake_shopify)
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM integrations_platformconnection WHERE id = %s", [conn.id.hex])
        row = cursor.fetchone()
    if row is None:  # PostgreSQL stores uuid natively
        with db.cursor() as cursor:
            cursor.execute("SELECT credentials FROM integrations_platformconnection WHERE id = %s", [str(conn.id)])
            row = cursor.fetchone()
    assert row[0].startswith("enc:") and fake_shopify.token not in row[0]


@override_settings(SSRF_ALLOW_PRIVATE=False)
@pytest.mark.django_db
def test_platform_base_url_is_ssrf_guarded():
    from kaleem.ssrf import UnsafeURLError

    with pytest.raises(UnsafeURLError):
        services.connection_upsert(
            merchant=MerchantFactory(),
            platform="shopify",
            credentials={"access_token": "x"},
            base_url="http://169.254.169.254/",
        )


@pytest.mark.django_db
def test_assistant_asks_the_platform_for_an_order_no_webhook_announced(fake_shopify):
    merchant = MerchantFactory()
    _shopify(merchant, fake_shopify)
    fake_shopify.orders = [
        {
            "id": "gid://shopify/Order/5940139491299",
            "name": "#1002",
            "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": "FULFILLED",
            "cancelledAt": None,
        }
    ]
    answer = order_status_for_assistant(merchant=merchant, order_number="#1002", language="en")
    assert (answer["number"], answer["code"]) == ("#1002", "shipped")
    assert Order.objects.for_merchant(merchant).get(source="shopify").external_id == "5940139491299"
    assert order_status_for_assistant(merchant=merchant, order_number="#4040") is None
    fake_shopify.close()  # platform unreachable: "not found", not an error
    assert order_status_for_assistant(merchant=merchant, order_number="#4041") is None


@pytest.mark.django_db(transaction=True)
def test_salla_expired_token_is_refreshed_once_even_by_parallel_syncs(fake_salla):
    import threading
    import time as clock

    from django.db import connection as db
    from django.test import override_settings as settings_override

    from integrations.commerce.base import connector_for
    from integrations.models import PlatformConnection

    merchant = MerchantFactory()
    fake_salla.products = [salla_product(i) for i in range(1, 4)]
    fake_salla.token = "ory_at_expired"
    connection = services.connection_upsert(
        merchant=merchant,
        platform="salla",
        credentials={
            "access_token": "ory_at_expired",
            "refresh_token": "ory_rt_1",
            "expires": str(int(clock.time()) - 10),
        },
        base_url=fake_salla.url,
    )
    pages: list = []
    errors: list = []

    def walk() -> None:
        try:
            fresh = PlatformConnection.objects.get(id=connection.id)
            pages.append(connector_for(fresh).list_products(None))
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            db.close()

    with settings_override(SALLA_OAUTH_TOKEN_URL=f"{fake_salla.url}/oauth2/token"):
        threads = [threading.Thread(target=walk) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors
    assert fake_salla.refreshes == 1  # a second refresh with the used token would have revoked the grant
    assert [len(p.products) for p in pages] == [3, 3, 3]
    stored = json.loads(PlatformConnection.objects.get(id=connection.id).credentials)
    assert (stored["access_token"], stored["refresh_token"]) == ("ory_at_2", "ory_rt_2")
    assert float(stored["expires"]) > clock.time() + 3600


@pytest.mark.django_db
def test_connect_verifies_and_subscribes_our_webhook_url_on_each_platform(owner, fake_shopify, fake_salla, fake_zid):
    client, merchant, _user = owner
    r = client.post(
        "/api/v1/integrations/platforms",
        {
            "platform": "shopify",
            "credentials": {"access_token": fake_shopify.token, "webhook_secret": "s"},
            "shop_domain": "demo-store.myshopify.com",
            "base_url": fake_shopify.url,
        },
        format="json",
    )
    assert r.status_code == 201 and "credentials" not in r.json()
    connected = client.post(f"/api/v1/integrations/platforms/{r.json()['id']}/connect", {}, format="json")
    assert connected.status_code == 200, connected.content
    assert connected.json()["webhook_url"].endswith(r.json()["webhook_path"])
    assert [t for t, _url in fake_shopify.webhooks] == [
        "PRODUCTS_CREATE",
        "PRODUCTS_UPDATE",
        "PRODUCTS_DELETE",
        "ORDERS_CREATE",
        "ORDERS_UPDATED",
    ]

    salla = services.connection_upsert(
        merchant=merchant,
        platform="salla",
        credentials={"access_token": fake_salla.token, "webhook_secret": "salla-secret"},
        base_url=fake_salla.url,
    )
    services.connection_connect(connection=salla)
    assert {w["event"] for w in fake_salla.webhooks} >= {"product.deleted", "order.created"}
    assert all(w["security_strategy"] == "signature" and w["version"] == 2 for w in fake_salla.webhooks)

    zid = services.connection_upsert(
        merchant=merchant,
        platform="zid",
        credentials={"access_token": fake_zid.token, "webhook_username": "k", "webhook_password": "p"},
        base_url=fake_zid.url,
    )
    services.connection_connect(connection=zid)
    assert fake_zid.webhooks[0]["target_url"].endswith(f"/webhooks/platforms/zid/{zid.public_key}?event=product.create")
    assert (fake_zid.webhooks[0]["username"], fake_zid.webhooks[0]["password"]) == ("k", "p")

    bad = services.connection_upsert(
        merchant=MerchantFactory(), platform="shopify", credentials={"access_token": "nope"}, base_url=fake_shopify.url
    )
    with pytest.raises(services.IntegrationError):
        services.connection_connect(connection=bad)
