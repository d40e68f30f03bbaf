"""Public webchat API: sessions, sending, history, identity and every bad-input case."""

import uuid

import pytest
from django.core import signing

from channels.tests.webchat_helpers import ALLOWED, Visitor, api, webchat_channel
from channels.webchat.tokens import identity_hmac
from conversations.models import Conversation, Message
from conversations.services import agent_reply_send, conversation_note_add
from kaleem.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel():
    return webchat_channel()


def test_config_exposes_public_settings_only(channel):
    channel.credentials = {"identity_secret": "s3cret"}
    channel.save()
    r = Visitor(channel).client.get(api(channel, "config"))
    assert r.status_code == 200
    body = r.json()
    assert body["greeting"] == {"ar": "أهلاً!", "en": "Hi!"}
    assert body["colours"]["primary"] == "#123456"
    assert "s3cret" not in r.content.decode()
    assert r["Access-Control-Allow-Origin"] == ALLOWED


def test_unknown_or_disabled_channel_is_404(channel):
    v = Visitor(channel)
    assert v.client.get("/api/webchat/v1/ch_nope/config").status_code == 404
    channel.status = "disabled"
    channel.save()
    r = v.client.get(api(channel, "config"))
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_start_send_and_resume_keeps_history(channel):
    v = Visitor(channel)
    r = v.start()
    assert r.status_code == 200 and r.json()["conversation"] is None and r.json()["messages"] == []
    r = v.send("مرحبا، عندكم فساتين؟")
    assert r.status_code == 201, r.content
    msg = r.json()["message"]
    assert msg["direction"] == "in" and msg["text"] == "مرحبا، عندكم فساتين؟"
    # A reload: the same token resumes the same conversation with its history.
    r = v.start()
    body = r.json()
    assert body["conversation"]["id"] == r.json()["conversation"]["id"]
    assert [m["id"] for m in body["messages"]][0] == msg["id"]
    conv = Conversation.objects.get(id=body["conversation"]["id"])
    assert conv.channel_id == channel.id and conv.external_id.startswith("v:")


def test_duplicate_client_id_returns_the_same_message(channel):
    v = Visitor(channel)
    v.start()
    cid = uuid.uuid4().hex
    first = v.send("hello there", client_id=cid)
    again = v.send("hello there", client_id=cid)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["message"]["id"] == again.json()["message"]["id"]
    assert again.json()["created"] is False
    assert Message.objects.filter(direction="in", text="hello there").count() == 1


def test_client_ids_are_scoped_per_visitor(channel):
    a, b = Visitor(channel), Visitor(channel, ip="10.0.0.2")
    a.start(), b.start()
    cid = uuid.uuid4().hex
    ra = a.send("secret of A", client_id=cid)
    rb = b.send("message of B", client_id=cid)
    assert rb.status_code == 201
    assert rb.json()["message"]["id"] != ra.json()["message"]["id"]
    assert "secret of A" not in rb.content.decode()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"client_id": "abcdefgh1", "text": ""}, 400, "invalid"),
        ({"client_id": "abcdefgh2", "text": "   \n "}, 400, "invalid"),
        ({"client_id": "abcdefgh3", "text": "x" * 4001}, 400, "message_too_long"),
        ({"client_id": "bad id!", "text": "hi"}, 400, "invalid"),
        ({"text": "hi"}, 400, "invalid"),
        ({"client_id": "abcdefgh4", "text": ["not", "text"]}, 400, "invalid"),
    ],
)
def test_bad_messages_are_refused(channel, body, status, code):
    v = Visitor(channel)
    v.start()
    r = v.client.post(api(channel, "messages"), body, content_type="application/json", **v.headers())
    assert r.status_code == status, r.content
    assert r.json()["error"]["code"] == code
    assert not Message.objects.filter(channel=channel).exists()


