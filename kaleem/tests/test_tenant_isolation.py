"""Every tenant-scoped endpoint, called by the owner of another store, answers 404 and leaks nothing.

Endpoints come from `<app>/tests/tenant_endpoints.py` modules (see kaleem/testing/tenant_isolation.py)."""

import json

import pytest

from kaleem.testing.api import member_client
from kaleem.testing.factories import MerchantFactory
from kaleem.testing.tenant_isolation import (
    autodiscover,
    id_url_patterns,
    registered_endpoints,
    unregistered_id_patterns,
)

DISCOVERED = autodiscover()
ENDPOINTS = registered_endpoints()


def test_registry_modules_are_discovered():
    assert "merchants.tests.tenant_endpoints" in DISCOVERED
    assert {"team-member-detail", "api-token-detail"} <= {e.name for e in ENDPOINTS}


def test_every_id_taking_api_url_is_registered():
    assert "team-member-detail" in id_url_patterns()
    missing = unregistered_id_patterns()
    assert not missing, (
        "These /api/v1/ URLs take an object id but no cross-tenant check is registered for them; add "
        "register_tenant_endpoint(...) calls in <app>/tests/tenant_endpoints.py: "
        + ", ".join(f"{name} ({route})" for name, route in sorted(missing.items()))
    )


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.test_id for e in ENDPOINTS])
def test_other_stores_object_is_not_found(endpoint):
    client, _mine, _user = member_client("owner")
    theirs = MerchantFactory(name="Victim Store Secret", slug="victim-store-secret")
    object_id = endpoint.make_object(theirs)
    url = endpoint.url_template.format(id=object_id)
    kwargs = {"format": "json"}
    if endpoint.body is not None:
        kwargs["data"] = endpoint.body
    response = getattr(client, endpoint.method.lower())(url, **kwargs)
    assert response.status_code == 404, f"{endpoint.method} {url} answered {response.status_code}: {response.content!r}"
    body = response.json()
    assert body["error"]["code"] == "not_found"
    text = json.dumps(body)
    assert str(object_id) not in text
    assert "victim" not in text.lower()
    # and the object is still reachable by its own store (nothing was changed or deleted)
    owner_client, _, _ = member_client("owner", merchant=theirs)
    if endpoint.method in ("PATCH", "PUT", "DELETE", "POST"):
        probe = owner_client.get(url)
        assert probe.status_code in (200, 405), f"object of the other store was affected: {probe.status_code}"
