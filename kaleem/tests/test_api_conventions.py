"""API conventions every endpoint shares: error envelope, bad bodies, request ids, X-Merchant, pagination."""

import io
import json

import pytest
from rest_framework.test import APIClient

from kaleem.testing.api import member_client
from kaleem.testing.factories import MembershipFactory, MerchantFactory
from merchants.models import AuditLog, Merchant

pytestmark = pytest.mark.django_db


def test_malformed_json_is_400_with_body_field():
    owner, _merchant, _ = member_client("owner")
    r = owner.generic("PATCH", "/api/v1/merchants/current", b'{"name": "x",', content_type="application/json")
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "malformed_json"
    assert error["fields"]["body"]
    assert error["request_id"] == r["X-Request-ID"]


def test_invalid_values_are_400_with_field_errors():
    owner, _merchant, _ = member_client("owner")
    r = owner.patch(
        "/api/v1/merchants/current",
        {"currency": "riyal", "timezone": "Mars/Olympus", "support_email": "nope"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "Invalid input."
    assert set(error["fields"]) == {"currency", "timezone", "support_email"}
    assert error["fields"]["timezone"] == ["Unknown time zone."]


def test_unknown_and_read_only_fields_are_ignored():
    """Documented choice (docs/api.md): unknown fields are ignored, never stored; read-only fields too,
    so a client cannot promote itself (status, slug, id) by adding keys."""
    owner, merchant, _ = member_client("owner")
    r = owner.patch(
        "/api/v1/merchants/current",
        {"description": "ok", "status": "closed", "slug": "taken-over", "id": "x", "colour_of_sky": "blue"},
        format="json",
    )
    assert r.status_code == 200
    merchant.refresh_from_db()
    assert merchant.description == "ok"
    assert merchant.status == Merchant.Status.ACTIVE
    assert merchant.slug != "taken-over"
    assert "colour_of_sky" not in r.json()


def test_body_over_limit_is_413_before_parsing(settings):
    settings.API_MAX_BODY_BYTES = 1024
    owner, merchant, _ = member_client("owner")
    big = json.dumps({"description": "x" * 2000})
    r = owner.generic("PATCH", "/api/v1/merchants/current", big, content_type="application/json")
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    merchant.refresh_from_db()
    assert merchant.description == ""
    small = owner.patch("/api/v1/merchants/current", {"description": "x" * 100}, format="json")
    assert small.status_code == 200


@pytest.mark.parametrize(
    "content_type,body",
    [("application/x-www-form-urlencoded", "description=x"), ("text/plain", "hello"), ("application/xml", "<a/>")],
)
def test_non_json_body_is_415(content_type, body):
    owner, _merchant, _ = member_client("owner")
    r = owner.generic("PATCH", "/api/v1/merchants/current", body, content_type=content_type)
    assert r.status_code == 415
    assert r.json()["error"]["code"] == "unsupported_media_type"


def test_request_id_is_honoured_returned_and_in_the_envelope():
    client = APIClient()
    r = client.get("/api/v1/merchants/current", HTTP_X_REQUEST_ID="abc-123.XYZ_9")
    assert r["X-Request-ID"] == "abc-123.XYZ_9"
    assert r.json()["error"]["request_id"] == "abc-123.XYZ_9"
    # unsafe ids (header injection, oversized) are replaced by a fresh one
    r = client.get("/api/v1/merchants/current", HTTP_X_REQUEST_ID="bad id\r\nX-Evil: 1")
    assert r["X-Request-ID"] != "bad id\r\nX-Evil: 1"
    assert len(r["X-Request-ID"]) == 32
    r2 = client.get("/healthz")
    assert r2["X-Request-ID"] and r2["X-Request-ID"] != r["X-Request-ID"]


def test_unknown_api_url_is_404_envelope():
    r = APIClient().get("/api/v1/does-not-exist", HTTP_X_REQUEST_ID="nf-1")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": "not_found", "message": "Not found.", "request_id": "nf-1"}}


def test_method_not_allowed_is_405_envelope():
    owner, _merchant, _ = member_client("owner")
    r = owner.delete("/api/v1/merchants/current")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_x_merchant_of_a_store_you_are_not_in_is_404():
    owner, _merchant, _ = member_client("owner")
    foreign = MerchantFactory(name="Foreign Secret Store")
    for ref in (foreign.slug, str(foreign.pk), "no-such-store"):
        r = owner.get("/api/v1/merchants/current", HTTP_X_MERCHANT=ref)
        assert r.status_code == 404, ref
        assert r.json()["error"]["code"] == "not_found"
        assert "Foreign Secret Store" not in r.content.decode()


def test_x_merchant_switches_between_your_own_stores():
    owner, first, user = member_client("owner")
    second = MerchantFactory(name="Second Store")
    MembershipFactory(merchant=second, user=user, role="viewer")
    assert owner.get("/api/v1/merchants/current").json()["id"] == str(first.pk)
    r = owner.get("/api/v1/merchants/current", HTTP_X_MERCHANT=second.slug)
    assert r.json()["name"] == "Second Store"
    # the role is the one held in that store
    assert (
        owner.patch(
            "/api/v1/merchants/current", {"description": "x"}, format="json", HTTP_X_MERCHANT=str(second.pk)
        ).status_code
        == 403
    )


def test_suspended_store_is_not_served():
    owner, merchant, _ = member_client("owner")
    Merchant.objects.filter(pk=merchant.pk).update(status=Merchant.Status.SUSPENDED)
    assert owner.get("/api/v1/merchants/current").status_code == 403
    assert owner.get("/api/v1/merchants/current", HTTP_X_MERCHANT=merchant.slug).status_code == 404


def test_cursor_pagination_walks_every_row_once():
    owner, merchant, _ = member_client("owner")
    AuditLog.objects.bulk_create([AuditLog(merchant=merchant, action=f"test.{i}") for i in range(120)])
    AuditLog.objects.create(merchant=MerchantFactory(), action="other.store")
    seen, url, pages = [], "/api/v1/merchants/current/audit-log", 0
    while url:
        page = owner.get(url).json()
        pages += 1
        seen.extend(row["action"] for row in page["results"])
        assert len(page["results"]) <= 50
        url = page["next"]
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    assert "other.store" not in seen
    limited = owner.get("/api/v1/merchants/current/audit-log?limit=10").json()
    assert len(limited["results"]) == 10
    bad = owner.get("/api/v1/merchants/current/audit-log?cursor=garbage")
    assert bad.status_code == 404
    assert bad.json()["error"]["code"] == "not_found"


def _chunked_request(body: bytes):
    from django.core.handlers.wsgi import WSGIRequest

    environ = {
        "REQUEST_METHOD": "PATCH",
        "PATH_INFO": "/api/v1/merchants/current",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "CONTENT_TYPE": "application/json",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,  # what gunicorn sets for chunked bodies
        "wsgi.url_scheme": "http",
    }
    return WSGIRequest(environ)


def test_chunked_body_without_length_is_bounded(settings):
    from kaleem.middleware import BodySizeLimitMiddleware

    settings.API_MAX_BODY_BYTES = 1024
    seen = {}

    def view(request):
        seen["body"] = request.body
        from django.http import HttpResponse

        return HttpResponse(status=204)

    middleware = BodySizeLimitMiddleware(view)
    huge = middleware(_chunked_request(b"x" * 5000))
    assert huge.status_code == 413
    assert json.loads(huge.content)["error"]["code"] == "payload_too_large"
    assert "body" not in seen
    ok = middleware(_chunked_request(b'{"description": "fine"}'))
    assert ok.status_code == 204
    assert seen["body"] == b'{"description": "fine"}'