def test_oversized_body_is_413(channel):
    v = Visitor(channel)
    v.start()
    body = '{"client_id": "abcdefgh", "text": "' + "x" * 40_000 + '"}'
    r = v.client.post(api(channel, "messages"), body, content_type="application/json", **v.headers())
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_malformed_json_is_400(channel):
    v = Visitor(channel)
    v.start()
    r = v.client.post(api(channel, "messages"), "{nope", content_type="application/json", **v.headers())
    assert r.status_code == 400
    assert "error" in r.json()


@pytest.mark.parametrize("token", ["", "garbage", "eyJ2IjoiYWJjIn0:1abc:forged"])
def test_missing_or_forged_visitor_token_is_401(channel, token):
    v = Visitor(channel)
    v.token = token
    r = v.send("hi")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_visitor_token"
    if token:
        assert v.start().status_code == 401


def test_token_signed_for_another_purpose_is_401(channel):
    v = Visitor(channel)
    v.token = signing.dumps({"v": "attacker"})  # right key, wrong salt
    assert v.send("hi").status_code == 401


def test_other_channels_visitor_token_is_rejected(channel):
    other = webchat_channel()
    theirs = Visitor(other)
    theirs.start()
    theirs.send("private words")
    mine = Visitor(channel)
    mine.token = theirs.token
    assert mine.send("hi").status_code == 401
    r = mine.history()
    assert r.status_code == 401
    assert "private words" not in r.content.decode()


def test_non_allowed_origin_cannot_start_a_conversation(channel):
    evil = Visitor(channel, origin="https://evil.example.net")
    r = evil.start()
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in r
    # Nor use a token obtained elsewhere.
    good = Visitor(channel)
    good.start()
    evil.token = good.token
    assert evil.send("hi").status_code == 403
    assert evil.client.get(api(channel, "config")).status_code == 403


