from typing import Any

from rest_framework.test import APIClient

from kaleem.testing.factories import MembershipFactory, MerchantFactory, UserFactory
from merchants.tokens import token_pair_issue


def api_client_for(user: Any, merchant: Any = None) -> APIClient:
    """An APIClient carrying a real access token (as a logged-in member of `merchant` would)."""
    client = APIClient()
    pair = token_pair_issue(user=user, merchant_id=getattr(merchant, "pk", None))
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    client.tokens = pair  # type: ignore[attr-defined]
    return client


def member_client(role: str = "owner", merchant: Any = None) -> tuple[APIClient, Any, Any]:
    merchant = merchant or MerchantFactory()
    user = UserFactory()
    MembershipFactory(merchant=merchant, user=user, role=role)
    return api_client_for(user, merchant), merchant, user
