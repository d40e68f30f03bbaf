"""Settings → Store platforms: connect (against a local fake Shopify / Zid speaking their protocol),
status, webhook address, initial import progress, sync now / reconcile, disconnect; admin only."""

import pytest
from django.db.models import TextField
from django.db.models.functions import Cast

from integrations.models import PlatformConnection, PlatformWebhookEvent, SyncJob
from integrations.tests.fakes import FakeShopify, FakeZid
from kaleem.testing.factories import MerchantFactory
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db
URL = "/dashboard/settings/platforms/"


@pytest.fixture
def shopify():
    server = FakeShopify(count=7)
    yield server
    server.close()


def _shopify_form(fake, **overrides):
    data = {
        "action": "connect",
        "platform": "shopify",
        "shopify-shop_domain": "demo-store.myshopify.com",
        "shopify-access_token": fake.token,
        "shopify-webhook_secret": "shpss_secret",
        "shopify-checkout_url": "",
        "shopify-base_url": fake.url,
    }
    data.update(overrides)
    return data


def test_admin_connects_shopify_and_the_initial_import_runs(shopify, django_capture_on_commit_callbacks):
    client, merchant, _user = page_client("admin")
    page = client.get(URL).content.decode()
    assert "Shopify" in page and "Salla" in page and "Zid" in page and 'name="shopify-access_token"' in page
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(URL, _shopify_form(shopify))
    assert r.status_code == 302
    connection = PlatformConnection.objects.get(merchant=merchant, platform="shopify")
    assert connection.status == "active" and connection.last_synced_at is not None
    raw = PlatformConnection.objects.filter(pk=connection.pk).annotate(raw=Cast("credentials", TextField())).get().raw
    assert raw and shopify.token not in raw and "shpss_secret" not in raw  # stored encrypted
    assert {topic for topic, _url in shopify.webhooks} >= {"PRODUCTS_CREATE", "ORDERS_CREATE"}
    job = SyncJob.objects.get(connection=connection)
    assert job.kind == "full" and job.state == "done" and job.processed == 7
    html = client.get(URL).content.decode()
    assert f"/webhooks/platforms/shopify/{connection.public_key}" in html
    assert "Initial import" in html and "7 products processed" in html and "Connected" in html
    assert shopify.token not in html and "shpss_secret" not in html  # secrets never go back to the browser


def test_refused_credentials_show_the_error_on_the_page(shopify, django_capture_on_commit_callbacks):
    client, merchant, _user = page_client("owner")
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(URL, _shopify_form(shopify, **{"shopify-access_token": "wrong"}), follow=True)
    html = r.content.decode()
    assert "refused the connection" in html
    connection = PlatformConnection.objects.get(merchant=merchant)
    assert connection.status == "error" and connection.last_error
    assert not SyncJob.objects.filter(connection=connection).exists()
    assert "Error" in html and connection.last_error[:30] in html
    # fix the token without retyping the webhook secret: blank credential fields keep the saved ones
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, _shopify_form(shopify, **{"shopify-webhook_secret": ""}))
    connection.refresh_from_db()
    assert connection.status == "active" and '"webhook_secret": "shpss_secret"' in connection.credentials


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"shopify-shop_domain": "evil.example.com"}, "shopify-shop_domain"),
        ({"shopify-access_token": ""}, "shopify-access_token"),
        ({"shopify-webhook_secret": ""}, "shopify-webhook_secret"),
        ({"shopify-checkout_url": "not a url"}, "shopify-checkout_url"),
    ],
)
def test_invalid_connect_form_shows_inline_errors(shopify, overrides, field):
    client, merchant, _user = page_client("admin")
    r = client.post(URL, _shopify_form(shopify, **overrides))
    assert r.status_code == 400
    assert f'id="id_{field}_error"' in r.content.decode()
    assert not PlatformConnection.objects.filter(merchant=merchant).exists()
    assert shopify.requests == []


def test_unknown_platform_or_action_is_a_bad_request(shopify):
    client, merchant, _user = page_client("admin")
    assert client.post(URL, _shopify_form(shopify, platform="magento")).status_code == 400
    assert client.post(URL, {"action": "explode"}).status_code == 400
    assert not PlatformConnection.objects.filter(merchant=merchant).exists()


def test_private_api_address_is_refused(shopify, settings):
    settings.SSRF_ALLOW_PRIVATE = False
    client, merchant, _user = page_client("admin")
    r = client.post(URL, _shopify_form(shopify, **{"shopify-base_url": "http://169.254.169.254/"}))
    assert r.status_code == 400
    html = r.content.decode()
    assert 'id="id_shopify-base_url_error"' in html and "must be a public http(s) address" in html
    assert not PlatformConnection.objects.filter(merchant=merchant).exists()


