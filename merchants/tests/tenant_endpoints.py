"""The merchants app's id-taking endpoints, walked by kaleem/tests/test_tenant_isolation.py."""

from kaleem.tenancy.roles import Role
from kaleem.testing.factories import MembershipFactory
from kaleem.testing.tenant_isolation import register_tenant_endpoint
from merchants.services import api_token_create


def _member(merchant):  # noqa: ANN001, ANN202
    return MembershipFactory(merchant=merchant, role=Role.AGENT).pk


def _api_token(merchant):  # noqa: ANN001, ANN202
    token, _key = api_token_create(merchant=merchant, actor=None, name="other store's token", role=Role.AGENT)
    return token.pk


MEMBER_URL = "/api/v1/team/members/{id}"
TOKEN_URL = "/api/v1/tokens/{id}"

register_tenant_endpoint("team-member-detail", "GET", MEMBER_URL, _member)
register_tenant_endpoint("team-member-detail", "PATCH", MEMBER_URL, _member, body={"role": "viewer"})
register_tenant_endpoint("team-member-detail", "DELETE", MEMBER_URL, _member)
register_tenant_endpoint("api-token-detail", "GET", TOKEN_URL, _api_token)
register_tenant_endpoint("api-token-detail", "DELETE", TOKEN_URL, _api_token)
