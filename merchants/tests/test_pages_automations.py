import re
import uuid

import pytest
from django.utils import timezone

from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.services import subscription_create
from kaleem.testing.factories import MerchantFactory
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db
URL = "/dashboard/settings/automations/"


@pytest.mark.parametrize("role,status", [("viewer", 403), ("agent", 403), ("admin", 200), ("owner", 200)])
def test_roles(role, status):
    client, _merchant, _user = page_client(role)
    assert client.get(URL).status_code == status
    assert client.post(
        URL, {"action": "create", "url": "https://hooks.example.com/x", "events": ["order.created"]}
    ).status_code in ((403,) if status == 403 else (200,))


def test_create_shows_secret_once_and_validates(settings):
    client, merchant, _user = page_client("admin")
    bad = client.post(URL, {"action": "create", "url": "not a url", "events": []})
    assert bad.status_code == 400 and b"Enter a valid URL." in bad.content and b"This field is required." in bad.content
    settings.SSRF_ALLOW_PRIVATE = False
    private = client.post(
        URL, {"action": "create", "url": "http://127.0.0.1:5678/webhook", "events": ["order.created"]}
    )
    assert private.status_code == 400 and b"public http(s) address" in private.content
    settings.SSRF_ALLOW_PRIVATE = True
    ok = client.post(
        URL,
        {
            "action": "create",
            "url": "http://127.0.0.1:5678/webhook/kaleem",
            "events": ["order.created", "handoff.requested"],
            "description": "n8n",
        },
    )
    assert ok.status_code == 200 and ok["Cache-Control"] == "no-store"
    sub = WebhookSubscription.objects.get(merchant=merchant)
    assert sub.events == ["handoff.requested", "order.created"]
    assert re.search(r'value="' + sub.secret + '"', ok.content.decode())
    assert sub.secret not in client.get(URL).content.decode()


def test_pause_resume_delete_and_replay_scoped():
    client, merchant, _user = page_client("admin")
    sub = subscription_create(merchant=merchant, url="https://hooks.example.com/a", events=["order.created"])
    client.post(URL, {"action": "pause", "subscription": str(sub.pk)})
    sub.refresh_from_db()
    assert sub.active is False
    client.post(URL, {"action": "resume", "subscription": str(sub.pk)})
    sub.refresh_from_db()
    assert sub.active is True
    dead = WebhookDelivery.objects.create(
        merchant=merchant,
        subscription=sub,
        event_id=uuid.uuid4(),
        event_type="order.created",
        event_created_at=timezone.now(),
        state="dead",
        attempts=9,
        next_attempt_at=timezone.now(),
        last_error="HTTP 500",
    )
    html = client.get(URL).content.decode()
    assert "HTTP 500" in html and 'value="replay"' in html
    client.post(URL, {"action": "replay", "delivery": str(dead.pk)})
    dead.refresh_from_db()
    assert dead.state == "pending" and dead.attempts == 0
    other = subscription_create(merchant=MerchantFactory(), url="https://hooks.example.com/b", events=["order.created"])
    assert client.post(URL, {"action": "delete", "subscription": str(other.pk)}).status_code == 404
    assert client.post(URL, {"action": "delete", "subscription": "junk"}).status_code == 404
    assert WebhookSubscription.objects.filter(pk=other.pk).exists()
    client.post(URL, {"action": "delete", "subscription": str(sub.pk)})
    assert not WebhookSubscription.objects.filter(pk=sub.pk).exists()
