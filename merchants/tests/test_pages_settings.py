import re

import pytest

from kaleem.testing.factories import MembershipFactory, MerchantFactory, UserFactory
from merchants.models import ApiToken, AuditLog, Membership, Merchant
from merchants.services import api_token_authenticate, api_token_create, audit
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db

SETTINGS_PAGES = [
    "/dashboard/settings/profile/",
    "/dashboard/settings/team/",
    "/dashboard/settings/tokens/",
    "/dashboard/settings/audit/",
    "/dashboard/onboarding/profile/",
]


@pytest.mark.parametrize("url", SETTINGS_PAGES)
@pytest.mark.parametrize("role,allowed", [("viewer", False), ("agent", False), ("admin", True), ("owner", True)])
def test_settings_pages_need_admin(url, role, allowed):
    client, _merchant, _user = page_client(role)
    assert client.get(url).status_code == (200 if allowed else 403)
    assert client.post(url, {}).status_code != 200 or allowed


@pytest.mark.parametrize("url", SETTINGS_PAGES)
def test_settings_pages_redirect_anonymous(url, client):
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_profile_form_validates_inline_in_users_language():
    client, merchant, _user = page_client("admin", language="en")
    data = {
        "name": "  ",
        "default_language": "xx",
        "currency": "SAR",
        "timezone": "Asia/Riyadh",
        "support_email": "nope",
    }
    response = client.post("/dashboard/settings/profile/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert "Select a valid choice." in html
    client.cookies["django_language"] = "ar"
    html = client.post("/dashboard/settings/profile/", data).content.decode()
    assert "عنوان بريد إلكتروني صحيح" in html  # Django's own Arabic message
    merchant.refresh_from_db()
    assert merchant.name.startswith("Store")


def test_profile_saved_and_audited():
    client, merchant, user = page_client("owner")
    data = {
        "name": "متجر الأناقة",
        "default_language": "ar",
        "currency": "AED",
        "timezone": "Asia/Dubai",
        "description": "عبايات",
        "website_url": "https://example.com",
        "support_email": "help@example.com",
        "support_phone": "+966 55 123 4567",
        "logo_url": "",
    }
    response = client.post("/dashboard/settings/profile/", data)
    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.name, merchant.currency, merchant.timezone) == ("متجر الأناقة", "AED", "Asia/Dubai")
    assert AuditLog.objects.filter(merchant=merchant, action="merchant.updated", actor=user).exists()


