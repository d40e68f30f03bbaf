import functools
import json
from collections.abc import Callable
from typing import Any

from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from kaleem.core.errors import ApplicationError
from kaleem.idempotency.services import (
    idempotency_abandon,
    idempotency_begin,
    idempotency_finish,
    request_fingerprint,
)

MAX_KEY_LENGTH = 255


def idempotent(required: bool = False) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Wrap an unsafe DRF view method so an Idempotency-Key replays the first response.

    Same key + same body ⇒ the stored status and body, without executing again; same key + another
    body ⇒ 422; same key while the first is still running ⇒ 409. Keys are scoped per merchant and
    caller, and expire after 24 h. Responses the view returns with 2xx/4xx are stored; a 5xx or an
    exception (validation error, business-rule error) frees the key so a corrected retry can run."""

    def decorator(method: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(method)
        def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
            key = request.headers.get("Idempotency-Key", "").strip()
            if not key:
                if required:
                    raise ApplicationError("The Idempotency-Key header is required.", code="idempotency_key_required")
                return method(view, request, *args, **kwargs)
            if len(key) > MAX_KEY_LENGTH:
                raise ApplicationError("Idempotency-Key is too long (max 255).", code="invalid")
            merchant = getattr(request, "merchant", None)
            scope = f"{getattr(merchant, 'pk', '-')}:{request.user.pk}:{request.method}:{request.path}"[:200]
            fingerprint = request_fingerprint(method=request.method, path=request.get_full_path(), body=request.body)
            stored = idempotency_begin(scope=scope, key=key, fingerprint=fingerprint)
            if stored is not None:
                response = Response(stored.response_body, status=stored.response_status)
                response["Idempotent-Replayed"] = "true"
                return response
            try:
                response = method(view, request, *args, **kwargs)
            except Exception:
                idempotency_abandon(scope=scope, key=key)
                raise
            if response.status_code >= 500:
                idempotency_abandon(scope=scope, key=key)
            else:
                # store exactly what the client received (UUIDs, decimals and dates as rendered JSON)
                body = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
                idempotency_finish(scope=scope, key=key, status=response.status_code, body=body)
            return response

        return wrapper

    return decorator
