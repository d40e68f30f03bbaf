"""One error envelope for every API error: {"error": {"code", "message", "fields"?, "request_id"}}."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from kaleem.logging import current_request_id


class ApplicationError(Exception):
    """A business rule was violated; carries a stable code and the HTTP status to answer."""

    code = "application_error"
    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.fields = fields


class NotFoundError(ApplicationError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND


class ConflictError(ApplicationError):
    code = "conflict"
    status_code = status.HTTP_409_CONFLICT


_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
}


def error_body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "request_id": current_request_id()}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(status_code: int, message: str, *, code: str | None = None, fields: Any = None) -> JsonResponse:
    return JsonResponse(error_body(code or _CODES.get(status_code, "error"), message, fields), status=status_code)


def _flatten_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _flatten_message(detail[0])
    if isinstance(detail, dict) and detail:
        return _flatten_message(next(iter(detail.values())))
    return str(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    from rest_framework.views import exception_handler

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        message = "Invalid input."
        if isinstance(detail, dict) and set(detail) == {"non_field_errors"}:
            message = _flatten_message(detail)
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.ParseError):
        # the body is not JSON at all: name the body as the offending "field" so clients can show it
        response.data = error_body("malformed_json", "Request body is not valid JSON.", {"body": [str(exc.detail)]})
    else:
        code = getattr(exc, "default_code", None) or _CODES.get(response.status_code, "error")
        detail = getattr(exc, "detail", str(exc))
        if isinstance(detail, dict) and "detail" in detail:
            code = getattr(detail["detail"], "code", code) or code
            detail = detail["detail"]
        elif hasattr(detail, "code") and detail.code:
            code = detail.code
        response.data = error_body(str(code), _flatten_message(detail))
    return response
