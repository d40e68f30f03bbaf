"""404/500 handlers: JSON envelope under /api/ and /webhooks/, HTML pages elsewhere."""

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from kaleem.views import api_not_found, api_server_error

_JSON_PREFIXES = ("/api/", "/webhooks/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(_JSON_PREFIXES):
        return api_not_found(request, exception)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(_JSON_PREFIXES):
        return api_server_error(request)
    return defaults.server_error(request)
