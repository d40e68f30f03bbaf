"""Salla: Merchant API v2 (`GET /products?page=&per_page=`, Bearer token) and webhooks verified by
the Signature strategy (`X-Salla-Signature` = hex HMAC-SHA256 of the raw body) or the Token strategy
(`Authorization: Bearer <token>` or the raw token; both accepted). Salla sends no event id: deliveries
are deduplicated on merchant:event:data.id:sha256(body)."""

import hashlib
import hmac
import json
import time
from typing import Any

from django.conf import settings
from django.core.cache import cache

from integrations.commerce.base import (
    INTERACTIVE,
    Connector,
    ExternalProduct,
    ProductPage,
    WebhookEnvelope,
    WebhookRejected,
    hmac_hex,
    money,
    plain_text,
    split_title,
)

PAGE_SIZE = 60  # Salla's maximum per_page
STATUS = {
    "under_review": "pending",
    "in_progress": "confirmed",
    "completed": "delivered",
    "delivering": "shipped",
    "delivered": "delivered",
    "shipped": "shipped",
    "canceled": "cancelled",
    "cancelled": "cancelled",
    "restored": "returned",
    "restoring": "returned",
}


class SallaConnector(Connector):
    platform = "salla"
    default_base_url = "https://api.salla.dev/admin/v2"

    def headers(self) -> dict[str, str]:
        self.ensure_fresh_token()
        return {"Authorization": f"Bearer {self.credentials.get('access_token', '')}", "Accept": "application/json"}

    # --- OAuth refresh ----------------------------------------------------------------------------
    REFRESH_MARGIN = 300  # seconds before expiry
    REFRESH_LOCK_SECONDS = 60

    def _stale(self) -> bool:
        expires = self.credentials.get("expires")
        try:
            return bool(expires) and float(expires) - time.time() < self.REFRESH_MARGIN
        except (TypeError, ValueError):
            return False

    def _reload(self) -> None:
        from integrations.models import PlatformConnection

        fresh = PlatformConnection.objects.filter(id=self.connection.pk).values_list("credentials", flat=True).first()
        if fresh:
            self.connection.credentials = fresh
            self.credentials = json.loads(fresh)

    def ensure_fresh_token(self) -> None:
        """Salla refresh tokens are single-use: two parallel refreshes would revoke both. One process
        refreshes under a per-connection lock (cache `add`, atomic in Redis); the others wait for the
        stored result instead of refreshing themselves."""
        if not self._stale() or not self.credentials.get("refresh_token"):
            return
        lock = f"salla-refresh:{self.connection.pk}"
        if not cache.add(lock, "1", self.REFRESH_LOCK_SECONDS):
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self._stale():
                time.sleep(0.2)
                self._reload()
            return
        try:
            self._reload()
            if self._stale():
                self._refresh()
        finally:
            cache.delete(lock)

    def _refresh(self) -> None:
        from kaleem.http import provider_request

        response = provider_request(
            "POST",
            getattr(settings, "SALLA_OAUTH_TOKEN_URL", "https://accounts.salla.sa/oauth2/token"),
            provider="salla",
            max_attempts=1,  # never replay a single-use refresh token
            timeout=15.0,
            data={
                "grant_type": "refresh_token",
                "refresh_token": self.credentials["refresh_token"],
                "client_id": getattr(settings, "SALLA_CLIENT_ID", ""),
                "client_secret": getattr(settings, "SALLA_CLIENT_SECRET", ""),
            },
        )
        body = response.json()
        expires_in = body.get("expires_in")
        updated = {
            **self.credentials,
            "access_token": body.get("access_token", ""),
            "refresh_token": body.get("refresh_token", self.credentials.get("refresh_token", "")),
            "expires": int(time.time() + float(expires_in)) if expires_in else body.get("expires"),
        }
        from integrations.models import PlatformConnection

        PlatformConnection.objects.filter(id=self.connection.pk).update(credentials=json.dumps(updated))
        self.credentials = updated

    def connect(self) -> dict:
        return self.request("GET", f"{self.base_url}/store/info").json().get("data") or {}

    WEBHOOK_EVENTS = ("product.created", "product.updated", "product.deleted", "order.created", "order.updated")

    def register_webhooks(self, callback_url: str) -> list[str]:
        for event in self.WEBHOOK_EVENTS:
            body = {"name": f"kaleem {event}", "event": event, "url": callback_url, "version": 2}
            if self.credentials.get("webhook_token"):
                body["security_strategy"] = "token"
                body["secret"] = self.credentials["webhook_token"]
            elif self.credentials.get("webhook_secret"):
                body["security_strategy"] = "signature"
                body["secret"] = self.credentials["webhook_secret"]
            self.request("POST", f"{self.base_url}/webhooks/subscribe", json=body)
        return list(self.WEBHOOK_EVENTS)

    def list_products(self, cursor: str | None = None) -> ProductPage:
        page = int(cursor or 1)
        body = self.request("GET", f"{self.base_url}/products", params={"page": page, "per_page": PAGE_SIZE}).json()
        pagination = body.get("pagination") or {}
        items = [self.parse_product(p) for p in body.get("data") or []]
        total_pages = int(pagination.get("totalPages") or 0)
        more = page < total_pages if total_pages else bool(items) and len(items) >= PAGE_SIZE
        return ProductPage(items, str(page + 1) if more else None, pagination.get("total"))

    def fetch_product(self, external_id: str) -> ExternalProduct | None:
        data = self.request("GET", f"{self.base_url}/products/{external_id}").json().get("data")
        return self.parse_product(data) if data else None

    def order_status(self, number: str) -> dict | None:
        body = self.request(
            "GET", f"{self.base_url}/orders", params={"keyword": number.lstrip("#")}, **INTERACTIVE
        ).json()
        for order in body.get("data") or []:
            if str(order.get("reference_id")) == number.lstrip("#") or str(order.get("id")) == number:
                slug = ((order.get("status") or {}).get("slug")) or ""
                return {
                    "number": str(order.get("reference_id")),
                    "status": STATUS.get(slug, "pending"),
                    "external_id": str(order.get("id")),
                }
        return None

    def verify_webhook(self, headers: Any, body: bytes) -> None:
        strategy = (headers.get("X-Salla-Security-Strategy") or "Signature").lower()
        if strategy == "token":
            token = self.credentials.get("webhook_token", "")
            given = headers.get("Authorization", "")
            given = given[7:] if given.lower().startswith("bearer ") else given
            if token and given and hmac.compare_digest(token, given.strip()):
                return
            raise WebhookRejected("bad Salla token")
        secret = self.credentials.get("webhook_secret", "")
        given = headers.get("X-Salla-Signature", "")
        if secret and given and hmac.compare_digest(hmac_hex(secret, body), given.lower()):
            return
        raise WebhookRejected("bad X-Salla-Signature")

    def parse_webhook(self, headers: Any, body: bytes, query: dict) -> WebhookEnvelope:
        envelope = json.loads(body)
        event = str(envelope.get("event", ""))
        data = envelope.get("data") or {}
        external_id = str(data.get("id", ""))
        key = f"salla:{envelope.get('merchant')}:{event}:{external_id}:{hashlib.sha256(body).hexdigest()}"
        if event in ("product.created", "product.updated"):
            kind = "upsert"
        elif event == "product.deleted":
            kind = "delete"
        elif event.startswith("order."):
            kind = "order"
        elif event == "app.store.authorize":
            kind = "authorize"
        else:
            kind = "ignore"
        return WebhookEnvelope(event, key[:255], kind, data, external_id)

    def parse_order(self, data: dict) -> dict:
        customer = data.get("customer") or {}
        amounts = data.get("amounts") or {}
        slug = (data.get("status") or {}).get("slug", "")
        return {
            "external_id": str(data.get("id")),
            "number": str(data.get("reference_id") or data.get("id")),
            "status": STATUS.get(slug, "pending"),
            "currency": ((amounts.get("total") or {}).get("currency")) or "SAR",
            "total": str(money(amounts.get("total"))),
            "customer": {
                "name": " ".join(filter(None, [customer.get("first_name"), customer.get("last_name")])),
                "phone": customer.get("mobile") or "",
                "email": customer.get("email") or "",
            },
            "items": [
                {
                    "sku": i.get("sku"),
                    "title": i.get("name"),
                    "quantity": i.get("quantity"),
                    "price": money(
                        i.get("amounts", {}).get("price_without_tax") if isinstance(i.get("amounts"), dict) else 0
                    ),
                }
                for i in data.get("items") or []
            ],
        }

    def parse_product(self, data: dict) -> ExternalProduct:
        name = data.get("name") or ""
        if isinstance(name, dict):
            title_ar, title_en = str(name.get("ar") or "")[:300], str(name.get("en") or "")[:300]
        else:
            title_ar, title_en = split_title(name)
        price = money(data.get("price"))
        sale = money(data.get("sale_price")) if data.get("sale_price") else None
        image = (data.get("main_image") or "") if isinstance(data.get("main_image"), str) else ""
        images = (
            [image]
            if image
            else [i.get("url") for i in data.get("images") or [] if isinstance(i, dict) and i.get("url")]
        )
        quantity = data.get("quantity")
        unlimited = bool(data.get("unlimited_quantity"))
        return ExternalProduct(
            external_id=str(data.get("id")),
            title=title_ar or title_en,
            title_ar=title_ar,
            title_en=title_en,
            sku=str(data.get("sku") or "")[:100],
            description=plain_text(data.get("description") or ""),
            price=price,
            sale_price=sale if sale and 0 < sale < price else None,
            currency=((data.get("price") or {}).get("currency") if isinstance(data.get("price"), dict) else None)
            or "SAR",
            stock=999 if unlimited else int(quantity or 0),
            active=str(data.get("status") or "sale") in ("sale", "out"),
            images=[i for i in images if i][:10],
            tags=[str(t.get("name") if isinstance(t, dict) else t) for t in data.get("tags") or []][:50],
        )

    def authorize(self, data: dict) -> dict:
        """Easy mode: app.store.authorize carries the tokens; store them encrypted."""
        return {
            **self.credentials,
            "access_token": data.get("access_token", ""),
            "refresh_token": data.get("refresh_token", ""),
            "expires": data.get("expires"),
            "scope": data.get("scope", ""),
        }
