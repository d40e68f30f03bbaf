"""Inbound platform webhooks: POST /webhooks/platforms/<platform>/<key> (key = secret path segment)."""

import time

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.services import MAX_WEBHOOK_BYTES, platform_webhook_receive
from kaleem import metrics

MESSAGES = {
    200: "ok",
    400: "Malformed payload.",
    401: "Signature check failed.",
    404: "Unknown webhook.",
    413: "Payload too large.",
}


@csrf_exempt
@require_POST
def platform_webhook(request: HttpRequest, platform: str, key: str) -> HttpResponse:
    started = time.perf_counter()
    kind = f"platform_{platform}" if platform in ("shopify", "salla", "zid") else "platform_unknown"
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_WEBHOOK_BYTES:
        status, outcome = 413, "oversize"
    else:
        status, outcome, _event = platform_webhook_receive(
            platform=platform, key=key, headers=request.headers, body=request.body, query=request.GET.dict()
        )
    metrics.WEBHOOKS.labels(kind=kind, outcome=outcome).inc()
    metrics.WEBHOOK_ACK_SECONDS.labels(kind=kind).observe(time.perf_counter() - started)
    if status == 200:
        return JsonResponse({"ok": True, "outcome": outcome})
    return JsonResponse({"error": {"code": outcome, "message": MESSAGES.get(status, "")}}, status=status)
