"""The API auth hot path: remembered memberships, revocation across processes, and the audit page's
fast output staying identical to its serializer."""

import json
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.renderers import JSONRenderer
from rest_framework.test import APIClient

from kaleem.core.renderers import FastJSONRenderer
from kaleem.core.stored import aware_datetime, uuid_text
from kaleem.tenancy import authentication as auth
from kaleem.testing.api import member_client
from merchants import selectors
from merchants.api.serializers import AuditLogOutput, audit_log_rows_output
from merchants.models import AuditLog, RevokedTokenFamily
from merchants.services import audit

pytestmark = pytest.mark.django_db


@pytest.fixture
def remembered(settings):
    settings.AUTH_MEMBERSHIP_CACHE_SECONDS = 30.0
    auth.forget_memberships()
    yield
    auth.forget_memberships()


def test_membership_is_remembered_and_changes_through_services_apply_at_once(remembered, django_assert_max_num_queries):
    owner, merchant, _ = member_client("owner")
    admin, _, admin_user = member_client("admin", merchant=merchant)
    assert admin.get("/api/v1/team/members").status_code == 200
    with django_assert_max_num_queries(2):  # the membership comes from memory: only the list queries
        assert admin.get("/api/v1/team/members").status_code == 200
    membership = admin_user.memberships.get(merchant=merchant)
    r = owner.patch(f"/api/v1/team/members/{membership.pk}", {"role": "viewer"}, format="json")
    assert r.status_code == 200
    assert admin.get("/api/v1/team/members").status_code == 403  # demoted immediately in this process
    assert owner.delete(f"/api/v1/team/members/{membership.pk}").status_code == 204
    assert admin.get("/api/v1/merchants/current").status_code == 403  # removed: no store any more


def test_remembered_instances_are_copies(remembered):
    owner, merchant, _ = member_client("owner")
    bad = owner.patch("/api/v1/merchants/current", {"timezone": "Mars/Olympus", "name": "Changed"}, format="json")
    assert bad.status_code == 400
    # a failed update mutated nothing that a later request could see
    assert owner.get("/api/v1/merchants/current").json()["name"] == merchant.name


def test_revocation_stamp_spreads_logout_to_other_processes(
    settings, tmp_path, django_assert_num_queries, django_capture_on_commit_callbacks
):
    settings.AUTH_REVOCATION_STAMP = str(tmp_path / "db.revocations")
    # embedded default: a process-local cache, so the stamp is what other processes rely on
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client, _merchant, _user = member_client("owner")
    other_session, _, _ = member_client("owner")
    assert client.get("/api/v1/auth/me").status_code == 200
    auth._stamp_state["signature"] = None
    assert client.get("/api/v1/auth/me").status_code == 200  # loads the revoked set once
    # unchanged stamp: the revoked set comes from memory (only the user/membership lookups hit the DB)
    with django_assert_num_queries(2):
        assert client.get("/api/v1/auth/me").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # the stamp is replaced after commit
        assert client.post("/api/v1/auth/logout", {}, format="json").status_code == 204
    assert (tmp_path / "db.revocations").exists()
    # simulate another worker process: nothing in its local cache, only the stamp changed
    from django.core.cache import cache

    cache.clear()
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "token_revoked"
    assert other_session.get("/api/v1/auth/me").status_code == 200
    assert RevokedTokenFamily.objects.count() == 1


