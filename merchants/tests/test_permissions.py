"""Role matrix for the merchant, team, token and audit endpoints (viewer < agent < admin < owner)."""

import pytest

from kaleem.testing.api import member_client
from kaleem.testing.factories import MembershipFactory

pytestmark = pytest.mark.django_db

ROLES = ["viewer", "agent", "admin", "owner"]
# (method, url, body, lowest role allowed, success status)
MATRIX = [
    ("GET", "/api/v1/merchants/current", None, "viewer", 200),
    ("PATCH", "/api/v1/merchants/current", {"description": "new"}, "admin", 200),
    ("GET", "/api/v1/merchants/current/audit-log", None, "admin", 200),
    ("GET", "/api/v1/team/members", None, "admin", 200),
    ("POST", "/api/v1/team/members", {"email": "new@example.com", "role": "agent"}, "admin", 201),
    ("GET", "/api/v1/tokens", None, "admin", 200),
    ("POST", "/api/v1/tokens", {"name": "erp", "role": "viewer"}, "admin", 201),
]
CASES = [(role, *row) for row in MATRIX for role in ROLES]


@pytest.mark.parametrize(
    "role,method,url,body,minimum,ok", CASES, ids=[f"{c[0]}-{c[1]}-{c[2].rsplit('/', 1)[-1]}" for c in CASES]
)
def test_role_matrix(role, method, url, body, minimum, ok):
    client, _merchant, _user = member_client(role)
    response = getattr(client, method.lower())(url, body, format="json") if body else client.get(url)
    if ROLES.index(role) >= ROLES.index(minimum):
        assert response.status_code == ok, response.content
    else:
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize("role", ROLES)
def test_member_detail_and_token_detail_need_admin(role):
    client, merchant, _user = member_client(role)
    target = MembershipFactory(merchant=merchant, role="viewer")
    owner_client, _, _ = member_client("owner", merchant=merchant)
    token_id = owner_client.post("/api/v1/tokens", {"name": "t"}, format="json").json()["id"]
    allowed = role in ("admin", "owner")
    assert client.get(f"/api/v1/team/members/{target.pk}").status_code == (200 if allowed else 403)
    r = client.patch(f"/api/v1/team/members/{target.pk}", {"role": "agent"}, format="json")
    assert r.status_code == (200 if allowed else 403)
    assert client.get(f"/api/v1/tokens/{token_id}").status_code == (200 if allowed else 403)
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == (204 if allowed else 403)
    assert client.delete(f"/api/v1/team/members/{target.pk}").status_code == (204 if allowed else 403)


def test_only_owners_touch_owners():
    admin, merchant, _ = member_client("admin")
    owner, _, owner_user = member_client("owner", merchant=merchant)
    owner_membership = owner_user.memberships.get(merchant=merchant)
    assert (
        admin.post("/api/v1/team/members", {"email": "x@example.com", "role": "owner"}, format="json").status_code
        == 403
    )
    assert (
        admin.patch(f"/api/v1/team/members/{owner_membership.pk}", {"role": "viewer"}, format="json").status_code == 403
    )
    assert admin.delete(f"/api/v1/team/members/{owner_membership.pk}").status_code == 403
    colleague = MembershipFactory(merchant=merchant, role="agent")
    assert admin.patch(f"/api/v1/team/members/{colleague.pk}", {"role": "owner"}, format="json").status_code == 403
    r = owner.patch(f"/api/v1/team/members/{colleague.pk}", {"role": "owner"}, format="json")
    assert r.status_code == 200
    assert r.json()["role"] == "owner"


def test_last_owner_cannot_leave_or_be_demoted():
    owner, merchant, user = member_client("owner")
    mine = user.memberships.get(merchant=merchant)
    r = owner.patch(f"/api/v1/team/members/{mine.pk}", {"role": "admin"}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "last_owner"
    assert owner.delete(f"/api/v1/team/members/{mine.pk}").json()["error"]["code"] == "last_owner"


def test_member_without_store_gets_403_not_data():
    from rest_framework.test import APIClient

    from kaleem.testing.api import api_client_for
    from kaleem.testing.factories import UserFactory

    lonely = api_client_for(UserFactory())
    assert lonely.get("/api/v1/auth/me").status_code == 200
    r = lonely.get("/api/v1/merchants/current")
    assert r.status_code == 403
    assert APIClient().get("/api/v1/merchants/current").status_code == 401


def test_adding_existing_member_and_listing_team():
    owner, merchant, _ = member_client("owner")
    r = owner.post("/api/v1/team/members", {"email": "Agent@Example.com", "role": "agent"}, format="json")
    assert r.status_code == 201
    assert r.json()["email"] == "agent@example.com"
    dup = owner.post("/api/v1/team/members", {"email": "agent@example.com", "role": "viewer"}, format="json")
    assert dup.status_code == 400
    assert dup.json()["error"]["code"] == "already_member"
    listing = owner.get("/api/v1/team/members").json()
    assert {m["email"] for m in listing["results"]} >= {"agent@example.com"}
    assert "next" in listing
