import uuid

import pytest
from django.utils import timezone

from channels.models import Channel, DeadLetter, WebhookEvent
from kaleem.testing.factories import MerchantFactory
from merchants.models import AuditLog
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db


def _channel(merchant, kind="webchat", **kw):
    return Channel.objects.create(
        merchant=merchant, kind=kind, name=kw.pop("name", kind.title()), status="active", **kw
    )


def _dead(channel, state="open"):
    return DeadLetter.objects.create(
        merchant_id=channel.merchant_id,
        channel=channel,
        message_id=uuid.uuid4(),
        error="HTTP 500 from provider",
        status_code=500,
        attempts=5,
        state=state,
    )


@pytest.mark.parametrize("role,status", [("viewer", 403), ("agent", 403), ("admin", 200), ("owner", 200)])
def test_channel_settings_roles(role, status):
    client, merchant, _user = page_client(role)
    assert client.get("/dashboard/settings/channels/").status_code == status


def test_health_shows_last_webhook_error_and_dead_letters(django_assert_max_num_queries):
    client, merchant, _user = page_client("admin")
    tg = _channel(merchant, "telegram", last_error="Unauthorized: bot token revoked")
    web = _channel(merchant, "webchat")
    WebhookEvent.objects.create(
        merchant=merchant, channel=tg, kind="telegram", provider_event_id="1", received_at=timezone.now()
    )
    for _ in range(3):
        _dead(tg)
    _dead(tg, state="replayed")
    with django_assert_max_num_queries(12):
        html = client.get("/dashboard/settings/channels/").content.decode()
    assert "bot token revoked" in html
    assert html.count('name="action" value="replay"') == 3
    assert f'data-channel="{web.pk}"' in html and "Widget appearance" in html


def test_replay_and_discard_dead_letters_once():
    client, merchant, user = page_client("admin")
    tg = _channel(merchant, "telegram")
    d1, d2 = _dead(tg), _dead(tg)
    assert (
        client.post("/dashboard/settings/channels/", {"action": "replay", "dead_letter": str(d1.pk)}).status_code == 302
    )
    d1.refresh_from_db()
    assert d1.state == "replayed"
    again = client.post("/dashboard/settings/channels/", {"action": "replay", "dead_letter": str(d1.pk)}, follow=True)
    assert b"already handled" in again.content
    client.post("/dashboard/settings/channels/", {"action": "discard", "dead_letter": str(d2.pk)})
    d2.refresh_from_db()
    assert d2.state == "discarded"
    assert AuditLog.objects.filter(merchant=merchant, action="dead_letter.replayed", actor=user).exists()


def test_other_stores_channels_and_dead_letters_are_404():
    client, merchant, _user = page_client("owner")
    other = MerchantFactory()
    foreign = _channel(other, "telegram")
    dead = _dead(foreign)
    assert (
        client.post("/dashboard/settings/channels/", {"action": "replay", "dead_letter": str(dead.pk)}).status_code
        == 404
    )
    assert (
        client.post("/dashboard/settings/channels/", {"action": "disable", "channel": str(foreign.pk)}).status_code
        == 404
    )
    assert client.post("/dashboard/settings/channels/", {"action": "disable", "channel": "junk"}).status_code == 404
    dead.refresh_from_db()
    foreign.refresh_from_db()
    assert dead.state == "open" and foreign.status == "active"


def test_disable_and_enable_channel():
    client, merchant, _user = page_client("admin")
    tg = _channel(merchant, "telegram")
    client.post("/dashboard/settings/channels/", {"action": "disable", "channel": str(tg.pk)})
    tg.refresh_from_db()
    assert tg.status == "disabled"
    client.post("/dashboard/settings/channels/", {"action": "enable", "channel": str(tg.pk)})
    tg.refresh_from_db()
    assert tg.status == "active"


def test_widget_appearance_validated_and_saved():
    client, merchant, _user = page_client("admin")
    web = _channel(merchant, "webchat", settings={"allowed_origins": ["https://old.example"], "keep": 1})
    p = f"w{web.pk}"
    bad = client.post(
        "/dashboard/settings/channels/",
        {
            "action": "appearance",
            "channel": str(web.pk),
            f"{p}-primary": "red",
            f"{p}-on_primary": "#ffffff",
            f"{p}-bubble": "#eeeeee",
            f"{p}-allowed_origins": "javascript:alert(1)",
        },
    )
    assert bad.status_code == 400
    assert b"Use a colour like #0f766e." in bad.content and b"is not a website address" in bad.content
    ok = client.post(
        "/dashboard/settings/channels/",
        {
            "action": "appearance",
            "channel": str(web.pk),
            f"{p}-title": "متجر الأناقة",
            f"{p}-greeting": "أهلاً! كيف أساعدك؟",
            f"{p}-primary": "#0B6E4F",
            f"{p}-on_primary": "#ffffff",
            f"{p}-bubble": "#eeeeee",
            f"{p}-allowed_origins": "https://shop.example.com/\nhttp://localhost:8000",
        },
    )
    assert ok.status_code == 302
    web.refresh_from_db()
    assert web.settings["colours"]["primary"] == "#0b6e4f"
    assert web.settings["allowed_origins"] == ["https://shop.example.com", "http://localhost:8000"]
    assert web.settings["greeting"] == "أهلاً! كيف أساعدك؟" and web.settings["keep"] == 1
    from channels.webchat.services import webchat_config

    assert webchat_config(channel=web)["colours"]["primary"] == "#0b6e4f"  # what the widget receives
