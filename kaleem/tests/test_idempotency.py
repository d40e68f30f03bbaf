"""Idempotency-Key: replay without re-executing, 422 on a different body, 409 while in flight, 24 h expiry."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from kaleem.idempotency.services import purge_expired, request_fingerprint
from kaleem.models import IdempotencyRecord
from kaleem.testing.api import member_client
from kaleem.tests import idempotency_urls as counter
from merchants.models import Membership

pytestmark = pytest.mark.urls("kaleem.tests.idempotency_urls")
URL = "/api/v1/test/counter"


@pytest.fixture(autouse=True)
def _reset_counter():
    counter.EXECUTIONS.clear()
    counter.ENTERED.clear()
    counter.RELEASE.set()
    yield
    counter.RELEASE.set()


def _post(client, body, key="key-1"):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.mark.django_db
def test_same_key_same_body_replays_stored_response_without_executing():
    client, _m, _u = member_client("agent")
    first = _post(client, {"amount": 10, "items": [1, 2]})
    assert first.status_code == 201
    # same JSON, different key order and spacing: still the same request
    again = client.generic(
        "POST",
        URL,
        b'{ "items": [1, 2],  "amount": 10 }',
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="key-1",
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(counter.EXECUTIONS) == 1
    # without a key, or with another key, the request runs
    assert client.post(URL, {"amount": 10}, format="json").json()["execution"] == 2
    assert _post(client, {"amount": 10}, key="key-2").json()["execution"] == 3


@pytest.mark.django_db
def test_same_key_different_body_is_422():
    client, _m, _u = member_client("agent")
    assert _post(client, {"amount": 10}).status_code == 201
    r = _post(client, {"amount": 11})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "idempotency_key_reused"
    assert len(counter.EXECUTIONS) == 1


@pytest.mark.django_db
def test_keys_are_scoped_per_store_and_caller():
    alice, merchant, _ = member_client("agent")
    bob, _, _ = member_client("agent", merchant=merchant)
    stranger, _, _ = member_client("agent")
    assert _post(alice, {"a": 1}).json()["execution"] == 1
    assert _post(bob, {"a": 1}).json()["execution"] == 2
    assert _post(stranger, {"a": 1}).json()["execution"] == 3


@pytest.mark.django_db
def test_in_flight_record_answers_409():
    client, merchant, user = member_client("agent")
    body = b'{"amount": 5}'
    IdempotencyRecord.objects.create(
        scope=f"{merchant.pk}:{user.pk}:POST:{URL}",
        key="busy",
        request_hash=request_fingerprint(method="POST", path=URL, body=body),
        expires_at=timezone.now() + timedelta(hours=24),
    )
    r = client.generic("POST", URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="busy")
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "idempotency_in_flight"
    assert counter.EXECUTIONS == []
    # a worker that died long ago does not block the key forever
    IdempotencyRecord.objects.filter(key="busy").update(created_at=timezone.now() - timedelta(minutes=10))
    assert (
        client.generic("POST", URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="busy").status_code
        == 201
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_with_real_threads_is_409():
    client, merchant, user = member_client("agent")
    counter.RELEASE.clear()
    results = {}

    def first():
        try:
            results["first"] = _post(client, {"amount": 7}, key="race")
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert counter.ENTERED.wait(timeout=10)
    duplicate = _post(client, {"amount": 7}, key="race")
    counter.RELEASE.set()
    thread.join(timeout=10)
    assert duplicate.status_code == 409
    assert results["first"].status_code == 201
    replay = _post(client, {"amount": 7}, key="race")
    assert replay.status_code == 201 and replay.json() == results["first"].json()
    assert len(counter.EXECUTIONS) == 1


@pytest.mark.django_db
def test_server_error_frees_the_key():
    client, _m, _u = member_client("agent")
    assert _post(client, {"fail": True}, key="k").status_code == 500
    assert not IdempotencyRecord.objects.filter(key="k").exists()
    assert _post(client, {"fail": True}, key="k").status_code == 500
    assert len(counter.EXECUTIONS) == 2


@pytest.mark.django_db
def test_records_expire_after_24_hours():
    client, _m, _u = member_client("agent")
    assert _post(client, {"v": 1}).status_code == 201
    record = IdempotencyRecord.objects.get(key="key-1")
    assert timedelta(hours=23, minutes=59) < record.expires_at - record.created_at <= timedelta(hours=24, seconds=5)
    IdempotencyRecord.objects.filter(pk=record.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # once expired the key is free again: a different body runs instead of 422
    r = _post(client, {"v": 2})
    assert r.status_code == 201
    assert r.json()["execution"] == 2
    IdempotencyRecord.objects.all().update(expires_at=timezone.now() - timedelta(seconds=1))
    assert purge_expired() == 1
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_overlong_key_is_400():
    client, _m, _u = member_client("agent")
    r = _post(client, {"v": 1}, key="x" * 300)
    assert r.status_code == 400
    assert counter.EXECUTIONS == []


@pytest.mark.django_db
@pytest.mark.urls("kaleem.urls")
def test_team_member_add_is_idempotent():
    owner, merchant, _ = member_client("owner")
    body = {"email": "twice@example.com", "role": "agent"}
    first = owner.post("/api/v1/team/members", body, format="json", HTTP_IDEMPOTENCY_KEY="invite-1")
    second = owner.post("/api/v1/team/members", body, format="json", HTTP_IDEMPOTENCY_KEY="invite-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert Membership.objects.filter(merchant=merchant, user__email="twice@example.com").count() == 1


@pytest.mark.django_db
def test_same_key_with_a_different_query_string_is_422():
    client, _m, _u = member_client("agent")
    assert client.post(f"{URL}?mode=a", {"v": 1}, format="json", HTTP_IDEMPOTENCY_KEY="q").status_code == 201
    r = client.post(f"{URL}?mode=b", {"v": 1}, format="json", HTTP_IDEMPOTENCY_KEY="q")
    assert r.status_code == 422
    assert len(counter.EXECUTIONS) == 1
