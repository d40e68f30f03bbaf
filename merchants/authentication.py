"""Server-to-server auth: `Authorization: Token kal_…` acts for the token's merchant with its role."""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from kaleem.tenancy.context import set_current_merchant_id
from merchants.services import api_token_authenticate


class ApiTokenUser(AnonymousUser):
    """The caller behind an API token: authenticated, but not a person with memberships."""

    def __init__(self, token: Any) -> None:
        self.token = token
        # never the creator's user id: per-user state (throttles, idempotency keys) stays per token
        self.pk = self.id = f"token:{token.pk}"
        self.username = f"api-token:{token.prefix}"

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    @property
    def is_anonymous(self) -> bool:  # type: ignore[override]
        return False

    def __str__(self) -> str:
        return self.username


class ApiTokenAuthentication(BaseAuthentication):
    keyword = b"token"

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Token header.")
        token = api_token_authenticate(key=parts[1].decode("latin-1"))
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        header = request.headers.get("X-Merchant")
        if header and header not in (str(token.merchant_id), token.merchant.slug):
            raise exceptions.NotFound("Merchant not found.")
        request.merchant = token.merchant
        request.membership_role = token.role
        set_current_merchant_id(token.merchant_id)
        return ApiTokenUser(token), token

    def authenticate_header(self, request: Request) -> str:
        return "Token"
