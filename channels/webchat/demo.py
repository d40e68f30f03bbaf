"""`/demo/<merchant-slug>/`: a small storefront page with the widget embedded by its one script tag,
so a newcomer sees the whole product right after `load_demo`."""

from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from channels.webchat import selectors

DEMO_PRODUCTS = 8


def _products(merchant: Any) -> list[dict[str, Any]]:
    """A few active products for the shelf (read-only; the catalog owns them)."""
    try:
        from catalog.models import Product
    except ImportError:  # pragma: no cover - catalog always installed
        return []
    rows = (
        Product.objects.for_merchant(merchant)
        .filter(status="active")
        .order_by("-in_stock", "created_at")[:DEMO_PRODUCTS]
    )
    out = []
    for p in rows:
        images = p.images if isinstance(p.images, list) else []
        image = next((u for u in images if isinstance(u, str) and u.startswith(("http://", "https://", "/"))), "")
        out.append(
            {
                "title_ar": p.title_ar or p.title_en,
                "title_en": p.title_en or p.title_ar,
                "price": p.sale_price or p.price,
                "currency": p.currency,
                "in_stock": p.in_stock,
                "image": image,
            }
        )
    return out


@require_GET
def storefront(request: HttpRequest, slug: str) -> HttpResponse:
    from merchants.models import Merchant

    merchant = Merchant.objects.filter(slug=slug, status="active").first()
    channel = selectors.channel_webchat_for_merchant(merchant=merchant) if merchant else None
    if channel is None:
        raise Http404("No storefront here.")
    widget_path = static("webchat/widget.js")
    context = {
        "merchant": merchant,
        "channel": channel,
        "products": _products(merchant),
        "widget_src": widget_path,
        "snippet": (
            f'<script src="{settings.KALEEM_PUBLIC_URL.rstrip("/")}{widget_path}" '
            f'data-channel="{channel.public_key}" async></script>'
        ),
        "host_css": request.GET.get("css") == "unset",  # the "host CSS cannot break it" check
    }
    return render(request, "channels/demo_storefront.html", context)
