"""Registry of tenant-scoped API endpoints for the one cross-tenant test (kaleem/tests/test_tenant_isolation.py).

Each area registers its endpoints that take an object id in `<app>/tests/tenant_endpoints.py`:

    from kaleem.testing.tenant_isolation import register_tenant_endpoint

    def _product(merchant):
        return ProductFactory(merchant=merchant).pk

    register_tenant_endpoint("product-detail", "GET", "/api/v1/products/{id}", _product)
    register_tenant_endpoint("product-detail", "PATCH", "/api/v1/products/{id}", _product, body={"title": "x"})

The test imports every such module automatically, then calls each endpoint as the owner of another
store and expects 404 with the error envelope and none of the other store's data. A completeness
check fails when a URL pattern under /api/v1/ that takes an id is neither registered nor exempted."""

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.apps import apps
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

MakeObject = Callable[[Any], Any]

API_PREFIX = "api/v1/"
# URL kwargs that are not object ids (DRF's format suffix)
NON_ID_KWARGS = frozenset({"format"})


@dataclass(frozen=True)
class TenantEndpoint:
    name: str
    method: str
    url_template: str
    make_object: MakeObject = field(compare=False)
    body: Any = field(default=None, compare=False)

    @property
    def test_id(self) -> str:
        return f"{self.method} {self.name}"


_endpoints: dict[tuple[str, str], TenantEndpoint] = {}
_exempt: dict[str, str] = {}


def register_tenant_endpoint(
    name: str, method: str, url_template: str, make_object: MakeObject, *, body: Any = None
) -> None:
    """`name` is the URL pattern name; `url_template` contains `{id}`; `make_object(merchant)` creates an
    object owned by `merchant` and returns the id to put in the URL; `body` is sent as JSON for writes."""
    if "{id}" not in url_template:
        raise ValueError(f"url_template for {name} must contain {{id}}: {url_template}")
    endpoint = TenantEndpoint(name, method.upper(), url_template, make_object, body)
    _endpoints[(endpoint.name, endpoint.method)] = endpoint


def exempt_tenant_endpoint(name: str, reason: str) -> None:
    """An id-taking URL under /api/v1/ that is deliberately not tenant-scoped (say why)."""
    _exempt[name] = reason


def registered_endpoints() -> list[TenantEndpoint]:
    return sorted(_endpoints.values(), key=lambda e: (e.name, e.method))


def exempted() -> dict[str, str]:
    return dict(_exempt)


def autodiscover() -> list[str]:
    """Import `<app>.tests.tenant_endpoints` of every project app; returns the modules imported."""
    imported = []
    for config in apps.get_app_configs():
        if not str(config.path).startswith(str(settings.BASE_DIR)):
            continue  # third-party app
        module = f"{config.name}.tests.tenant_endpoints"
        try:
            spec = find_spec(module)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            import_module(module)
            imported.append(module)
    return imported


def _walk(patterns: list, prefix: str = "") -> list[tuple[str, str, set[str]]]:
    found = []
    for entry in patterns:
        route = prefix + str(entry.pattern).lstrip("^")
        if isinstance(entry, URLResolver):
            found.extend(_walk(entry.url_patterns, route))
        elif isinstance(entry, URLPattern):
            regex = entry.pattern.regex
            kwargs = set(regex.groupindex) - NON_ID_KWARGS
            positional = regex.groups - len(regex.groupindex)
            if kwargs or positional:
                found.append((entry.name or route, route, kwargs))
    return found


def id_url_patterns() -> dict[str, str]:
    """{url name: route} for every URL pattern under /api/v1/ that takes an object id."""
    result: dict[str, str] = {}
    for name, route, _kwargs in _walk(get_resolver().url_patterns):
        cleaned = route.lstrip("^")
        if cleaned.startswith(API_PREFIX):
            result.setdefault(name, cleaned)
    return result


def unregistered_id_patterns() -> dict[str, str]:
    covered = {e.name for e in _endpoints.values()} | set(_exempt)
    return {name: route for name, route in id_url_patterns().items() if name not in covered}
