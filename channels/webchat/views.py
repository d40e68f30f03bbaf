"""Webchat public API (`/api/webchat/v1/<public_key>/…`): channel public key + signed visitor token.

No cookies, no JWT: the widget sends `X-Kaleem-Visitor: <token>`. CORS is answered here (not by
django-cors-headers) because the allow-list is per channel; a page on another origin gets 403."""

from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from channels.webchat import selectors, services
from channels.webchat import serializers as s
from channels.webchat.stream import StreamState, sse_async, sse_sync
from channels.webchat.tokens import Visitor
from kaleem.core.errors import ApplicationError, error_response

MAX_BODY = 32 * 1024
ALLOW_HEADERS = "Content-Type, X-Kaleem-Visitor, Last-Event-ID, X-Request-ID"


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def _own_origins(request: HttpRequest) -> set[str]:
    own = {selectors.normalize_origin(settings.KALEEM_PUBLIC_URL)}
    try:
        own.add(selectors.normalize_origin(request.build_absolute_uri("/")))
    except Exception:  # noqa: S110 - a disallowed Host header simply adds nothing
        pass
    return {o for o in own if o}


def _cors(response: HttpResponse, origin: str | None) -> HttpResponse:
    response["Vary"] = "Origin"
    if origin:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response["Access-Control-Expose-Headers"] = "Retry-After, X-Request-ID"
        response["Access-Control-Max-Age"] = "600"
    return response


def _guard(request: HttpRequest, public_key: str) -> tuple[Any, str | None]:
    """Channel, allowed origin and per-IP limit: the checks every endpoint shares."""
    channel = selectors.channel_get_public(public_key=public_key)
    origin = services.origin_check(
        channel=channel, origin=request.headers.get("Origin"), own_origins=_own_origins(request)
    )
    if request.method != "OPTIONS":
        services.rate_limit_check(scope="ip", key=client_ip(request))
    return channel, origin


def _error(exc: ApplicationError, origin: str | None) -> HttpResponse:
    response = error_response(exc.status_code, exc.message, code=exc.code, fields=exc.fields)
    if isinstance(exc, services.Throttled):
        response["Retry-After"] = str(exc.retry_after)
    return _cors(response, origin)


class WebchatView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    channel: Any = None
    origin: str | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > MAX_BODY:
            raise ApplicationError("Request body too large.", code="payload_too_large", status_code=413)
        self.channel, self.origin = _guard(request, kwargs["public_key"])

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, services.Throttled):
            response["Retry-After"] = str(exc.retry_after)
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return _cors(response, self.origin if self.origin else _safe_origin(request, kwargs.get("public_key")))

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(status=204)

    def visitor(self) -> Visitor:
        return services.visitor_from_token(channel=self.channel, token=self.request.headers.get("X-Kaleem-Visitor"))


def _safe_origin(request: HttpRequest, public_key: str | None) -> str | None:
    """For error responses raised before the guard ran: echo the origin only if it is allowed, so
    an allowed page can read the error envelope and a foreign one learns nothing."""
    if not public_key or not request.headers.get("Origin"):
        return None
    try:
        channel = selectors.channel_get_public(public_key=public_key)
        return services.origin_check(
            channel=channel, origin=request.headers.get("Origin"), own_origins=_own_origins(request)
        )
    except ApplicationError:
        return None


class ConfigView(WebchatView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT}, tags=["webchat"])
    def get(self, request: Request, public_key: str) -> Response:
        return Response(services.webchat_config(channel=self.channel))


class ConversationStartView(WebchatView):
    @extend_schema(request=s.StartInput, responses={200: OpenApiTypes.OBJECT}, tags=["webchat"])
    def post(self, request: Request, public_key: str) -> Response:
        data = s.StartInput(data=request.data or {})
        data.is_valid(raise_exception=True)
        session = services.session_start(
            channel=self.channel, token=request.headers.get("X-Kaleem-Visitor"), client_ip=client_ip(request)
        )
        return Response(
            {
                "visitor_token": session.token,
                "conversation": selectors.conversation_public(session.conversation),
                "messages": [selectors.message_public(m) for m in session.messages],
                "has_more": session.has_more,
                "before": selectors.message_cursor(session.messages[0]) if session.messages else None,
            }
        )


class MessagesView(WebchatView):
    @extend_schema(parameters=[s.HistoryInput], responses={200: OpenApiTypes.OBJECT}, tags=["webchat"])
    def get(self, request: Request, public_key: str) -> Response:
        """History: `?before=<cursor>` pages back; `?after=<cursor>` is the polling fallback."""
        data = s.HistoryInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        visitor = self.visitor()
        conversation = selectors.conversation_for_visitor(channel=self.channel, external_id=visitor.external_id)
        q = data.validated_data
        if conversation is None:
            return Response({"conversation": None, "messages": [], "has_more": False, "before": None})
        if q.get("after"):
            messages = selectors.messages_after(conversation=conversation, cursor=q["after"], limit=q.get("limit", 100))
            has_more = len(messages) == q.get("limit", 100)
        else:
            messages, has_more = selectors.messages_before(
                conversation=conversation, cursor=q.get("before"), limit=q.get("limit", selectors.DEFAULT_PAGE)
            )
        return Response(
            {
                "conversation": selectors.conversation_public(conversation),
                "messages": [selectors.message_public(m) for m in messages],
                "has_more": has_more,
                "before": selectors.message_cursor(messages[0]) if messages else None,
            }
        )

    @extend_schema(
        request=s.SendInput, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT}, tags=["webchat"]
    )
    def post(self, request: Request, public_key: str) -> Response:
        visitor = self.visitor()
        data = s.SendInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = services.message_send(
            channel=self.channel,
            visitor=visitor,
            client_id=v["client_id"],
            text=v["text"],
            payload=v.get("payload", ""),
            language=v.get("locale", ""),
        )
        return Response(
            {
                "message": selectors.message_public(result.message),
                "conversation": selectors.conversation_public(result.conversation),
                "created": result.created,
            },
            status=201 if result.created else 200,
        )


class IdentifyView(WebchatView):
    @extend_schema(request=s.IdentifyInput, responses={200: OpenApiTypes.OBJECT}, tags=["webchat"])
    def post(self, request: Request, public_key: str) -> Response:
        visitor = self.visitor()
        data = s.IdentifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        identified, token = services.visitor_identify(
            channel=self.channel,
            visitor=visitor,
            user_id=v["id"],
            name=v.get("name", ""),
            email=v.get("email", ""),
            signature=v["hmac"],
        )
        return Response({"visitor_token": token, "identified": True})


@csrf_exempt
def stream_view(request: HttpRequest, public_key: str) -> HttpResponse:
    """SSE: `X-Kaleem-Visitor` (or `?token=` for EventSource) and `Last-Event-ID` (or `?last_event_id=`)."""
    origin = None
    try:
        channel, origin = _guard(request, public_key)
        if request.method == "OPTIONS":
            return _cors(HttpResponse(status=204), origin)
        if request.method != "GET":
            return _cors(error_response(405, "Method not allowed."), origin)
        token = request.headers.get("X-Kaleem-Visitor") or request.GET.get("token")
        visitor = services.visitor_from_token(channel=channel, token=token)
        last_event_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or None
        if last_event_id:
            selectors.cursor_parse(last_event_id)  # 400 on garbage rather than a silent replay
    except ApplicationError as exc:
        return _error(exc, origin if origin else _safe_origin(request, public_key))
    state = StreamState(channel=channel, visitor=visitor, last_event_id=last_event_id)
    body = sse_async(state) if isinstance(request, ASGIRequest) else sse_sync(state)
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return _cors(response, origin)
