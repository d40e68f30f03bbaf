"""Zid: `GET /products/?page=&page_size=` following `next` until null (same host only), with the
partner `Authorization: Bearer`, merchant `Access-Token`/`X-Manager-Token`, `Store-Id`, `Role: Manager`.
Zid signs nothing: deliveries must carry `Authorization: Basic base64(user:pass)` (set when the
webhook was created) AND arrive on our secret path; the event name travels in our target URL
(`?event=product.update`). Deduplicated on event:id:updated_at."""

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.commerce.base import (
    INTERACTIVE,
    Connector,
    ExternalProduct,
    ProductPage,
    WebhookEnvelope,
    WebhookRejected,
    money,
    plain_text,
    split_title,
)

PAGE_SIZE = 50
STATUS = {
    "new": "pending",
    "preparing": "confirmed",
    "ready": "confirmed",
    "indelivery": "shipped",
    "delivered": "delivered",
    "cancelled": "cancelled",
}


class ZidConnector(Connector):
    platform = "zid"
    default_base_url = "https://api.zid.sa/v1"

    def headers(self) -> dict[str, str]:
        token = self.credentials.get("access_token", "")
        partner = self.credentials.get("authorization", "")
        return {
            **({"Authorization": f"Bearer {partner}"} if partner else {}),
            "Access-Token": token,
            "X-Manager-Token": token,
            "Store-Id": str(self.connection.external_store_id or self.credentials.get("store_id", "")),
            "Role": "Manager",
            "Accept-Language": "ar",
        }

    def connect(self) -> dict:
        return self.request("GET", f"{self.base_url}/managers/account/profile").json()

    WEBHOOK_EVENTS = ("product.create", "product.update", "product.delete", "order.create", "order.status.update")

    def register_webhooks(self, callback_url: str) -> list[str]:
        """Zid signs nothing: the Basic credentials given here come back on every delivery, and the event
        name rides in our target URL (Zid's body does not name it)."""
        for event in self.WEBHOOK_EVENTS:
            self.request(
                "POST",
                f"{self.base_url}/managers/webhooks",
                json={
                    "event": event,
                    "target_url": f"{callback_url}?event={event}",
                    "original_id": str(self.connection.pk),
                    "subscriber": "kaleem",
                    "username": self.credentials.get("webhook_username", ""),
                    "password": self.credentials.get("webhook_password", ""),
                },
            )
        return list(self.WEBHOOK_EVENTS)

    def list_products(self, cursor: str | None = None) -> ProductPage:
        if cursor:
            # `next` is an absolute URL: keep only its query so the request stays on our base URL
            params = {k: v[0] for k, v in parse_qs(urlsplit(cursor).query).items()}
        else:
            params = {"page": "1", "page_size": str(PAGE_SIZE)}
        body = self.request("GET", f"{self.base_url}/products/", params=params).json()
        items = [self.parse_product(p) for p in body.get("results") or []]
        return ProductPage(items, body.get("next") or None, body.get("count"))

    def fetch_product(self, external_id: str) -> ExternalProduct | None:
        body = self.request("GET", f"{self.base_url}/products/{external_id}/").json()
        return self.parse_product(body) if body.get("id") else None

    def order_status(self, number: str) -> dict | None:
        digits = number.split("-")[-1].lstrip("#")
        body = self.request("GET", f"{self.base_url}/managers/store/orders/{digits}/view", **INTERACTIVE).json()
        order = body.get("order") or body
        if not order.get("id"):
            return None
        code = str((order.get("order_status") or {}).get("code", "")).lower()
        return {
            "number": order.get("code") or str(order["id"]),
            "status": STATUS.get(code, "pending"),
            "external_id": str(order["id"]),
        }

    def verify_webhook(self, headers: Any, body: bytes) -> None:
        user = self.credentials.get("webhook_username", "")
        password = self.credentials.get("webhook_password", "")
        if not (user and password):
            raise WebhookRejected("zid webhook credentials not configured")
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        given = headers.get("Authorization", "")
        if not given or not hmac.compare_digest(expected, given.strip()):
            raise WebhookRejected("bad Zid basic auth")

    def parse_webhook(self, headers: Any, body: bytes, query: dict) -> WebhookEnvelope:
        data = json.loads(body)
        event = str(query.get("event") or "")
        if not event:
            event = "order.status.update" if "order_status" in data else "product.update"
        external_id = str(data.get("id", ""))
        stamp = data.get("updated_at") or hashlib.sha256(body).hexdigest()
        if event in ("product.create", "product.update", "product.publish"):
            kind = "upsert"
        elif event == "product.delete":
            kind = "delete"
        elif event.startswith("order."):
            kind = "order"
        else:
            kind = "ignore"
        return WebhookEnvelope(event, f"zid:{event}:{external_id}:{stamp}"[:255], kind, data, external_id)

    def parse_order(self, data: dict) -> dict:
        customer = data.get("customer") or {}
        code = str((data.get("order_status") or {}).get("code", "")).lower()
        return {
            "external_id": str(data.get("id")),
            "number": str(data.get("code") or data.get("id")),
            "status": STATUS.get(code, "pending"),
            "currency": data.get("currency_code") or "SAR",
            "total": str(money(data.get("order_total"))),
            "customer": {
                "name": customer.get("name", ""),
                "phone": customer.get("mobile", ""),
                "email": customer.get("email", ""),
            },
            "items": [
                {"sku": p.get("sku"), "title": p.get("name"), "quantity": p.get("quantity"), "price": p.get("price")}
                for p in data.get("products") or []
            ],
        }

    def parse_product(self, data: dict) -> ExternalProduct:
        name = data.get("name") or ""
        if isinstance(name, dict):
            title_ar, title_en = str(name.get("ar") or "")[:300], str(name.get("en") or "")[:300]
        else:
            title_ar, title_en = split_title(name)
        description = data.get("description") or ""
        if isinstance(description, dict):
            description = description.get("ar") or description.get("en") or ""
        price = money(data.get("price"))
        sale = money(data.get("sale_price")) if data.get("sale_price") else None
        images = []
        for image in data.get("images") or []:
            url = ((image.get("image") or {}).get("full_size")) if isinstance(image, dict) else None
            if url:
                images.append(url)
        quantity = data.get("quantity")
        return ExternalProduct(
            external_id=str(data.get("id")),
            title=title_ar or title_en,
            title_ar=title_ar,
            title_en=title_en,
            sku=str(data.get("sku") or "")[:100],
            description=plain_text(description),
            price=price,
            sale_price=sale if sale and 0 < sale < price else None,
            stock=999 if quantity is None and data.get("is_infinite") else int(quantity or 0),
            active=bool(data.get("is_published", True)),
            images=images[:10],
        )
