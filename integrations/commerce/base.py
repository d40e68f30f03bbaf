"""One interface for every commerce platform (Shopify, Salla, Zid).

    connector = connector_for(connection)
    connector.connect()                          # verify credentials, return store info
    page = connector.list_products(cursor=None)  # full import / reconcile, page by page
    connector.fetch_product(external_id)         # incremental upsert of one product
    connector.order_status(number)               # {"number", "status", "external_id"} | None
    connector.verify_webhook(headers, body)      # signature / token / basic auth on the raw body
    connector.parse_webhook(headers, body, query) -> WebhookEnvelope

HTTP goes through kaleem.http.provider_request (timeouts, retries honouring Retry-After on 429,
circuit breaker per connection). Base URLs come from the connection (tests point them at local fakes)."""

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from kaleem.http import provider_request

_ARABIC = re.compile(r"[\u0600-\u06FF]")
_TAGS = re.compile(r"<[^>]{0,500}>")


@dataclass
class ExternalProduct:
    external_id: str
    title: str = ""
    title_ar: str = ""
    title_en: str = ""
    sku: str = ""
    description: str = ""
    price: Decimal = Decimal("0")
    sale_price: Decimal | None = None
    currency: str = "SAR"
    stock: int = 0
    active: bool = True
    images: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    product_type: str = ""
    variant_id: str = ""


@dataclass
class ProductPage:
    products: list[ExternalProduct]
    next_cursor: str | None
    total: int | None = None


@dataclass
class WebhookEnvelope:
    """What an inbound platform delivery means: `kind` upsert | delete | order | authorize | ignore."""

    topic: str
    dedupe_key: str
    kind: str
    payload: dict
    external_id: str = ""


class WebhookRejected(Exception):
    """Signature/token/auth check failed (answer 401)."""


def money(value: Any) -> Decimal:
    if isinstance(value, dict):
        value = value.get("amount")
    try:
        return Decimal(str(value)).quantize(Decimal("0.01")) if value not in (None, "") else Decimal("0")
    except (InvalidOperation, ValueError):
        return Decimal("0")


def plain_text(html: str) -> str:
    return re.sub(r"\s+", " ", _TAGS.sub(" ", html or "")).strip()[:5000]


def split_title(title: str) -> tuple[str, str]:
    """Platforms with one title field: Arabic script goes to title_ar, anything else to title_en."""
    title = (title or "").strip()[:300]
    return (title, "") if _ARABIC.search(title) else ("", title)


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# A customer is waiting: one quick retry, short timeout, no long Retry-After sleeps.
INTERACTIVE = {"max_attempts": 2, "timeout": 5.0, "max_retry_after": 1.0}


class Connector:
    platform = ""
    default_base_url = ""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.credentials: dict = json.loads(connection.credentials or "{}")

    # --- HTTP ---------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return (self.connection.base_url or self.default_base_url).rstrip("/")

    def headers(self) -> dict[str, str]:
        return {}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if not url.startswith(self.base_url + "/") and url != self.base_url:
            # never send the store's token to a host a payload named ("next" links included)
            raise ValueError(f"refusing to call {url!r} outside {self.base_url!r}")
        return provider_request(
            method,
            url,
            provider=self.platform,
            breaker_key=f"platform:{self.connection.pk}",
            headers={**self.headers(), **kwargs.pop("headers", {})},
            timeout=kwargs.pop("timeout", 20.0),
            max_retry_after=kwargs.pop("max_retry_after", 30.0),
            max_attempts=kwargs.pop("max_attempts", 6),
            **kwargs,
        )

    # --- interface ----------------------------------------------------------------------------
    def connect(self) -> dict:
        raise NotImplementedError

    def list_products(self, cursor: str | None = None) -> ProductPage:
        raise NotImplementedError

    def register_webhooks(self, callback_url: str) -> list[str]:
        """Subscribe our callback URL to the platform's product and order topics; returns the topics."""
        raise NotImplementedError

    def fetch_product(self, external_id: str) -> ExternalProduct | None:
        raise NotImplementedError

    def order_status(self, number: str) -> dict | None:
        """Asked while a customer waits (assistant turn): callers keep it short, see INTERACTIVE."""
        raise NotImplementedError

    def verify_webhook(self, headers: Any, body: bytes) -> None:
        raise NotImplementedError

    def parse_webhook(self, headers: Any, body: bytes, query: dict) -> WebhookEnvelope:
        raise NotImplementedError

    def parse_product(self, data: dict) -> ExternalProduct:
        raise NotImplementedError

    def checkout_url(self, lines: list[dict]) -> str | None:
        return self.connection.checkout_url or None


def connector_for(connection: Any) -> Connector:
    from integrations.commerce.salla import SallaConnector
    from integrations.commerce.shopify import ShopifyConnector
    from integrations.commerce.zid import ZidConnector

    classes = {"shopify": ShopifyConnector, "salla": SallaConnector, "zid": ZidConnector}
    return classes[connection.platform](connection)
