"""Inbound webhooks: verification per provider, storage, dedupe, processing into conversations."""

import json

import pytest
from django.core.files.storage import default_storage
from prometheus_client import REGISTRY

from channels.models import Channel, WebhookEvent
from channels.tests.conftest import (
    TG_SECRET,
    ig_image,
    make_channel,
    meta_raw,
    meta_sign,
    ms_echo,
    ms_postback,
    ms_text,
    post_meta,
    post_telegram,
    tg_button,
    tg_photo,
    tg_text,
    wa_button,
    wa_envelope,
    wa_image,
    wa_status,
    wa_text,
)
from conversations.models import Message

pytestmark = pytest.mark.django_db


def _metric(kind: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("kaleem_webhooks_total", {"kind": kind, "outcome": outcome}) or 0.0


def _inbound(channel: Channel):
    return Message.objects.filter(channel=channel, direction=Message.Direction.INBOUND)


# ---------------------------------------------------------------- Telegram


def test_telegram_valid_secret_processed_once_with_arabic(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("telegram", fake)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_telegram(client, channel, tg_text())
    assert response.status_code == 200
    event = WebhookEvent.objects.get(channel=channel)
    assert event.provider_event_id == "583920114"
    assert event.state == WebhookEvent.State.DONE
    assert json.loads(event.raw_body)["message"]["text"] == "هل المنتج متوفر؟"
    message = _inbound(channel).get()
    assert message.text == "هل المنتج متوفر؟"
    assert message.conversation.external_id == "730055112"
    assert message.conversation.language == "ar"


@pytest.mark.parametrize("secret", [None, "wrong-token", TG_SECRET + "x", ""])
def test_telegram_missing_or_wrong_secret_rejected_and_counted(client, fake, secret):
    channel = make_channel("telegram", fake)
    before = _metric("telegram", "rejected")
    response = post_telegram(client, channel, tg_text(), secret=secret)
    assert response.status_code == 403
    assert _metric("telegram", "rejected") == before + 1
    assert not WebhookEvent.objects.exists()
    assert not _inbound(channel).exists()


def test_telegram_duplicate_delivery_acknowledged_and_processed_once(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("telegram", fake)
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            assert post_telegram(client, channel, tg_text()).status_code == 200
    assert WebhookEvent.objects.filter(channel=channel).count() == 1
    assert _inbound(channel).count() == 1


def test_telegram_button_press_becomes_quick_reply_and_is_answered(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("telegram", fake)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_telegram(client, channel, tg_button()).status_code == 200
    message = _inbound(channel).get()
    assert message.elements == [{"type": "quick_reply", "title": "buy:SKU-1001", "payload": "buy:SKU-1001"}]
    assert fake.callback_answers == ["3135570001923845123"]  # the client's spinner stops


def test_telegram_photo_is_fetched_and_stored(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("telegram", fake)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_telegram(client, channel, tg_photo()).status_code == 200
    message = _inbound(channel).get()
    assert message.text == "هذا"
    [attachment] = message.attachments
    assert attachment["type"] == "image"
    assert default_storage.exists(attachment["path"])
    assert ("POST", "/bot123:ABC/getFile") in fake.calls  # the largest PhotoSize was asked for


# ---------------------------------------------------------------- WhatsApp


def test_whatsapp_signature_over_raw_escaped_arabic_body(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    payload = wa_text()
    raw = meta_raw(payload)
    assert b"\\u0627" in raw  # Meta escapes non-ASCII; the digest is over these exact bytes
    with django_capture_on_commit_callbacks(execute=True):
        response = post_meta(client, channel, payload, raw=raw, signature=meta_sign(raw))
    assert response.status_code == 200
    message = _inbound(channel).get()
    assert message.text == "السلام عليكم، كم سعر SKU-1001؟"
    assert message.conversation.contact.name == "أحمد"


def test_whatsapp_signature_of_reserialised_json_is_rejected(client, fake):
    """Signing the re-serialised (unescaped) JSON gives another digest: only raw-byte HMAC passes."""
    channel = make_channel("whatsapp", fake)
    payload = wa_text()
    raw = meta_raw(payload)
    reserialised = json.dumps(payload, ensure_ascii=False).encode()
    before = _metric("whatsapp", "rejected")
    response = post_meta(client, channel, payload, raw=raw, signature=meta_sign(reserialised))
    assert response.status_code == 401
    assert _metric("whatsapp", "rejected") == before + 1
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("signature", ["", "sha256=deadbeef", "sha1=abc", "sha256="])
def test_whatsapp_missing_or_forged_signature(client, fake, signature):
    channel = make_channel("whatsapp", fake)
    assert post_meta(client, channel, wa_text(), signature=signature).status_code == 401
    assert not WebhookEvent.objects.exists()


def test_whatsapp_signed_with_another_apps_secret_rejected(client, fake):
    channel = make_channel("whatsapp", fake)
    raw = meta_raw(wa_text())
    assert post_meta(client, channel, wa_text(), raw=raw, signature=meta_sign(raw, "other-secret")).status_code == 401


def test_whatsapp_verification_handshake(client, fake):
    channel = make_channel("whatsapp", fake)
    Channel.objects.filter(id=channel.id).update(status=Channel.Status.PENDING)
    url = f"/webhooks/whatsapp/{channel.public_key}"
    ok = client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.content == b"1158201444"
    channel.refresh_from_db()
    assert channel.status == Channel.Status.ACTIVE
    bad = client.get(url, {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
    assert bad.status_code == 403 and b"1" not in bad.content.replace(b"Verification failed", b"")
    assert (
        client.get(url, {"hub.mode": "unsubscribe", "hub.verify_token": "verify-me", "hub.challenge": "2"}).status_code
        == 403
    )


def test_whatsapp_duplicate_message_and_status_dedupe(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    with django_capture_on_commit_callbacks(execute=True):
        post_meta(client, channel, wa_text())
        post_meta(client, channel, wa_text())
        post_meta(client, channel, wa_status("wamid.OUT1", "delivered"))
        post_meta(client, channel, wa_status("wamid.OUT1", "delivered"))
        post_meta(client, channel, wa_status("wamid.OUT1", "read"))
    assert _inbound(channel).count() == 1
    ids = sorted(WebhookEvent.objects.filter(channel=channel).values_list("provider_event_id", flat=True))
    assert ids == sorted(
        [wa_text()["entry"][0]["changes"][0]["value"]["messages"][0]["id"], "wamid.OUT1:delivered", "wamid.OUT1:read"]
    )


def test_whatsapp_batch_is_split_per_message_and_each_deduped(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    messages = [
        {
            "from": f"96655000000{i}",
            "id": f"wamid.BATCH{i}",
            "timestamp": str(1767225600 + i),
            "type": "text",
            "text": {"body": f"رسالة {i}"},
        }
        for i in range(5)
    ]
    batch = wa_envelope({"contacts": [], "messages": messages})
    with django_capture_on_commit_callbacks(execute=True):
        assert post_meta(client, channel, batch).status_code == 200
        # a re-delivery regrouped differently: two old ids and one new
        again = wa_envelope(
            {
                "contacts": [],
                "messages": [messages[1], messages[3], {**messages[0], "id": "wamid.BATCH9", "text": {"body": "جديد"}}],
            }
        )
        assert post_meta(client, channel, again).status_code == 200
    assert _inbound(channel).count() == 6
    raws = WebhookEvent.objects.filter(channel=channel).exclude(raw_body="")
    assert raws.count() == 2  # the raw body is kept once per delivery


def test_whatsapp_image_media_fetched_through_graph(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_meta(client, channel, wa_image()).status_code == 200
    message = _inbound(channel).get()
    assert message.text == "this one"
    assert message.attachments[0]["mime_type"] == "image/png"
    assert default_storage.exists(message.attachments[0]["path"])
    assert ("GET", "/2754859441498128") in fake.calls


def test_whatsapp_button_reply_payload(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("whatsapp", fake)
    with django_capture_on_commit_callbacks(execute=True):
        post_meta(client, channel, wa_button())
    message = _inbound(channel).get()
    assert message.text == "اطلب الآن"
    assert message.elements == [{"type": "quick_reply", "title": "اطلب الآن", "payload": "product:SKU-1001"}]


def test_malformed_signed_body_is_400_and_not_stored(client, fake):
    channel = make_channel("whatsapp", fake)
    raw = b'{"object": "whatsapp_business_account", "entry": ['
    response = client.post(
        f"/webhooks/whatsapp/{channel.public_key}",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=meta_sign(raw),
    )
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_unknown_public_key_or_kind_mismatch_is_404(client, fake):
    channel = make_channel("whatsapp", fake)
    raw = meta_raw(wa_text())
    assert (
        client.post(
            "/webhooks/whatsapp/ch_nope",
            data=raw,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=meta_sign(raw),
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/webhooks/messenger/{channel.public_key}",
            data=raw,
            content_type="application/json",
            HTTP_X_HUB_SIGNATURE_256=meta_sign(raw),
        ).status_code
        == 404
    )
    assert (
        client.post(f"/webhooks/bogus/{channel.public_key}", data=raw, content_type="application/json").status_code
        == 404
    )


def test_oversize_body_413(client, fake, settings):
    channel = make_channel("whatsapp", fake)
    raw = b"{" + b" " * (settings.WEBHOOK_MAX_BODY_BYTES + 10) + b"}"
    response = client.post(
        f"/webhooks/whatsapp/{channel.public_key}",
        data=raw,
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=meta_sign(raw),
    )
    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_status_update_marks_outbound_message_delivered(client, fake, django_capture_on_commit_callbacks):
    from conversations.services import Reply, record_inbound, reply_send

    channel = make_channel("whatsapp", fake)
    with django_capture_on_commit_callbacks(execute=True):
        result = record_inbound(
            merchant=channel.merchant,
            channel=channel,
            external_id="966551234567",
            text="hi",
            provider_message_id="wamid.IN-status",
        )
        reply = reply_send(conversation=result.conversation, reply=Reply(text="أهلاً"))
    reply.refresh_from_db()
    assert reply.delivery_status == "sent" and reply.provider_message_id.startswith("wamid.OUT")
    with django_capture_on_commit_callbacks(execute=True):
        post_meta(client, channel, wa_status(reply.provider_message_id, "read"))
    reply.refresh_from_db()
    assert reply.delivery_status == "read"


# ---------------------------------------------------------------- Messenger / Instagram


def test_messenger_text_postback_and_echo(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("messenger", fake)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_meta(client, channel, ms_text()).status_code == 200
        assert post_meta(client, channel, ms_text()).status_code == 200  # re-delivery
        assert post_meta(client, channel, ms_echo()).status_code == 200
        assert post_meta(client, channel, ms_postback()).status_code == 200
    texts = list(_inbound(channel).order_by("created_at").values_list("text", flat=True))
    assert texts == ["هل توصلون إلى جدة؟", "اطلب"]
    echo = WebhookEvent.objects.get(channel=channel, provider_event_id="m_ECHO1")
    assert echo.state == WebhookEvent.State.IGNORED


def test_instagram_image_dm(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("instagram", fake)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_meta(client, channel, ig_image(f"{fake.url}/media-download/ig1")).status_code == 200
    message = _inbound(channel).get()
    assert message.attachments[0]["type"] == "image"
    assert default_storage.exists(message.attachments[0]["path"])


def test_media_url_to_private_address_refused_when_ssrf_guard_on(
    client, fake, settings, django_capture_on_commit_callbacks
):
    channel = make_channel("instagram", fake)  # our fake lives on loopback: created while allowed
    settings.SSRF_ALLOW_PRIVATE = False
    with django_capture_on_commit_callbacks(execute=True):
        assert post_meta(client, channel, ig_image("http://169.254.169.254/latest/meta-data")).status_code == 200
    message = _inbound(channel).get()
    assert "path" not in message.attachments[0] and message.attachments[0]["error"]
    assert not any(path.startswith("/latest") for _, path in fake.calls)


def test_two_merchants_with_same_provider_ids_never_mix(client, fake, django_capture_on_commit_callbacks):
    a = make_channel("whatsapp", fake)
    b = make_channel("whatsapp", fake)
    with django_capture_on_commit_callbacks(execute=True):
        post_meta(client, a, wa_text(text="لمتجر أ"))
        post_meta(client, b, wa_text(text="لمتجر ب"))  # same wamid, same wa_id, other store
    assert [m.text for m in _inbound(a)] == ["لمتجر أ"]
    assert [m.text for m in _inbound(b)] == ["لمتجر ب"]
    assert _inbound(a).get().conversation_id != _inbound(b).get().conversation_id
    assert _inbound(a).get().merchant_id == a.merchant_id and _inbound(b).get().merchant_id == b.merchant_id


def test_events_processed_in_provider_order_per_sender(fake):
    """Deliveries that arrive out of order are processed in provider-timestamp order per sender."""
    from channels.providers import provider_for
    from channels.services import webhook_events_process, webhook_ingest

    channel = make_channel("whatsapp", fake)
    provider = provider_for("whatsapp")
    later = provider.split(wa_text(wamid="wamid.L", text="ثانياً", ts="1767225700"))
    earlier = provider.split(wa_text(wamid="wamid.E", text="أولاً", ts="1767225600"))
    ids = webhook_ingest(channel=channel, items=later, raw=b"{}", headers={}).created
    ids += webhook_ingest(channel=channel, items=earlier, raw=b"{}", headers={}).created
    webhook_events_process(event_ids=ids)
    assert list(_inbound(channel).order_by("created_at").values_list("text", flat=True)) == ["أولاً", "ثانياً"]


def test_disabled_channel_acknowledges_but_does_not_store(client, fake):
    channel = make_channel("whatsapp", fake)
    Channel.objects.filter(id=channel.id).update(status=Channel.Status.DISABLED)
    assert post_meta(client, channel, wa_text()).status_code == 200
    assert not WebhookEvent.objects.exists()


def test_messenger_quick_reply_and_delivery_receipt(client, fake, django_capture_on_commit_callbacks):
    from conversations.services import Reply, reply_send

    channel = make_channel("messenger", fake)
    quick = ms_text(mid="m_QR1", text="المقاس M")
    quick["entry"][0]["messaging"][0]["message"]["quick_reply"] = {"payload": "size:M"}
    with django_capture_on_commit_callbacks(execute=True):
        post_meta(client, channel, quick)
    message = _inbound(channel).get()
    assert message.elements == [{"type": "quick_reply", "title": "المقاس M", "payload": "size:M"}]
    with django_capture_on_commit_callbacks(execute=True):
        reply = reply_send(conversation=message.conversation, reply=Reply(text="تم"))
    reply.refresh_from_db()
    receipt = {"object": "page", "entry": [{"id": "112233445566778", "time": 1767225700000, "messaging": [
        {"sender": {"id": "6543210987654321"}, "recipient": {"id": "112233445566778"}, "timestamp": 1767225700000,
         "delivery": {"mids": [reply.provider_message_id], "watermark": 1767225700000}}]}]}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        assert post_meta(client, channel, receipt).status_code == 200
    reply.refresh_from_db()
    assert reply.delivery_status == "delivered"


def test_instagram_text_and_echo(client, fake, django_capture_on_commit_callbacks):
    channel = make_channel("instagram", fake)
    text = ms_text(mid="ig_mid_1", text="كم السعر؟", sender="998877665544332")
    text["object"] = "instagram"
    echo = ms_echo(mid="ig_echo_1")
    echo["object"] = "instagram"
    with django_capture_on_commit_callbacks(execute=True):
        assert post_meta(client, channel, text).status_code == 200
        assert post_meta(client, channel, echo).status_code == 200
        assert post_meta(client, channel, text).status_code == 200
    assert [m.text for m in _inbound(channel)] == ["كم السعر؟"]
    assert WebhookEvent.objects.get(channel=channel, provider_event_id="ig_echo_1").state == WebhookEvent.State.IGNORED


def test_sweep_enqueues_events_whose_task_was_lost(fake):
    """An acknowledged event whose enqueue never happened (process died) is picked up by the sweep."""
    from channels.providers import provider_for
    from channels.services import webhook_events_sweep, webhook_ingest

    channel = make_channel("whatsapp", fake)
    webhook_ingest(channel=channel, items=provider_for("whatsapp").split(wa_text()), raw=b"{}", headers={})
    # inside the test transaction the after-commit enqueue never runs: the event is only in the DB
    assert WebhookEvent.objects.get(channel=channel).state == WebhookEvent.State.PENDING
    assert webhook_events_sweep(pending_after=0) == 1
    assert WebhookEvent.objects.get(channel=channel).state == WebhookEvent.State.DONE
    assert _inbound(channel).count() == 1
    assert webhook_events_sweep(pending_after=0) == 0
