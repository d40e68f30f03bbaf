import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_register_login_me_refresh_logout_cycle():
    client = APIClient()
    r = client.post(
        "/api/v1/auth/register",
        {"email": "Owner@Example.com", "password": "s3cure-pass!x", "store_name": "متجر الأناقة", "language": "ar"},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["merchant"]["default_language"] == "ar"
    r = client.post("/api/v1/auth/token", {"email": "owner@example.com", "password": "s3cure-pass!x"}, format="json")
    assert r.status_code == 200
    pair = r.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["current_merchant"]["name"] == "متجر الأناقة"
    assert me.json()["role"] == "owner"
    refreshed = APIClient().post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 200
    reused = APIClient().post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "token_reused"
    # the rotated token belonged to the same family, which reuse revoked
    again = APIClient().post("/api/v1/auth/token/refresh", {"refresh": refreshed.json()["refresh"]}, format="json")
    assert again.status_code == 401
    # access tokens of the revoked family stop working too
    assert client.get("/api/v1/auth/me").status_code == 401
    fresh = (
        APIClient()
        .post("/api/v1/auth/token", {"email": "owner@example.com", "password": "s3cure-pass!x"}, format="json")
        .json()
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
    assert client.get("/api/v1/auth/me").status_code == 200
    assert client.post("/api/v1/auth/logout", {}, format="json").status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401
