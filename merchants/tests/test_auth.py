"""Registration, login, refresh rotation and reuse detection, logout, /me, and forged JWTs."""

import base64
import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from kaleem.testing.api import member_client
from kaleem.testing.factories import MembershipFactory, MerchantFactory, UserFactory
from kaleem.testing.services import redis_url_or_skip
from merchants.models import Membership, RevokedTokenFamily

pytestmark = pytest.mark.django_db
PASSWORD = "s3cure-pass!x"


def _register(email="owner@example.com", store="متجر الأناقة", language="ar"):
    return APIClient().post(
        "/api/v1/auth/register",
        {"email": email, "password": PASSWORD, "store_name": store, "language": language},
        format="json",
    )


def _login(email="owner@example.com", password=PASSWORD, **extra):
    return APIClient().post("/api/v1/auth/token", {"email": email, "password": password, **extra}, format="json")


def _bearer(access):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_register_creates_owner_store_and_returns_pair_with_merchant_claim():
    r = _register(email="Owner@Example.COM", language="en")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["merchant"]["name"] == "متجر الأناقة"
    assert body["merchant"]["default_language"] == "en"
    assert body["user"]["email"] == "owner@example.com"
    access = AccessToken(body["access"])
    assert access["merchant"] == body["merchant"]["id"]
    assert RefreshToken(body["refresh"])["merchant"] == body["merchant"]["id"]
    me = _bearer(body["access"]).get("/api/v1/auth/me").json()
    assert me["role"] == "owner"
    assert me["current_merchant"]["slug"] == body["merchant"]["slug"]
    assert Membership.objects.get(user__email="owner@example.com").role == "owner"


def test_register_rejects_duplicate_email_and_weak_password():
    assert _register().status_code == 201
    dup = _register(email="OWNER@example.com")
    assert dup.status_code == 400
    assert dup.json()["error"]["code"] == "email_taken"
    weak = APIClient().post(
        "/api/v1/auth/register",
        {"email": "new@example.com", "password": "password", "store_name": "X"},
        format="json",
    )
    assert weak.status_code == 400
    assert "password" in weak.json()["error"]["fields"]
    missing = APIClient().post("/api/v1/auth/register", {"email": "not-an-email"}, format="json")
    assert missing.status_code == 400
    assert {"email", "password", "store_name"} <= set(missing.json()["error"]["fields"])


def test_login_wrong_password_is_401_without_hint():
    _register()
    r = _login(password="wrong-password")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_credentials"
    assert _login(email="nobody@example.com").json()["error"]["code"] == "invalid_credentials"


def test_login_with_optional_merchant_selects_that_store():
    user = UserFactory(email="multi@example.com")
    first, second = MerchantFactory(), MerchantFactory()
    MembershipFactory(user=user, merchant=first, role="owner")
    MembershipFactory(user=user, merchant=second, role="viewer")
    default = _login(email="multi@example.com", password="pass-12345678").json()
    assert AccessToken(default["access"])["merchant"] == str(first.pk)
    chosen = _login(email="multi@example.com", password="pass-12345678", merchant=second.slug)
    assert chosen.status_code == 200
    access = chosen.json()["access"]
    assert AccessToken(access)["merchant"] == str(second.pk)
    me = _bearer(access).get("/api/v1/auth/me").json()
    assert me["current_merchant"]["id"] == str(second.pk)
    assert me["role"] == "viewer"
    assert len(me["memberships"]) == 2
    stranger_store = MerchantFactory()
    r = _login(email="multi@example.com", password="pass-12345678", merchant=stranger_store.slug)
    assert r.status_code == 404


def test_refresh_rotates_and_keeps_merchant():
    pair = _register().json()
    r = APIClient().post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert r.status_code == 200
    new = r.json()
    assert new["refresh"] != pair["refresh"]
    assert AccessToken(new["access"])["merchant"] == AccessToken(pair["access"])["merchant"]
    assert _bearer(new["access"]).get("/api/v1/merchants/current").status_code == 200


def test_reused_refresh_token_is_401_and_revokes_the_family():
    pair = _register().json()
    rotated = APIClient().post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json").json()
    reused = APIClient().post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "token_reused"
    family = RefreshToken(pair["refresh"])["fam"]
    assert RevokedTokenFamily.objects.filter(family=family, reason="refresh_reuse").exists()
    # every token of the family is dead: the legitimately rotated refresh and both access tokens
    later = APIClient().post("/api/v1/auth/token/refresh", {"refresh": rotated["refresh"]}, format="json")
    assert later.status_code == 401
    assert later.json()["error"]["code"] == "token_revoked"
    assert _bearer(rotated["access"]).get("/api/v1/auth/me").status_code == 401
    assert _bearer(pair["access"]).get("/api/v1/auth/me").status_code == 401
    # a fresh login (new family) works
    assert _bearer(_login().json()["access"]).get("/api/v1/auth/me").status_code == 200