def test_fast_audit_output_matches_the_serializer():
    owner, merchant, user = member_client("owner")
    audit(merchant=merchant, actor=user, action="product.updated", data={"fields": ["price"]}, ip_address="10.0.0.1")
    audit(merchant=merchant, actor=None, action="system.job", data={})
    audit(merchant=merchant, actor=user, action="faq.added", data={"q": "كم يوم الاسترجاع؟", "n": [1.5, None, True]})
    rows = list(selectors.audit_log_rows(merchant=merchant))
    entries = list(AuditLog.objects.filter(merchant=merchant).select_related("actor").order_by("-created_at", "-id"))
    render = FastJSONRenderer().render
    fast, reference = (
        render(audit_log_rows_output(rows)),
        JSONRenderer().render(AuditLogOutput(entries, many=True).data),
    )
    # ids and documents are emitted as stored, so the bytes may differ in spacing but never in content
    assert json.loads(fast) == json.loads(reference)
    assert [row["id"] for row in json.loads(fast)] == [str(entry.pk) for entry in entries]
    assert render(AuditLogOutput(entries, many=True).data) == JSONRenderer().render(
        AuditLogOutput(entries, many=True).data
    )
    page = owner.get("/api/v1/merchants/current/audit-log").json()["results"]
    assert {p["action"] for p in page} >= {"product.updated", "system.job", "faq.added"}
    assert next(p for p in page if p["action"] == "faq.added")["data"]["q"] == "كم يوم الاسترجاع؟"
    # an indented rendering goes through DRF's encoder, which must read the stored documents too
    indented = owner.get("/api/v1/merchants/current/audit-log", HTTP_ACCEPT="application/json; indent=2")
    assert indented.status_code == 200 and b'\n  "results"' in indented.content
    assert json.loads(indented.content)["results"] == page
    assert APIClient().get("/api/v1/merchants/current/audit-log").status_code == 401


def test_list_endpoints_use_a_constant_number_of_queries():
    from kaleem.testing.factories import MembershipFactory
    from kaleem.testing.queries import assert_max_queries

    owner, merchant, user = member_client("owner")
    for i in range(60):
        audit(merchant=merchant, actor=user, action=f"test.{i}")
        MembershipFactory(merchant=merchant, role="viewer")
    owner.post("/api/v1/tokens", {"name": "t"}, format="json")
    # auth (revocation + membership) + the page; never one query per row
    for url in ("/api/v1/merchants/current/audit-log", "/api/v1/team/members", "/api/v1/tokens"):
        with assert_max_queries(3):
            r = owner.get(url)
        assert r.status_code == 200 and r.json()["results"], url


def test_api_calls_with_credentials_skip_the_page_middleware(client):
    owner, merchant, user = member_client("owner")
    api = owner.get("/api/v1/merchants/current/audit-log", HTTP_COOKIE="sessionid=stale-session")
    assert api.status_code == 200
    handled = api.wsgi_request  # what the view saw: no session, messages or page merchant was set up
    assert not any(hasattr(handled, name) for name in ("session", "_messages", "page_membership"))
    assert not api.cookies
    assert api["X-Request-ID"] and api["Content-Language"]  # the shared middleware still runs
    client.force_login(user)
    page = client.get("/dashboard/")
    assert page.status_code == 200  # pages keep sessions, CSRF, messages and the session merchant
    assert "csrftoken" in page.cookies
    assert all(hasattr(page.wsgi_request, name) for name in ("session", "_messages", "page_membership"))
    anonymous_api = client.get("/api/v1/auth/me")  # no Authorization header: the full stack, then 401
    assert anonymous_api.status_code == 401 and hasattr(anonymous_api.wsgi_request, "session")


@pytest.mark.parametrize(
    "stored",
    [
        "0c442dd959334628950099b053352f8e",  # SQLite
        "0c442dd9-5933-4628-9500-99b053352f8e",
        uuid.UUID("0c442dd9-5933-4628-9500-99b053352f8e"),  # PostgreSQL
        uuid.UUID("0c442dd9-5933-4628-9500-99b053352f8e").bytes,  # MongoDB binary
    ],
)
def test_stored_uuids_render_in_canonical_form(stored):
    assert uuid_text(stored) == "0c442dd9-5933-4628-9500-99b053352f8e"
    assert uuid_text(None) is None


@pytest.mark.parametrize(
    "stored",
    [
        datetime(2026, 11, 22, 5, 5, 40, 2436),  # SQLite and MongoDB: naive UTC
        datetime(2026, 11, 22, 8, 5, 40, 2436, tzinfo=ZoneInfo("Asia/Riyadh")),  # PostgreSQL: aware
        "2026-11-22 05:05:40.002436",
    ],
)
def test_stored_times_are_read_as_utc(stored):
    assert aware_datetime(stored) == datetime(2026, 11, 22, 5, 5, 40, 2436, tzinfo=UTC)
    assert aware_datetime(stored).utcoffset() is not None
