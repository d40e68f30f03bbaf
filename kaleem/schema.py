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


def name_colliding_model_enums() -> dict[str, list]:
    """Give model choice sets whose field names collide across models a stable schema name
    (`ChannelStatusEnum`, `OrderStatusEnum` … instead of `StatusA7bEnum`), added to
    SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] unless a name is already configured for that set.

    Called once from KaleemConfig.ready(), when every model is loaded and before any schema is built."""
    from collections import defaultdict

    from django.apps import apps
    from django.conf import settings
    from drf_spectacular.settings import spectacular_settings

    def values(choices: Any) -> tuple:
        return tuple(str(value) for value, _label in choices)

    configured = settings.SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})
    taken = set()
    for target in configured.values():
        choices = target
        if isinstance(target, str):
            from drf_spectacular.plumbing import deep_import_string

            choices = deep_import_string(target)
        choices = getattr(choices, "choices", choices)
        if choices:
            taken.add(values(choices))

    by_field: dict[str, dict[tuple, list]] = defaultdict(dict)
    for model in sorted(apps.get_models(), key=lambda m: m._meta.label):
        for field in model._meta.concrete_fields:
            if field.choices:
                by_field[field.name].setdefault(values(field.choices), []).append((model, field))
    added = {}
    for field_name, sets in by_field.items():
        if len(sets) < 2:
            continue  # one choice set per field name: no collision to resolve
        for choice_values, owners in sets.items():
            if choice_values in taken:
                continue
            model, field = owners[0]
            camel = "".join(part.capitalize() for part in field_name.split("_"))
            name = f"{model.__name__}{camel}Enum"
            if name not in configured:
                added[name] = list(field.choices)
    configured.update(added)
    if "ENUM_NAME_OVERRIDES" in spectacular_settings.__dict__:  # already read: keep them in step
        spectacular_settings.__dict__["ENUM_NAME_OVERRIDES"] = configured
    return added
