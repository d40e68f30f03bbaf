"""OpenAPI descriptions of our two authentication schemes (drf-spectacular extensions).

Imported from KaleemConfig.ready() so `/api/schema/` documents how to authenticate."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class KaleemJWTScheme(OpenApiAuthenticationExtension):
    target_class = "kaleem.tenancy.authentication.KaleemJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Access token from POST /api/v1/auth/token (15 min). "
            "Send X-Merchant (id or slug) to act for another store you belong to.",
        }


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Server-to-server: `Authorization: Token kal_…` (created in /api/v1/tokens, shown once).",
        }
