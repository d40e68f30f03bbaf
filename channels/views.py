"""Inbound webhooks: `/webhooks/<kind>/<public_key>`. The hot path: look the channel up, verify
the provider's signature over the raw bytes, store new items, answer 200; processing runs in
Celery after commit."""

import json
import time

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from channels import selectors, services
from channels.models import Channel
from channels.providers import provider_for
from kaleem import metrics

_KINDS = frozenset({"telegram", "whatsapp", "messenger", "instagram"})


def _reject(kind: str, status: int, message: str, outcome: str) -> JsonResponse:
    metrics.WEBHOOKS.labels(kind=kind, outcome=outcome).inc()
    return JsonResponse({"error": {"code": outcome, "message": message}}, status=status)


@csrf_exempt
def webhook(request: HttpRequest, kind: str, public_key: str) -> HttpResponse:
    started = time.perf_counter()
    if kind not in _KINDS:
        return _reject("unknown", 404, "Unknown channel kind.", "not_found")
    channel = selectors.channel_for_webhook(kind=kind, public_key=public_key)
    if channel is None:
        return _reject(kind, 404, "Unknown channel.", "not_found")
    provider = provider_for(kind)
    if request.method == "GET":
        status, body = provider.handshake(request, channel)
        if status == 200:
            services.channel_mark_verified(channel=channel)
            metrics.WEBHOOKS.labels(kind=kind, outcome="verified").inc()
        else:
            metrics.WEBHOOKS.labels(kind=kind, outcome="rejected").inc()
        return HttpResponse(body, status=status, content_type="text/plain")
    if request.method != "POST":
        return _reject(kind, 405, "Method not allowed.", "method_not_allowed")
    raw = request.body
    if not provider.verify(request, raw, channel):
        # Meta signs with the app secret (401 for a bad signature); Telegram's token is a shared secret (403)
        status = 403 if kind == "telegram" else 401
        return _reject(kind, status, "Invalid or missing signature.", "rejected")
    if channel.status == Channel.Status.DISABLED:
        # acknowledged (so the provider stops retrying) but not stored or processed
        metrics.WEBHOOKS.labels(kind=kind, outcome="disabled").inc()
        return HttpResponse(status=200)
    try:
        body = json.loads(raw)
    except ValueError:
        return _reject(kind, 400, "Body is not JSON.", "malformed")
    items = provider.split(body)
    if not items:
        return _reject(kind, 400, "No recognisable events in the body.", "malformed")
    headers = {h: request.headers[h] for h in provider.header_subset if h in request.headers}
    result = services.webhook_ingest(channel=channel, items=items, raw=raw, headers=headers)
    metrics.WEBHOOKS.labels(kind=kind, outcome="accepted" if result.created else "duplicate").inc()
    metrics.WEBHOOK_ACK_SECONDS.labels(kind=kind).observe(time.perf_counter() - started)
    return HttpResponse("OK", status=200, content_type="text/plain")
