import pytest
from django.test import Client

from kaleem.tenancy.middleware import SESSION_KEY
from kaleem.testing.factories import MembershipFactory, MerchantFactory, UserFactory
from merchants.models import Membership, Merchant
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db


def test_dashboard_requires_login():
    response = Client().get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/dashboard/")


def test_login_page_renders_and_logs_in_with_csrf():
    user = UserFactory(email="agent@example.com", username="agent@example.com")
    MembershipFactory(user=user, role="agent")
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    page = client.get("/login/")
    assert page.status_code == 200
    assert b"Log in to your store" in page.content
    token = page.cookies["csrftoken"].value
    bad = client.post(
        "/login/", {"username": "agent@example.com", "password": "wrong-password"}, HTTP_X_CSRFTOKEN=token
    )
    assert bad.status_code == 200
    assert b"did not match" in bad.content
    no_csrf = Client(enforce_csrf_checks=True).post(
        "/login/", {"username": "agent@example.com", "password": "pass-12345678"}
    )
    assert no_csrf.status_code == 403
    good = client.post(
        "/login/", {"username": "agent@example.com", "password": "pass-12345678"}, HTTP_X_CSRFTOKEN=token
    )
    assert good.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_logout_is_post_only_and_ends_the_session():
    client, _merchant, _user = page_client("viewer")
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_home_shows_store_and_role_for_every_role():
    for role in ("viewer", "agent", "admin", "owner"):
        client, merchant, _user = page_client(role)
        response = client.get("/dashboard/")
        assert response.status_code == 200
        assert merchant.name in response.content.decode()
        # settings links only for admins and owners
        assert ("/dashboard/settings/team/" in response.content.decode()) == (role in ("admin", "owner"))


def test_arabic_is_default_and_rtl():
    client, _merchant, _user = page_client("owner", language="ar")
    html = client.get("/dashboard/").content.decode()
    assert 'lang="ar" dir="rtl"' in html
    assert "الرئيسية" in html  # "Home"
    client.cookies["django_language"] = "en"
    html = client.get("/dashboard/").content.decode()
    assert 'lang="en" dir="ltr"' in html


def test_language_switch_sets_cookie_and_redirects_back():
    client, _merchant, _user = page_client("viewer", language="ar")
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/dashboard/"})
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    assert response.cookies["django_language"].value == "en"
    # an off-site next is ignored
    response = client.post("/i18n/setlang/", {"language": "ar", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_user_without_store_goes_to_no_store_page():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/no-store/"
    assert client.get("/dashboard/no-store/").status_code == 200


def test_merchant_switcher_only_to_own_stores():
    client, first, user = page_client("owner")
    second = MerchantFactory(name="Second Store")
    MembershipFactory(merchant=second, user=user, role="viewer")
    foreign = MerchantFactory(name="Foreign Store")
    html = client.get("/dashboard/").content.decode()
    assert "Second Store" in html and 'name="merchant"' in html
    response = client.post("/dashboard/switch/", {"merchant": str(second.pk), "next": "/dashboard/"})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(second.pk)
    html = client.get("/dashboard/").content.decode()
    assert "Welcome to Second Store" in html
    # a viewer in the second store has no settings
    assert client.get("/dashboard/settings/team/").status_code == 403
    assert client.post("/dashboard/switch/", {"merchant": str(foreign.pk)}).status_code == 404
    assert client.post("/dashboard/switch/", {"merchant": "not-a-uuid"}).status_code == 404
    assert client.session[SESSION_KEY] == str(second.pk)
    # open redirect refused
    response = client.post("/dashboard/switch/", {"merchant": str(first.pk), "next": "//evil.example/x"})
    assert response["Location"] == "/dashboard/"


def test_removed_member_falls_back_to_remaining_store():
    client, first, user = page_client("owner")
    second = MerchantFactory()
    MembershipFactory(merchant=second, user=user, role="agent")
    Membership.objects.filter(merchant=first, user=user).delete()
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert second.name in response.content.decode()


def test_suspended_store_is_not_served():
    client, merchant, _user = page_client("owner")
    Merchant.objects.filter(pk=merchant.pk).update(status=Merchant.Status.SUSPENDED)
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/dashboard/no-store/"


def test_static_assets_are_vendored():
    from django.contrib.staticfiles import finders

    assert finders.find("vendor/htmx.min.js")
    assert finders.find("dashboard/dashboard.css")
    client, _merchant, _user = page_client("viewer")
    html = client.get("/dashboard/").content.decode()
    assert "/static/vendor/htmx.min.js" in html
    assert "https://" not in html.split("<body")[0]  # no CDN in the head