def test_zid_gets_generated_webhook_basic_auth_to_paste(django_capture_on_commit_callbacks):
    fake = FakeZid(count=3)
    try:
        client, merchant, _user = page_client("admin")
        data = {
            "action": "connect",
            "platform": "zid",
            "zid-authorization": "Bearer partner",
            "zid-access_token": fake.token,
            "zid-external_store_id": "12345",
            "zid-base_url": fake.url + "/v1",
        }
        bad = client.post(URL, {**data, "zid-external_store_id": "abc"})
        assert bad.status_code == 400 and "The store ID is a number." in bad.content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(URL, data).status_code == 302
        connection = PlatformConnection.objects.get(merchant=merchant, platform="zid")
        import json

        stored = json.loads(connection.credentials)
        assert stored["store_id"] == "12345" and stored["webhook_password"]
        html = client.get(URL).content.decode()
        assert stored["webhook_username"] in html and stored["webhook_password"] in html
    finally:
        fake.close()


def test_sync_now_reconcile_once_and_disconnect(shopify, django_capture_on_commit_callbacks):
    client, merchant, _user = page_client("admin")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, _shopify_form(shopify))
    connection = PlatformConnection.objects.get(merchant=merchant)
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not picked it up yet
        client.post(URL, {"action": "reconcile", "connection": str(connection.pk)})
        r = client.post(URL, {"action": "sync", "connection": str(connection.pk)}, follow=True)
    assert "A sync is already running." in r.content.decode()
    assert SyncJob.objects.filter(connection=connection, kind="reconcile", state="pending").count() == 1
    assert SyncJob.objects.filter(connection=connection).count() == 2
    html = client.get(URL).content.decode()
    assert 'hx-trigger="every 3s"' in html and "Waiting to start" in html  # progress polls while running
    r = client.post(URL, {"action": "disconnect", "connection": str(connection.pk)})
    assert r.status_code == 302
    assert not PlatformConnection.objects.filter(merchant=merchant).exists()


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_viewer_and_agent_cannot_see_or_change_connections(shopify, role):
    client, merchant, _user = page_client(role)
    assert client.get(URL).status_code == 403
    assert client.post(URL, _shopify_form(shopify)).status_code == 403
    assert not PlatformConnection.objects.filter(merchant=merchant).exists()
    assert "/dashboard/settings/platforms/" not in client.get("/dashboard/").content.decode()


def test_another_stores_connection_is_404(shopify):
    from integrations.services import connection_upsert

    client, _merchant, _user = page_client("owner")
    other = MerchantFactory()
    foreign = connection_upsert(merchant=other, platform="salla", credentials={"access_token": "t"})
    for action in ("sync", "reconcile", "disconnect"):
        assert client.post(URL, {"action": action, "connection": str(foreign.pk)}).status_code == 404
    assert client.post(URL, {"action": "sync", "connection": "not-a-uuid"}).status_code == 404
    assert PlatformConnection.objects.filter(pk=foreign.pk).exists()
    assert not SyncJob.objects.exists()
    assert foreign.public_key not in client.get(URL).content.decode()


def test_platforms_page_query_count(shopify, django_assert_max_num_queries):
    from integrations.services import connection_upsert

    client, merchant, _user = page_client("admin")
    for platform in ("shopify", "salla", "zid"):
        connection = connection_upsert(merchant=merchant, platform=platform, credentials={"access_token": "t"})
        for i in range(5):
            SyncJob.objects.create(merchant=merchant, connection=connection, state="done", processed=i)
            PlatformWebhookEvent.objects.create(
                merchant=merchant, connection=connection, dedupe_key=f"k{i}", topic="products/update"
            )
    with django_assert_max_num_queries(12):
        html = client.get(URL).content.decode()
    assert html.count("Last webhook received") == 3


def test_errors_are_in_arabic_for_an_arabic_admin(shopify):
    from merchants.models import Merchant
    from merchants.tests.test_pages_i18n import untranslated

    client, merchant, _user = page_client("admin", language="ar")
    Merchant.objects.filter(pk=merchant.pk).update(name="متجر الأناقة")
    html = client.post(URL, _shopify_form(shopify, **{"shopify-access_token": ""})).content.decode()
    assert "هذا الحقل مطلوب" in html
    assert untranslated(html) == []
