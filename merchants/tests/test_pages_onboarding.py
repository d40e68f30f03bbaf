import pytest
from django.test import Client

from kaleem.tenancy.middleware import SESSION_KEY
from merchants.models import Membership, Merchant
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db

PROFILE = {
    "name": "Abaya House",
    "default_language": "en",
    "currency": "SAR",
    "timezone": "Asia/Riyadh",
    "description": "Abayas and scarves",
    "support_email": "help@abaya.example",
}


def test_signup_creates_owner_store_and_starts_onboarding():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/signup/")
    assert page.status_code == 200
    response = client.post(
        "/signup/",
        {"store_name": "Abaya House", "email": "Owner@Abaya.example", "password": "long-pass-123", "language": "en"},
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/onboarding/"
    merchant = Merchant.objects.get(name="Abaya House")
    assert Membership.objects.get(merchant=merchant).role == "owner"
    assert merchant.onboarding_step == "profile"
    assert client.session[SESSION_KEY] == str(merchant.pk)
    assert client.get("/dashboard/onboarding/")["Location"] == "/dashboard/onboarding/profile/"


def test_signup_errors_are_inline():
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    r = client.post("/signup/", {"store_name": "", "email": "bad", "password": "short", "language": "en"})
    assert r.status_code == 400
    html = r.content.decode()
    assert "This field is required." in html and "Enter a valid email address." in html
    assert "at least 8 characters" in html
    client.post(
        "/signup/", {"store_name": "A", "email": "a@example.com", "password": "long-pass-123", "language": "ar"}
    )
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    dup = other.post(
        "/signup/", {"store_name": "B", "email": "A@example.com", "password": "long-pass-123", "language": "en"}
    )
    assert dup.status_code == 400 and b"already exists" in dup.content
    common = other.post(
        "/signup/", {"store_name": "B", "email": "b@example.com", "password": "password123", "language": "en"}
    )
    assert common.status_code == 400 and b"too common" in common.content
    assert Merchant.objects.count() == 1


def test_wizard_walks_all_steps_and_resumes():
    client, merchant, _user = page_client("owner")
    Merchant.objects.filter(pk=merchant.pk).update(onboarding_step="profile")
    html = client.get("/dashboard/onboarding/profile/").content.decode()
    assert "Step 1 of 5" in html
    bad = client.post("/dashboard/onboarding/profile/", {**PROFILE, "support_email": "x"})
    assert bad.status_code == 400
    assert client.post("/dashboard/onboarding/profile/", PROFILE)["Location"] == "/dashboard/onboarding/knowledge/"
    merchant.refresh_from_db()
    assert merchant.onboarding_step == "knowledge" and merchant.name == "Abaya House"
    # resuming later lands on the step reached
    assert client.get("/dashboard/onboarding/")["Location"] == "/dashboard/onboarding/knowledge/"
    knowledge = client.get("/dashboard/onboarding/knowledge/").content.decode()
    assert "Shipping policy" in knowledge  # English starter template for an English store
    r = client.post("/dashboard/onboarding/knowledge/", {"use_shipping": "on", "body_shipping": ""})
    assert r.status_code == 400 and b"Write the text or untick this item." in r.content
    r = client.post("/dashboard/onboarding/knowledge/", {"use_shipping": "on", "body_shipping": "Free shipping."})
    assert r["Location"] == "/dashboard/onboarding/channel/"
    assert client.get("/dashboard/onboarding/channel/").status_code == 200
    bad_token = client.post("/dashboard/onboarding/channel/", {"kind": "telegram", "bot_token": "nope"})
    assert bad_token.status_code == 400 and b"BotFather" in bad_token.content
    assert (
        client.post("/dashboard/onboarding/channel/", {"action": "skip"})["Location"] == "/dashboard/onboarding/test/"
    )
    empty = client.post("/dashboard/onboarding/test/", {"action": "ask", "text": "  "})
    assert empty.status_code == 400 and b"Type a question first." in empty.content
    assert client.post("/dashboard/onboarding/test/", {"action": "skip"})["Location"] == "/dashboard/onboarding/done/"
    merchant.refresh_from_db()
    assert merchant.onboarding_step == "done"
    assert client.post("/dashboard/onboarding/done/")["Location"] == "/dashboard/"
    assert b"Continue setup" not in client.get("/dashboard/").content


def test_arabic_store_gets_arabic_templates():
    client, merchant, _user = page_client("owner", language="ar")
    Merchant.objects.filter(pk=merchant.pk).update(default_language="ar", onboarding_step="knowledge")
    assert "سياسة الشحن" in client.get("/dashboard/onboarding/knowledge/").content.decode()


def test_unknown_step_is_404_and_agents_cannot_onboard():
    client, _merchant, _user = page_client("owner")
    assert client.get("/dashboard/onboarding/nope/").status_code == 404
    agent, _m, _u = page_client("agent")
    assert agent.get("/dashboard/onboarding/").status_code == 403
    assert agent.post("/dashboard/onboarding/profile/", PROFILE).status_code == 403


def test_revisiting_an_earlier_step_keeps_progress():
    client, merchant, _user = page_client("owner")
    Merchant.objects.filter(pk=merchant.pk).update(onboarding_step="test")
    assert client.post("/dashboard/onboarding/profile/", PROFILE)["Location"] == "/dashboard/onboarding/knowledge/"
    merchant.refresh_from_db()
    assert merchant.onboarding_step == "test"


def test_knowledge_step_saves_policies_and_faqs_once():
    from merchants.knowledge.selectors import faq_list, policy_list

    client, merchant, _user = page_client("owner")
    Merchant.objects.filter(pk=merchant.pk).update(default_language="en", onboarding_step="knowledge")
    form = {
        "use_shipping": "on",
        "body_shipping": "Free shipping over 200 SAR.",
        "use_faq_hours": "on",
        "body_faq_hours": "9 to 9.",
    }
    assert client.post("/dashboard/onboarding/knowledge/", form).status_code == 302
    assert (
        client.post(
            "/dashboard/onboarding/knowledge/", {**form, "body_shipping": "Free shipping over 300 SAR."}
        ).status_code
        == 302
    )
    policies = list(policy_list(merchant=merchant))
    assert [(p.kind, p.body) for p in policies] == [("shipping", "Free shipping over 300 SAR.")]
    assert [f.question for f in faq_list(merchant=merchant)] == ["What are your opening hours?"]
    too_long = client.post("/dashboard/onboarding/knowledge/", {"use_returns": "on", "body_returns": "x" * 5001})
    assert too_long.status_code == 400


def test_channel_step_creates_webchat_snippet_and_meta_callback():
    client, merchant, _user = page_client("admin")
    Merchant.objects.filter(pk=merchant.pk).update(onboarding_step="channel")
    assert client.post("/dashboard/onboarding/channel/", {"kind": "webchat"}).status_code == 302
    assert client.post("/dashboard/onboarding/channel/", {"kind": "webchat"}).status_code == 302  # no duplicate
    html = client.get("/dashboard/onboarding/channel/").content.decode()
    assert "webchat/widget.js" in html and 'data-copy-target="webchat-snippet"' in html
    missing = client.post("/dashboard/onboarding/channel/", {"kind": "whatsapp", "phone_number_id": "123"})
    assert missing.status_code == 400 and b"Fill in every field." in missing.content
    r = client.post(
        "/dashboard/onboarding/channel/",
        {"kind": "whatsapp", "phone_number_id": "1234567", "access_token": "EAAG-token", "app_secret": "s3cret"},
    )
    assert r.status_code == 302
    from channels.models import Channel

    channels = {c.kind: c for c in Channel.objects.for_merchant(merchant)}
    assert set(channels) == {"webchat", "whatsapp"}
    html = client.get("/dashboard/onboarding/channel/").content.decode()
    assert f"/webhooks/whatsapp/{channels['whatsapp'].public_key}" in html
    assert channels["whatsapp"].credential("verify_token") in html
    assert "EAAG-token" not in html and "s3cret" not in html  # secrets never echoed back
