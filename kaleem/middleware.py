import io
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.contrib.messages import middleware as messages_middleware
from django.contrib.sessions import middleware as session_middleware
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse

from kaleem.core.errors import error_response
from kaleem.logging import merchant_id_var, request_id_var
from kaleem.tenancy import middleware as tenancy_middleware

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


class RequestIdMiddleware:
    """Honours a well-formed inbound X-Request-ID, otherwise mints one; returns it on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        merchant_token = merchant_id_var.set("")
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            merchant_id_var.reset(merchant_token)
        response["X-Request-ID"] = request_id
        return response


class BodySizeLimitMiddleware:
    """Refuses oversized bodies with 413 before anything reads them.

    Uploads (multipart) get the larger upload limit; webhooks their own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = self.limit_for(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_response(400, "Invalid Content-Length header.")
        if length > limit:
            return error_response(413, f"Request body too large (limit {limit} bytes).")
        if not length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # no length to check up front (gunicorn passes chunked bodies through): read at most
            # limit + 1 bytes now, so an endless body can never be buffered by the view
            if not self._buffer_unsized_body(request, limit):
                return error_response(413, f"Request body too large (limit {limit} bytes).")
        return self.get_response(request)

    @staticmethod
    def _buffer_unsized_body(request: HttpRequest, limit: int) -> bool:
        stream = request.META.get("wsgi.input")
        if stream is None:
            return True
        data = stream.read(limit + 1)
        if len(data) > limit:
            return False
        request._stream = LimitedStream(io.BytesIO(data), len(data))  # Django reads the body from here
        request.META["CONTENT_LENGTH"] = str(len(data))
        return True

    @staticmethod
    def limit_for(request: HttpRequest) -> int:
        if request.path.startswith("/webhooks/"):
            return settings.WEBHOOK_MAX_BODY_BYTES
        if request.content_type == "multipart/form-data" or not request.path.startswith(("/api/", "/webhooks/")):
            return settings.UPLOAD_MAX_BODY_BYTES
        return settings.API_MAX_BODY_BYTES


def api_call_with_credentials(request: HttpRequest) -> bool:
    """An API call that carries its own credentials (JWT or API token): the API authenticates only by
    the Authorization header, so sessions, messages and the page merchant play no part in it. (CSRF
    stays Django's own class, which `check --deploy` looks for by name; it already returns at once for
    the API's exempt views.)"""
    return "HTTP_AUTHORIZATION" in request.META and request.path_info.startswith("/api/")


class _PageOnly:
    """Mixin for page-only middleware: API calls with credentials go straight past it."""

    get_response: Callable[[HttpRequest], HttpResponse]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if api_call_with_credentials(request):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class SessionMiddleware(_PageOnly, session_middleware.SessionMiddleware):
    pass


class AuthenticationMiddleware(_PageOnly, auth_middleware.AuthenticationMiddleware):
    pass


class MessageMiddleware(_PageOnly, messages_middleware.MessageMiddleware):
    pass


class SessionMerchantMiddleware(_PageOnly, tenancy_middleware.SessionMerchantMiddleware):
    pass