def test_team_invite_creates_member_with_single_use_link():
    client, merchant, _user = page_client("admin")
    response = client.post(
        "/dashboard/settings/team/", {"action": "invite", "email": "New@Example.com", "role": "agent"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    link = re.search(r'value="(http://testserver/invite/[^"]+)"', html).group(1)
    member = Membership.objects.get(merchant=merchant, user__email="new@example.com")
    assert member.role == "agent"
    path = link.replace("http://testserver", "")
    from django.test import Client

    invitee = Client()
    page = invitee.get(path, follow=True)
    assert page.status_code == 200
    set_url = page.redirect_chain[-1][0] if page.redirect_chain else path
    done = invitee.post(set_url, {"new_password1": "a-strong-pass-123", "new_password2": "a-strong-pass-123"})
    assert done.status_code == 302
    assert invitee.get("/dashboard/").status_code == 200
    # the link is spent
    assert "رابط الدعوة غير صالح" in Client().get(path, follow=True).content.decode()  # Arabic by default
    # duplicate invite shows an inline error
    again = client.post("/dashboard/settings/team/", {"action": "invite", "email": "new@example.com", "role": "agent"})
    assert again.status_code == 400
    assert b"already a member" in again.content


def test_team_invite_validation_and_owner_rules():
    client, merchant, _user = page_client("admin")
    bad = client.post("/dashboard/settings/team/", {"action": "invite", "email": "not-an-email", "role": "agent"})
    assert bad.status_code == 400 and b"Enter a valid email address." in bad.content
    # admins cannot hand out the owner role
    owner_invite = client.post(
        "/dashboard/settings/team/", {"action": "invite", "email": "x@example.com", "role": "owner"}
    )
    assert owner_invite.status_code == 400
    assert not Membership.objects.filter(merchant=merchant, user__email="x@example.com").exists()
    owner = Membership.objects.create(merchant=merchant, user=UserFactory(), role="owner")
    # nor change or remove an owner
    assert client.post(
        "/dashboard/settings/team/", {"action": "role", "membership": str(owner.pk), f"m{owner.pk}-role": "viewer"}
    ).status_code in (400, 403)
    assert (
        client.post("/dashboard/settings/team/", {"action": "remove", "membership": str(owner.pk)}).status_code == 403
    )
    owner.refresh_from_db()
    assert owner.role == "owner"


def test_owner_changes_roles_removes_members_but_keeps_last_owner():
    client, merchant, user = page_client("owner")
    agent = MembershipFactory(merchant=merchant, role="agent")
    r = client.post(
        "/dashboard/settings/team/", {"action": "role", "membership": str(agent.pk), f"m{agent.pk}-role": "admin"}
    )
    assert r.status_code == 302
    agent.refresh_from_db()
    assert agent.role == "admin"
    me = Membership.objects.get(merchant=merchant, user=user)
    r = client.post(
        "/dashboard/settings/team/",
        {"action": "role", "membership": str(me.pk), f"m{me.pk}-role": "viewer"},
        follow=True,
    )
    assert b"at least one owner" in r.content
    assert (
        client.post("/dashboard/settings/team/", {"action": "remove", "membership": str(agent.pk)}).status_code == 302
    )
    assert not Membership.objects.filter(pk=agent.pk).exists()


def test_team_actions_on_other_stores_members_are_404():
    client, _merchant, _user = page_client("owner")
    foreign = MembershipFactory(merchant=MerchantFactory(), role="agent")
    assert (
        client.post("/dashboard/settings/team/", {"action": "remove", "membership": str(foreign.pk)}).status_code == 404
    )
    assert client.post("/dashboard/settings/team/", {"action": "remove", "membership": "junk"}).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk).exists()


def test_team_list_query_count(django_assert_max_num_queries):
    client, merchant, _user = page_client("owner")
    for _ in range(25):
        MembershipFactory(merchant=merchant, role="agent")
    with django_assert_max_num_queries(12):
        response = client.get("/dashboard/settings/team/")
    assert response.status_code == 200
    assert response.content.decode().count('name="action" value="remove"') == 26


def test_api_token_is_shown_once_and_works_then_revoked():
    client, merchant, _user = page_client("admin")
    response = client.post("/dashboard/settings/tokens/", {"action": "create", "name": "n8n", "role": "agent"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = re.search(r'value="(kal_[^"]+)"', response.content.decode()).group(1)
    assert api_token_authenticate(key=key) is not None
    listing = client.get("/dashboard/settings/tokens/").content.decode()
    assert key not in listing and key[:12] in listing
    token = ApiToken.objects.get(merchant=merchant)
    assert client.post("/dashboard/settings/tokens/", {"action": "revoke", "token": str(token.pk)}).status_code == 302
    assert api_token_authenticate(key=key) is None


def test_api_token_form_errors_and_role_cap():
    client, merchant, _user = page_client("owner")
    r = client.post(
        "/dashboard/settings/tokens/", {"action": "create", "name": "", "role": "owner", "expires_in_days": "0"}
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert "This field is required." in html and "Select a valid choice." in html
    assert "greater than or equal to 1" in html
    assert not ApiToken.objects.filter(merchant=merchant).exists()


def test_api_token_revoke_of_other_store_is_404():
    client, _merchant, _user = page_client("owner")
    other = MerchantFactory()
    token, key = api_token_create(merchant=other, actor=None, name="x", role="agent")
    assert client.post("/dashboard/settings/tokens/", {"action": "revoke", "token": str(token.pk)}).status_code == 404
    assert api_token_authenticate(key=key) is not None


def test_agent_cannot_create_tokens():
    client, merchant, _user = page_client("agent")
    assert (
        client.post("/dashboard/settings/tokens/", {"action": "create", "name": "x", "role": "agent"}).status_code
        == 403
    )
    assert not ApiToken.objects.filter(merchant=merchant).exists()


def test_tokens_list_query_count(django_assert_max_num_queries):
    client, merchant, user = page_client("owner")
    for i in range(20):
        api_token_create(merchant=merchant, actor=user, name=f"t{i}", role="agent")
    with django_assert_max_num_queries(10):
        assert client.get("/dashboard/settings/tokens/").status_code == 200


def test_audit_log_is_scoped_filtered_and_paginated(django_assert_max_num_queries):
    client, merchant, user = page_client("admin")
    other = MerchantFactory()
    audit(merchant=other, actor=None, action="secret.other_store")
    for i in range(60):
        audit(merchant=merchant, actor=user, action="member.added" if i % 2 else "api_token.created", target=merchant)
    with django_assert_max_num_queries(10):
        html = client.get("/dashboard/settings/audit/").content.decode()
    assert "secret.other_store" not in html
    assert html.count("<tr>") == 51  # header + 50 rows
    html = client.get("/dashboard/settings/audit/?action=api_token").content.decode()
    assert "member.added" not in html and "api_token.created" in html
    assert client.get("/dashboard/settings/audit/?page=999").status_code == 200
    assert client.get("/dashboard/settings/audit/?action=" + "x" * 500).status_code == 200


def test_profile_only_changes_current_store():
    client, merchant, _user = page_client("owner")
    other = Merchant.objects.create(name="Other", slug="other-x")
    client.post(
        "/dashboard/settings/profile/",
        {"name": "Renamed", "default_language": "en", "currency": "SAR", "timezone": "UTC"},
    )
    other.refresh_from_db()
    merchant.refresh_from_db()
    assert other.name == "Other" and merchant.name == "Renamed"


def test_profile_shows_monthly_ai_usage(settings):
    from django.utils import timezone

    from conversations.models import LlmUsage

    settings.LLM_MONTHLY_TOKEN_BUDGET = 200_000
    client, merchant, _user = page_client("admin")
    LlmUsage.objects.create(
        merchant=merchant, month=timezone.now().strftime("%Y-%m"), prompt_tokens=40_000, completion_tokens=10_000
    )
    html = client.get("/dashboard/settings/profile/").content.decode()
    assert "Tokens used this month: 50,000 of 200,000." in html
    assert 'value="25"' in html