def test_revocation_holds_even_when_cache_is_lost(settings):
    """Without a shared cache the database row is the truth: a process that never saw the local cache
    mark still refuses the token. (With Redis the marks live in Redis, as docs/api.md says.)"""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    pair = _register().json()
    APIClient().post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    APIClient().post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    cache.clear()
    assert _bearer(pair["access"]).get("/api/v1/auth/me").status_code == 401


def test_logout_blacklists_access_token_and_revokes_its_refresh():
    pair = _register().json()
    other_session = _login().json()
    client = _bearer(pair["access"])
    assert client.post("/api/v1/auth/logout", {"refresh": pair["refresh"]}, format="json").status_code == 204
    after = client.get("/api/v1/auth/me")
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "token_revoked"
    r = APIClient().post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert r.status_code == 401
    # another login of the same user is a different family and keeps working
    assert _bearer(other_session["access"]).get("/api/v1/auth/me").status_code == 200


def test_logout_blacklist_lives_in_real_redis(settings):
    url = redis_url_or_skip()
    import redis

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "kaleem-test",
        }
    }
    pair = _register().json()
    client = _bearer(pair["access"])
    assert client.get("/api/v1/auth/me").status_code == 200
    assert client.post("/api/v1/auth/logout", {}, format="json").status_code == 204
    jti = AccessToken(pair["access"])["jti"]
    raw = redis.Redis.from_url(url)
    key = f"kaleem-test:1:jwt:blacklist:{jti}"
    assert raw.exists(key)
    assert 0 < raw.ttl(key) <= 15 * 60  # kept only as long as the token could live
    # the jti alone is enough: drop the family revocation and the token is still refused
    RevokedTokenFamily.objects.all().delete()
    raw.delete(f"kaleem-test:1:jwt:family-revoked:{AccessToken(pair['access'])['fam']}")
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_revoked"
    raw.delete(key)


def _forge(token: str, *, header=None, payload_update=None, signature=None) -> str:
    head, payload, sig = token.split(".")

    def dec(part):
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    def enc(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    h, p = dec(head), dec(payload)
    if header:
        h.update(header)
    if payload_update:
        p.update(payload_update)
    return ".".join([enc(h), enc(p), sig if signature is None else signature])


@pytest.mark.parametrize("case", ["expired", "tampered", "alg_none", "wrong_key", "refresh_as_access", "garbage"])
def test_forged_or_expired_jwt_is_401(case):
    client, merchant, user = member_client("owner")
    good = client.tokens["access"]
    if case == "expired":
        token = AccessToken.for_user(user)
        token.set_exp(lifetime=-timedelta(seconds=1))
        raw = str(token)
    elif case == "tampered":
        other = UserFactory()
        raw = _forge(good, payload_update={"user_id": str(other.pk)})
    elif case == "alg_none":
        raw = _forge(good, header={"alg": "none"}, signature="")
    elif case == "wrong_key":
        import jwt

        raw = jwt.encode({**AccessToken(good).payload}, "not-our-key-but-long-enough-for-hs256-xx", algorithm="HS256")
    elif case == "refresh_as_access":
        raw = client.tokens["refresh"]
    else:
        raw = "not.a.jwt"
    r = _bearer(raw).get("/api/v1/merchants/current")
    assert r.status_code == 401, (case, r.content)
    assert r.json()["error"]["code"] in {"token_not_valid", "authentication_failed", "not_authenticated"}
    assert r["WWW-Authenticate"].startswith("Bearer")
    assert merchant.name not in r.content.decode()


def test_me_without_token_is_401_envelope():
    r = APIClient().get("/api/v1/auth/me", HTTP_X_REQUEST_ID="trace-me-1", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 401
    assert r.json()["error"] == {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
        "request_id": "trace-me-1",
    }
    # Arabic is the default language of messages; codes stay stable
    ar = APIClient().get("/api/v1/auth/me").json()["error"]
    assert ar["code"] == "not_authenticated"
    assert ar["message"] != "Authentication credentials were not provided."


def test_deactivated_user_is_refused():
    client, _merchant, user = member_client("owner")
    user.is_active = False
    user.save()
    assert client.get("/api/v1/auth/me").status_code == 401
    refresh = APIClient().post("/api/v1/auth/token/refresh", {"refresh": client.tokens["refresh"]}, format="json")
    assert refresh.status_code == 401


def test_verified_token_memo_never_admits_forgeries_or_expired_tokens():
    """Access tokens are verified once per process and remembered; a forged variant of a remembered
    token and a remembered token past its expiry are still refused."""
    import time

    client, merchant, user = member_client("owner")
    good = client.tokens["access"]
    assert _bearer(good).get("/api/v1/merchants/current").status_code == 200
    other = UserFactory()
    forged = _forge(good, payload_update={"user_id": str(other.pk)})
    assert _bearer(forged).get("/api/v1/merchants/current").status_code == 401

    short = AccessToken(good)
    short.set_exp(lifetime=timedelta(seconds=1))
    raw = str(short)
    assert _bearer(raw).get("/api/v1/merchants/current").status_code == 200
    time.sleep(max(0.0, short["exp"] - time.time()) + 0.2)
    r = _bearer(raw).get("/api/v1/merchants/current")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_not_valid"
