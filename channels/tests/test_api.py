"""Channel API: CRUD, roles, secrets never returned, connect, dead letters, templates, cross-tenant 404."""

import pytest
from django.core.management import call_command
from django.db.models import TextField
from django.db.models.functions import Cast

from channels.models import Channel, DeadLetter, WhatsAppTemplate
from channels.tests.conftest import make_channel
from channels.tests.tenant_endpoints import _dead_letter
from kaleem.testing.api import member_client

pytestmark = pytest.mark.django_db


def _create(client, fake, **over):
    body = {
        "kind": "whatsapp",
        "name": "واتساب المتجر",
        "credentials": {
            "access_token": "EAAG-secret",
            "phone_number_id": "106540352242922",
            "app_secret": "s3",
            "waba_id": "102290129340398",
        },
        "provider_base_url": fake.url,
        **over,
    }
    return client.post("/api/v1/channels", body, format="json")


def test_admin_creates_channel_secrets_never_returned(owner, fake):
    client, merchant, _ = owner
    response = _create(client, fake)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert "EAAG-secret" not in response.content.decode()
    assert data["credentials_set"] == ["access_token", "app_secret", "phone_number_id", "verify_token", "waba_id"]
    assert data["webhook_path"] == f"/webhooks/whatsapp/{data['public_key']}"
    channel = Channel.objects.get(id=data["id"])
    assert channel.merchant_id == merchant.id
    assert channel.credential("access_token") == "EAAG-secret"
    # the column as stored (a plain-text cast skips the field's decryption)
    stored = Channel.objects.filter(id=channel.id).annotate(raw=Cast("credentials_encrypted", TextField())).get().raw
    assert stored.startswith("enc:") and "EAAG-secret" not in stored


def test_missing_credentials_and_unknown_kind_rejected(owner, fake):
    client, _, _ = owner
    bad = _create(client, fake, credentials={"access_token": "x"})
    assert bad.status_code == 400 and "credentials" in bad.json()["error"]["fields"]
    assert _create(client, fake, kind="sms").status_code == 400
    assert _create(client, fake, credentials={"access_token": "x", "password": "y"}).status_code == 400


def test_roles_agent_reads_admin_manages(fake):
    agent, merchant, _ = member_client("agent")
    channel = make_channel("telegram", fake, merchant=merchant)
    assert agent.get("/api/v1/channels").status_code == 200
    assert agent.get(f"/api/v1/channels/{channel.id}").status_code == 200
    assert _create(agent, fake).status_code == 403
    assert agent.patch(f"/api/v1/channels/{channel.id}", {"name": "x"}, format="json").status_code == 403
    assert agent.post(f"/api/v1/channels/{channel.id}/connect").status_code == 403
    viewer, _, _ = member_client("viewer", merchant=merchant)
    assert viewer.get("/api/v1/channels").status_code == 403
    admin, _, _ = member_client("admin", merchant=merchant)
    assert (
        admin.patch(f"/api/v1/channels/{channel.id}", {"name": "بوت", "status": "disabled"}, format="json").json()[
            "status"
        ]
        == "disabled"
    )


def test_list_is_tenant_scoped(owner, other_owner, fake):
    client, merchant, _ = owner
    make_channel("telegram", fake, merchant=merchant)
    make_channel("telegram", fake, merchant=other_owner[1])
    results = client.get("/api/v1/channels").json()["results"]
    assert len(results) == 1


def test_cross_tenant_channel_is_404(owner, other_owner, fake):
    client, _, _ = owner
    theirs = make_channel("whatsapp", fake, merchant=other_owner[1])
    for method, url in [
        ("get", f"/api/v1/channels/{theirs.id}"),
        ("patch", f"/api/v1/channels/{theirs.id}"),
        ("delete", f"/api/v1/channels/{theirs.id}"),
        ("post", f"/api/v1/channels/{theirs.id}/connect"),
        ("get", f"/api/v1/channels/{theirs.id}/dead-letters"),
        ("post", f"/api/v1/channels/{theirs.id}/templates/sync"),
        ("post", f"/api/v1/dead-letters/{_dead_letter(other_owner[1])}/replay"),
    ]:
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
    assert Channel.objects.filter(id=theirs.id).exists()


def test_connect_telegram_sets_webhook_with_secret(owner, fake):
    client, merchant, _ = owner
    response = client.post(
        "/api/v1/channels",
        {"kind": "telegram", "name": "بوت", "credentials": {"bot_token": "123:ABC"}, "provider_base_url": fake.url},
        format="json",
    )
    channel = Channel.objects.get(id=response.json()["id"])
    connected = client.post(f"/api/v1/channels/{channel.id}/connect")
    assert connected.status_code == 200, connected.json()
    [call] = fake.webhooks_set
    assert call["url"].endswith(f"/webhooks/telegram/{channel.public_key}")
    assert call["secret_token"] == channel.credential("webhook_secret") and len(call["secret_token"]) >= 32
    channel.refresh_from_db()
    assert channel.status == Channel.Status.ACTIVE


def test_connect_telegram_bad_token_is_clear_error(owner, fake):
    client, merchant, _ = owner
    fake.valid_tokens = {"good"}
    try:
        channel = make_channel("telegram", fake, merchant=merchant, bot_token="bad")
        response = client.post(f"/api/v1/channels/{channel.id}/connect")
    finally:
        fake.valid_tokens = None
    assert response.status_code == 502
    assert "Unauthorized" in response.json()["error"]["message"]


