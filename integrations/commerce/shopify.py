"""Shopify: Admin GraphQL with cursor pagination and cost-based throttling; REST-shaped webhooks
verified with base64 HMAC-SHA256 of the raw body (`X-Shopify-Hmac-Sha256`), deduplicated on
`X-Shopify-Webhook-Id`. During a secret rotation both the current and the previous secret verify."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

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

API_VERSION = "2025-01"
PAGE_SIZE = 250
MAX_THROTTLE_WAITS = 10

PRODUCTS_QUERY = """
query($first: Int!, $after: String) {
  products(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id legacyResourceId title status descriptionHtml productType tags handle updatedAt
      featuredImage { url }
      variants(first: 1) { nodes { id legacyResourceId sku price compareAtPrice inventoryQuantity } }
    }
  }
}"""
PRODUCT_QUERY = PRODUCTS_QUERY.replace("products(first: $first, after: $after) {", "product(id: $id) {")
ORDER_QUERY = """
query($q: String!) { orders(first: 1, query: $q) { nodes { id name displayFinancialStatus displayFulfillmentStatus cancelledAt } } }"""

WEBHOOK_TOPICS = ("PRODUCTS_CREATE", "PRODUCTS_UPDATE", "PRODUCTS_DELETE", "ORDERS_CREATE", "ORDERS_UPDATED")
SUBSCRIBE_MUTATION = """
mutation($topic: WebhookSubscriptionTopic!, $url: URL!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) {
    webhookSubscription { id } userErrors { field message }
  }
}"""

FULFILLMENT_STATUS = {"FULFILLED": "shipped", "IN_PROGRESS": "confirmed", "PARTIALLY_FULFILLED": "shipped"}


class ShopifyThrottled(Exception):
    pass


class ShopifyConnector(Connector):
    platform = "shopify"

    @property
    def default_base_url(self) -> str:  # type: ignore[override]
        return f"https://{self.connection.shop_domain}"

    def headers(self) -> dict[str, str]:
        return {"X-Shopify-Access-Token": self.credentials.get("access_token", ""), "Content-Type": "application/json"}

    @property
    def graphql_url(self) -> str:
        return f"{self.base_url}/admin/api/{self.connection.api_version or API_VERSION}/graphql.json"

    def graphql(self, query: str, variables: dict, **http: Any) -> dict:
        """POST a query; a THROTTLED answer waits for the bucket to refill (restoreRate) and retries."""
        for _ in range(MAX_THROTTLE_WAITS):
            body = self.request("POST", self.graphql_url, json={"query": query, "variables": variables}, **http).json()
            errors = body.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                status = ((body.get("extensions") or {}).get("cost") or {}).get("throttleStatus") or {}
                needed = float(((body.get("extensions") or {}).get("cost") or {}).get("requestedQueryCost") or 50)
                available = float(status.get("currentlyAvailable") or 0)
                rate = float(status.get("restoreRate") or 50) or 50
                time.sleep(min(max((needed - available) / rate, 0.05), 10.0))
                continue
            if errors:
                raise ValueError(f"shopify graphql error: {errors[0].get('message', '')[:200]}")
            return body.get("data") or {}
        raise ShopifyThrottled("shopify: still throttled")

    def connect(self) -> dict:
        data = self.graphql("{ shop { name myshopifyDomain currencyCode } }", {})
        return data.get("shop") or {}

    def register_webhooks(self, callback_url: str) -> list[str]:
        done = []
        for topic in WEBHOOK_TOPICS:
            result = self.graphql(SUBSCRIBE_MUTATION, {"topic": topic, "url": callback_url})
            errors = (result.get("webhookSubscriptionCreate") or {}).get("userErrors") or []
            # "already taken": the subscription exists (re-connect) — that is the state we want
            if errors and not all("taken" in str(e.get("message", "")).lower() for e in errors):
                raise ValueError(f"shopify: {topic}: {errors[0].get('message', '')[:200]}")
            done.append(topic)
        return done

    def list_products(self, cursor: str | None = None) -> ProductPage:
        data = self.graphql(PRODUCTS_QUERY, {"first": PAGE_SIZE, "after": cursor})
        products = data.get("products") or {}
        info = products.get("pageInfo") or {}
        items = [self.parse_product(node) for node in products.get("nodes") or []]
        return ProductPage(items, info.get("endCursor") if info.get("hasNextPage") else None)

    def fetch_product(self, external_id: str) -> ExternalProduct | None:
        data = self.graphql(PRODUCT_QUERY, {"id": f"gid://shopify/Product/{external_id}"})
        node = data.get("product")
        return self.parse_product(node) if node else None

    def order_status(self, number: str) -> dict | None:
        name = number if number.startswith("#") else f"#{number.lstrip('#')}"
        nodes = (self.graphql(ORDER_QUERY, {"q": f"name:{name}"}, **INTERACTIVE).get("orders") or {}).get("nodes") or []
        if not nodes:
            return None
        node = nodes[0]
        status = (
            "cancelled"
            if node.get("cancelledAt")
            else FULFILLMENT_STATUS.get(node.get("displayFulfillmentStatus") or "", "pending")
        )
        return {
            "number": node.get("name", name),
            "status": status,
            "external_id": str(node.get("id", "")).rsplit("/", 1)[-1],
        }

    # --- webhooks -------------------------------------------------------------------------------
    def verify_webhook(self, headers: Any, body: bytes) -> None:
        given = headers.get("X-Shopify-Hmac-Sha256", "")
        secrets = [self.credentials.get("webhook_secret"), self.credentials.get("previous_webhook_secret")]
        for secret in filter(None, secrets):
            expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
            if given and hmac.compare_digest(expected, given):
                return
        raise WebhookRejected("bad X-Shopify-Hmac-Sha256")

    def parse_webhook(self, headers: Any, body: bytes, query: dict) -> WebhookEnvelope:
        topic = headers.get("X-Shopify-Topic", "")
        data = json.loads(body)
        webhook_id = headers.get("X-Shopify-Webhook-Id") or hashlib.sha256(body).hexdigest()
        external_id = str(data.get("id", ""))
        kind = {
            "products/create": "upsert",
            "products/update": "upsert",
            "products/delete": "delete",
            "orders/create": "order",
            "orders/updated": "order",
        }.get(topic, "ignore")
        return WebhookEnvelope(topic, f"shopify:{webhook_id}", kind, data, external_id)

    def parse_order(self, data: dict) -> dict:
        status = (
            "cancelled"
            if data.get("cancelled_at")
            else {"fulfilled": "shipped", "partial": "shipped"}.get(
                data.get("fulfillment_status") or "",
                "confirmed" if data.get("financial_status") == "paid" else "pending",
            )
        )
        customer = data.get("customer") or {}
        return {
            "external_id": str(data.get("id")),
            "number": data.get("name") or str(data.get("order_number") or data.get("id")),
            "status": status,
            "currency": data.get("currency") or "SAR",
            "total": str(money(data.get("total_price"))),
            "customer": {
                "name": " ".join(filter(None, [customer.get("first_name"), customer.get("last_name")])),
                "email": data.get("email") or customer.get("email") or "",
                "phone": data.get("phone") or customer.get("phone") or "",
            },
            "items": [
                {
                    "sku": li.get("sku"),
                    "title": li.get("title"),
                    "quantity": li.get("quantity"),
                    "price": li.get("price"),
                }
                for li in data.get("line_items") or []
            ],
        }

    # --- mapping --------------------------------------------------------------------------------
    def parse_product(self, data: dict) -> ExternalProduct:
        """Both shapes: a GraphQL node (pagination) and the REST resource (webhooks)."""
        if "legacyResourceId" in data or str(data.get("id", "")).startswith("gid://"):
            variants = (data.get("variants") or {}).get("nodes") or []
            variant = variants[0] if variants else {}
            external_id = str(data.get("legacyResourceId") or str(data["id"]).rsplit("/", 1)[-1])
            image = (data.get("featuredImage") or {}).get("url")
            images = [image] if image else []
            tags = list(data.get("tags") or [])
            active = str(data.get("status", "ACTIVE")).upper() == "ACTIVE"
            description = plain_text(data.get("descriptionHtml", ""))
            price, compare_at = money(variant.get("price")), variant.get("compareAtPrice")
            variant_id = str(variant.get("legacyResourceId") or str(variant.get("id", "")).rsplit("/", 1)[-1])
        else:
            variants = data.get("variants") or []
            variant = variants[0] if variants else {}
            external_id = str(data.get("id"))
            images = [i.get("src") for i in data.get("images") or [] if i.get("src")]
            raw_tags = data.get("tags") or ""
            tags = (
                [t.strip() for t in raw_tags.split(",") if t.strip()] if isinstance(raw_tags, str) else list(raw_tags)
            )
            active = str(data.get("status", "active")).lower() == "active"
            description = plain_text(data.get("body_html", ""))
            price, compare_at = money(variant.get("price")), variant.get("compare_at_price")
            variant_id = str(variant.get("id") or "")
        compare = money(compare_at) if compare_at else None
        title_ar, title_en = split_title(data.get("title", ""))
        return ExternalProduct(
            external_id=external_id,
            title=data.get("title", ""),
            title_ar=title_ar,
            title_en=title_en,
            sku=str(variant.get("sku") or "")[:100],
            description=description,
            price=compare if compare and compare > price else price,
            sale_price=price if compare and compare > price else None,
            stock=int(variant.get("inventoryQuantity", variant.get("inventory_quantity")) or 0),
            active=active,
            images=images[:10],
            tags=tags[:50],
            product_type=data.get("productType") or data.get("product_type") or "",
            variant_id=variant_id,
        )

    def checkout_url(self, lines: list[dict]) -> str | None:
        """The store's configured checkout page, else its Shopify cart page."""
        if self.connection.checkout_url:
            return self.connection.checkout_url
        return f"https://{self.connection.shop_domain}/cart" if self.connection.shop_domain else None
