"""Server-to-server API tokens: shown once, hashed at rest, scoped to one store and a role, revocable."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from kaleem.testing.api import member_client
from kaleem.testing.factories import MerchantFactory
from merchants.models import ApiToken, AuditLog

pytestmark = pytest.mark.django_db


def _token_client(key, **headers):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}", **headers)
    return client


def _create(owner, **body):
    r = owner.post("/api/v1/tokens", {"name": "erp sync", **body}, format="json")
    assert r.status_code == 201, r.content
    return r.json()


def test_key_is_shown_once_and_only_its_hash_is_stored():
    owner, merchant, _ = member_client("owner")
    created = _create(owner, role="viewer")
    key = created["key"]
    assert key.startswith("kal_") and len(key) > 40
    row = ApiToken.objects.get(id=created["id"])
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    stored_values = [str(v) for v in ApiToken.objects.filter(id=row.id).values().first().values()]
    assert all(key not in v for v in stored_values)
    assert created["prefix"] == key[:12]
    # later reads never show the key again
    listed = owner.get("/api/v1/tokens").json()["results"]
    assert listed[0]["id"] == created["id"] and "key" not in listed[0]
    assert "key" not in owner.get(f"/api/v1/tokens/{created['id']}").json()
    assert key not in str(AuditLog.objects.filter(merchant=merchant).values_list("data", flat=True))


def test_token_acts_for_its_store_with_its_role():
    owner, merchant, owner_user = member_client("owner")
    viewer_key = _create(owner, role="viewer")["key"]
    admin_key = _create(owner, role="admin")["key"]
    r = _token_client(viewer_key).get("/api/v1/merchants/current")
    assert r.status_code == 200
    assert r.json()["id"] == str(merchant.pk)
    denied = _token_client(viewer_key).patch("/api/v1/merchants/current", {"name": "hacked"}, format="json")
    assert denied.status_code == 403
    ok = _token_client(admin_key).patch("/api/v1/merchants/current", {"description": "via api"}, format="json")
    assert ok.status_code == 200
    entry = AuditLog.objects.filter(merchant=merchant, action="merchant.updated").latest("created_at")
    assert entry.actor == owner_user  # attributed to the member who created the token
    assert entry.data["api_token"] == admin_key[:12]


def test_token_cannot_reach_another_store():
    owner, _merchant, _ = member_client("owner")
    key = _create(owner, role="admin")["key"]
    other = MerchantFactory()
    r = _token_client(key, HTTP_X_MERCHANT=other.slug).get("/api/v1/merchants/current")
    assert r.status_code == 404
    assert other.name not in r.content.decode()


def test_owner_role_tokens_cannot_be_created():
    owner, _merchant, _ = member_client("owner")
    r = owner.post("/api/v1/tokens", {"name": "root", "role": "owner"}, format="json")
    assert r.status_code == 400
    assert "role" in r.json()["error"]["fields"]


@pytest.mark.parametrize("case", ["revoked", "expired", "unknown", "malformed", "store_suspended"])
def test_unusable_token_is_401(case):
    owner, merchant, _ = member_client("owner")
    created = _create(owner)
    key = created["key"]
    if case == "revoked":
        assert owner.delete(f"/api/v1/tokens/{created['id']}").status_code == 204
        assert owner.get(f"/api/v1/tokens/{created['id']}").json()["revoked_at"]
    elif case == "expired":
        ApiToken.objects.filter(id=created["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "unknown":
        key = key[:-4] + "AAAA"
    elif case == "malformed":
        key = key + " extra"
    else:
        merchant.status = "suspended"
        merchant.save()
    r = _token_client(key).get("/api/v1/merchants/current")
    assert r.status_code == 401, r.content
    assert r.json()["error"]["code"] in {"authentication_failed", "not_authenticated"}


def test_token_use_is_recorded_without_a_write_per_request():
    owner, _merchant, _ = member_client("owner")
    created = _create(owner)
    client = _token_client(created["key"])
    client.get("/api/v1/merchants/current")
    first = ApiToken.objects.get(id=created["id"]).last_used_at
    assert first is not None
    client.get("/api/v1/merchants/current")
    assert ApiToken.objects.get(id=created["id"]).last_used_at == first  # throttled to once a minute