def test_connect_meta_shows_callback_and_verify_token(owner, fake):
    client, merchant, _ = owner
    channel = make_channel("messenger", fake, merchant=merchant)
    data = client.post(f"/api/v1/channels/{channel.id}/connect").json()
    assert data["callback_url"].endswith(f"/webhooks/messenger/{channel.public_key}")
    assert data["verify_token"] == "verify-me"


def test_dead_letters_list_replay_and_conflict(owner, fake, django_capture_on_commit_callbacks):
    client, merchant, _ = owner
    from conversations.services import Reply, record_inbound, reply_send

    channel = make_channel("telegram", fake, merchant=merchant)
    conversation = record_inbound(merchant=merchant, channel=channel, external_id="5", text="hi").conversation
    fake.fail_next(403, body={"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})
    with django_capture_on_commit_callbacks(execute=True):
        reply_send(conversation=conversation, reply=Reply(text="رد"))
    listing = client.get(f"/api/v1/channels/{channel.id}/dead-letters").json()["results"]
    assert len(listing) == 1 and "blocked" in listing[0]["error"]
    agent, _, _ = member_client("agent", merchant=merchant)
    assert agent.post(f"/api/v1/dead-letters/{listing[0]['id']}/replay").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        replay = client.post(f"/api/v1/dead-letters/{listing[0]['id']}/replay")
    assert replay.status_code == 200 and replay.json()["state"] == "replayed"
    assert len(fake.sends_for("telegram")) == 1
    assert client.post(f"/api/v1/dead-letters/{listing[0]['id']}/replay").status_code == 409


def test_templates_sync_and_send(owner, fake):
    client, merchant, _ = owner
    channel = make_channel("whatsapp", fake, merchant=merchant)
    fake.templates = [
        {
            "name": "order_update",
            "language": "ar",
            "status": "APPROVED",
            "category": "UTILITY",
            "id": "t1",
            "components": [{"type": "BODY", "text": "طلبك {{1}} حالته {{2}}"}],
        },
        {
            "name": "promo",
            "language": "en",
            "status": "REJECTED",
            "category": "MARKETING",
            "id": "t2",
            "components": [{"type": "BODY", "text": "Hi"}],
        },
    ]
    assert client.post(f"/api/v1/channels/{channel.id}/templates/sync").json() == {"synced": 2}
    assert client.post(f"/api/v1/channels/{channel.id}/templates/sync").json() == {"synced": 2}  # idempotent
    templates = client.get(f"/api/v1/channels/{channel.id}/templates").json()["results"]
    assert {t["name"]: t["parameter_count"] for t in templates} == {"order_update": 2, "promo": 0}
    order = WhatsAppTemplate.objects.get(channel=channel, name="order_update")
    url = f"/api/v1/channels/{channel.id}/templates/send"
    wrong = client.post(url, {"template_id": str(order.id), "to": "966551234567", "parameters": ["1"]}, format="json")
    assert wrong.status_code == 400
    promo = WhatsAppTemplate.objects.get(channel=channel, name="promo")
    assert client.post(url, {"template_id": str(promo.id), "to": "966551234567"}, format="json").status_code == 400
    agent, _, _ = member_client("agent", merchant=merchant)
    sent = agent.post(
        url,
        {"template_id": str(order.id), "to": "+966 55 123 4567", "parameters": ["#1001", "تم الشحن"]},
        format="json",
    )
    assert sent.status_code == 200, sent.json()
    [send] = fake.sends_for("whatsapp")
    assert send.body["type"] == "template" and send.body["to"] == "966551234567"
    assert send.body["template"]["components"][0]["parameters"][1]["text"] == "تم الشحن"


def test_rotate_channel_keys_reencrypts(settings, fake):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    channel = make_channel("telegram", fake, bot_token="123:ROTATE")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    call_command("rotate_channel_keys")
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key is gone: still readable
    assert Channel.objects.get(id=channel.id).credential("bot_token") == "123:ROTATE"


def test_dead_letter_admin_replay_action(admin_client, fake):
    channel = make_channel("telegram", fake)
    dead = DeadLetter.objects.create(merchant=channel.merchant, channel=channel, error="x")
    response = admin_client.get("/admin/channels/deadletter/")
    assert response.status_code == 200 and str(dead.id)[:8] in response.content.decode()


def test_provider_base_url_to_internal_network_refused(owner, fake, settings):
    settings.SSRF_ALLOW_PRIVATE = False
    client, _, _ = owner
    for url in ("http://127.0.0.1:6379", "http://169.254.169.254/latest", "http://10.0.0.5", "file:///etc/passwd"):
        response = _create(client, fake, provider_base_url=url)
        assert response.status_code == 400, url
    assert not Channel.objects.exists()


def test_demo_loader_is_idempotent_with_stable_key():
    from channels.demo import DEMO_WEBCHAT_PUBLIC_KEY, demo_load
    from kaleem.testing.factories import MerchantFactory

    merchant = MerchantFactory()
    first = demo_load(merchant=merchant)
    again = demo_load(merchant=merchant)
    assert first.id == again.id and first.public_key == DEMO_WEBCHAT_PUBLIC_KEY == "ch_demo_webchat"
    assert "http://127.0.0.1:8000" in again.settings["allowed_origins"]
    assert again.settings["greeting"]["ar"] and again.settings["greeting"]["en"]
    assert Channel.objects.filter(public_key=DEMO_WEBCHAT_PUBLIC_KEY).count() == 1