def test_preflight_answers_only_allowed_origins(channel):
    v = Visitor(channel)
    r = v.client.options(api(channel, "messages"), HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert r.status_code == 204
    assert r["Access-Control-Allow-Origin"] == ALLOWED
    assert "X-Kaleem-Visitor" in r["Access-Control-Allow-Headers"]
    evil = Visitor(channel, origin="http://shop.example.com.evil.io")
    r = evil.client.options(api(channel, "messages"), HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert r.status_code == 403
    assert "Access-Control-Allow-Origin" not in r


def test_origin_matching_is_exact_but_normalised(channel):
    assert Visitor(channel, origin="HTTPS://Shop.Example.com:443").start().status_code == 200
    assert Visitor(channel, origin="http://shop.example.com").start().status_code == 403
    assert Visitor(channel, origin="null").start().status_code == 403


def test_history_cursor_pages_back_without_gaps(channel):
    v = Visitor(channel)
    v.start()
    for i in range(7):
        assert v.send(f"message {i}").status_code == 201
    seen = []
    r = v.history(limit=3)
    while True:
        body = r.json()
        seen = [m["text"] for m in body["messages"] if m["direction"] == "in"] + seen
        if not body["has_more"]:
            break
        r = v.history(limit=3, before=body["before"])
    assert seen == [f"message {i}" for i in range(7)]


def test_after_cursor_is_the_polling_fallback(channel):
    v = Visitor(channel)
    v.start()
    first = v.send("one").json()["message"]
    v.send("two")
    r = v.history(after=first["cursor"])
    texts = [m["text"] for m in r.json()["messages"] if m["direction"] == "in"]
    assert texts == ["two"]
    assert v.history(after="not-a-cursor").status_code == 400


def test_private_notes_never_reach_the_visitor(channel):
    v = Visitor(channel)
    v.start()
    conv_id = v.send("hello").json()["conversation"]["id"]
    agent = UserFactory()
    conversation_note_add(merchant=channel.merchant, actor=agent, conversation_id=conv_id, text="VIP-NOTE, be nice")
    agent_reply_send(merchant=channel.merchant, actor=agent, conversation_id=conv_id, text="Hello from the team")
    body = v.history().content.decode()
    assert "Hello from the team" in body
    assert "VIP-NOTE" not in body  # a hyphenated marker cannot occur by chance in ids or cursors


def test_identify_with_valid_hmac_links_a_known_customer(channel):
    v = Visitor(channel)
    v.start()
    sig = identity_hmac(channel=channel, user_id="cust-42")
    r = v.client.post(
        api(channel, "identify"),
        {"id": "cust-42", "name": "Sara", "email": "sara@example.com", "hmac": sig},
        content_type="application/json",
        **v.headers(),
    )
    assert r.status_code == 200, r.content
    v.token = r.json()["visitor_token"]
    v.send("I am Sara")
    conv = Conversation.objects.get(channel=channel, external_id="u:cust-42")
    assert conv.contact.name == "Sara"
    # Another device that proves the same identity sees the same conversation.
    other = Visitor(channel, ip="10.0.0.9")
    other.start()
    r = other.client.post(
        api(channel, "identify"), {"id": "cust-42", "hmac": sig}, content_type="application/json", **other.headers()
    )
    other.token = r.json()["visitor_token"]
    assert [m["text"] for m in other.start().json()["messages"]][:1] == ["I am Sara"]


@pytest.mark.parametrize("sig", ["", "0" * 64, "deadbeef"])
def test_identify_with_bad_hmac_is_refused(channel, sig):
    v = Visitor(channel)
    v.start()
    r = v.client.post(
        api(channel, "identify"), {"id": "cust-42", "hmac": sig or "x"}, content_type="application/json", **v.headers()
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "identity_not_verified"


def test_identity_hmac_of_another_channel_does_not_verify(channel):
    other = webchat_channel(merchant=channel.merchant)
    v = Visitor(channel)
    v.start()
    sig = identity_hmac(channel=other, user_id="cust-1")
    r = v.client.post(
        api(channel, "identify"), {"id": "cust-1", "hmac": sig}, content_type="application/json", **v.headers()
    )
    assert r.status_code == 403


def test_rate_limit_per_visitor(channel, settings):
    settings.WEBCHAT_RATE_LIMITS = {"send": (0.01, 3.0)}
    v = Visitor(channel, ip="10.1.1.1")
    v.start()
    codes = [v.send(f"m{i}").status_code for i in range(5)]
    assert codes[:3] == [201, 201, 201]
    assert codes[3] == 429
    r = v.send("again")
    assert r.json()["error"]["code"] == "throttled"
    assert int(r["Retry-After"]) >= 1
    # Another visitor is unaffected.
    w = Visitor(channel, ip="10.1.1.2")
    w.start()
    assert w.send("hi").status_code == 201


def test_rate_limit_per_ip(channel, settings):
    settings.WEBCHAT_RATE_LIMITS = {"ip": (0.01, 4.0)}
    ip = f"10.2.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    v = Visitor(channel, ip=ip)
    codes = [v.client.get(api(channel, "config")).status_code for _ in range(6)]
    assert codes[:4] == [200] * 4 and codes[4:] == [429, 429]
    assert Visitor(channel, ip="10.3.0.1").client.get(api(channel, "config")).status_code == 200


def test_button_payload_is_what_the_assistant_reads_and_the_label_what_the_visitor_sees(channel):
    v = Visitor(channel)
    v.start()
    pid = str(uuid.uuid4())
    r = v.send("Add to cart: Black abaya", payload=f"cart:add:{pid}")
    assert r.status_code == 201
    assert r.json()["message"]["text"] == "Add to cart: Black abaya"
    stored = Message.objects.get(id=r.json()["message"]["id"])
    assert stored.text == f"cart:add:{pid}"
    assert stored.elements == [
        {"type": "quick_reply", "title": "Add to cart: Black abaya", "payload": f"cart:add:{pid}"}
    ]
    history = v.history().json()["messages"]
    assert history[0]["text"] == "Add to cart: Black abaya"
