"""Local HTTP servers speaking the documented protocols of Shopify (Admin GraphQL), Salla (Merchant
API v2), Zid (products with `next`) and an n8n Webhook node, for tests and benchmarks.

Each fake serves a product list, counts requests, and can answer 429 with Retry-After on chosen
request numbers (the rate limits the real platforms apply)."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class _Server:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.throttle_on: set[int] = set()  # request numbers (1-based) answered with 429
        self.retry_after = "0.1"
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake._lock:
                    fake.requests.append(
                        {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    number = len(fake.requests)
                if number in fake.throttle_on:
                    self._send(429, {"errors": "Too many requests"}, {"Retry-After": fake.retry_after})
                    return
                status, payload, headers = fake.respond(self.command, self.path, dict(self.headers), body)
                self._send(status, payload, headers)

            def _send(self, status: int, payload: Any, headers: dict | None = None) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = _handle
            do_POST = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def respond(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, Any, dict]:
        raise NotImplementedError

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def shopify_node(i: int, *, title: str | None = None, stock: int = 5) -> dict:
    return {
        "id": f"gid://shopify/Product/{9554194400000 + i}",
        "legacyResourceId": str(9554194400000 + i),
        "title": title or f"T-Shirt {i}",
        "status": "ACTIVE",
        "descriptionHtml": f"<p>Cotton shirt number {i}</p>",
        "productType": "Shirts",
        "tags": ["cotton"],
        "handle": f"t-shirt-{i}",
        "updatedAt": "2026-01-01T13:00:00+03:00",
        "featuredImage": {"url": f"https://cdn.shopify.com/p/{i}.jpg"},
        "variants": {
            "nodes": [
                {
                    "id": f"gid://shopify/ProductVariant/{49120000 + i}",
                    "legacyResourceId": str(49120000 + i),
                    "sku": f"TSHIRT-{i:05d}",
                    "price": "29.99",
                    "compareAtPrice": None,
                    "inventoryQuantity": stock,
                }
            ]
        },
    }


class FakeShopify(_Server):
    """POST /admin/api/<v>/graphql.json: `products(first, after)` with opaque cursors, `product(id)`,
    `orders(query)`, `shop`; `throttled_on` request numbers answer a GraphQL THROTTLED error."""

    def __init__(self, count: int = 0, *, token: str = "shpat_test") -> None:
        self.products = [shopify_node(i) for i in range(1, count + 1)]
        self.orders: list[dict] = []
        self.webhooks: list[tuple] = []
        self.token = token
        self.throttled_on: set[int] = set()
        super().__init__()

    def respond(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, Any, dict]:
        if headers.get("X-Shopify-Access-Token") != self.token:
            return 401, {"errors": "[API] Invalid API key or access token"}, {}
        if not path.endswith("/graphql.json"):
            return 404, {"errors": "Not Found"}, {}
        request = json.loads(body or b"{}")
        query, variables = request.get("query", ""), request.get("variables") or {}
        cost = {
            "requestedQueryCost": 52,
            "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 948, "restoreRate": 50.0},
        }
        if len(self.requests) in self.throttled_on:
            cost["throttleStatus"]["currentlyAvailable"] = 40
            return (
                200,
                {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {"cost": cost},
                },
                {},
            )
        if "webhookSubscriptionCreate" in query:
            self.webhooks.append((variables.get("topic"), variables.get("url")))
            node = {
                "webhookSubscription": {"id": f"gid://shopify/WebhookSubscription/{len(self.webhooks)}"},
                "userErrors": [],
            }
            return 200, {"data": {"webhookSubscriptionCreate": node}}, {}
        if "shop {" in query:
            return (
                200,
                {
                    "data": {
                        "shop": {"name": "Demo", "myshopifyDomain": "demo-store.myshopify.com", "currencyCode": "SAR"}
                    }
                },
                {},
            )
        if "orders(" in query:
            name = variables.get("q", "").replace("name:", "")
            nodes = [o for o in self.orders if o["name"] == name]
            return 200, {"data": {"orders": {"nodes": nodes}}}, {}
        if "product(id:" in query:
            node = next((p for p in self.products if p["id"] == variables.get("id")), None)
            return 200, {"data": {"product": node}}, {}
        first = min(int(variables.get("first") or 50), 250)
        start = int(variables["after"].split(":")[1]) if variables.get("after") else 0
        nodes = self.products[start : start + first]
        end = start + len(nodes)
        info = {"hasNextPage": end < len(self.products), "endCursor": f"cursor:{end}" if nodes else None}
        return 200, {"data": {"products": {"pageInfo": info, "nodes": nodes}}, "extensions": {"cost": cost}}, {}


def salla_product(i: int, *, status: str = "sale") -> dict:
    return {
        "id": 1025569000 + i,
        "name": f"ساعة {i}",
        "sku": f"W-{i:04d}",
        "price": {"amount": 299, "currency": "SAR"},
        "sale_price": {"amount": 0, "currency": "SAR"},
        "quantity": 7,
        "status": status,
        "description": "<p>ساعة أنيقة</p>",
        "main_image": f"https://cdn.salla.sa/{i}.jpg",
    }


class FakeSalla(_Server):
    """GET /products?page=&per_page= (max 60) → {status, success, data, pagination{…}}."""

    def __init__(self, count: int = 0, *, token: str = "ory_at_test") -> None:
        self.products = [salla_product(i) for i in range(1, count + 1)]
        self.token = token
        self.refresh_token = "ory_rt_1"
        self.refreshes = 0
        self.webhooks: list[dict] = []
        super().__init__()

    def _oauth(self, body: bytes) -> tuple[int, Any, dict]:
        """POST /oauth2/token, grant_type=refresh_token: single-use refresh tokens, like Salla's."""
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return 400, {"error": "invalid_grant"}, {}
        self.refreshes += 1
        self.token = f"ory_at_{self.refreshes + 1}"
        self.refresh_token = f"ory_rt_{self.refreshes + 1}"
        body = {"access_token": self.token, "refresh_token": self.refresh_token, "expires_in": 1209600}
        return 200, {**body, "token_type": "bearer"}, {}

    def respond(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, Any, dict]:
        if path.startswith("/oauth2/token"):
            time.sleep(0.2)  # a slow token endpoint widens the window for parallel refreshes
            return self._oauth(body)
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"status": 401, "success": False, "error": {"code": "Unauthorized"}}, {}
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path.endswith("/webhooks/subscribe"):
            self.webhooks.append(json.loads(body))
            return 200, {"status": 200, "success": True, "data": {"id": len(self.webhooks)}}, {}
        if parts.path.endswith("/store/info"):
            return 200, {"status": 200, "success": True, "data": {"id": 1305146709, "name": "Demo"}}, {}
        if not parts.path.endswith("/products"):
            return 404, {"status": 404, "success": False}, {}
        page, per_page = int(query.get("page", 1)), min(int(query.get("per_page", 15)), 60)
        total_pages = max((len(self.products) + per_page - 1) // per_page, 1)
        data = self.products[(page - 1) * per_page : page * per_page]
        pagination = {
            "count": len(data),
            "total": len(self.products),
            "perPage": per_page,
            "currentPage": page,
            "totalPages": total_pages,
            "links": {},
        }
        return 200, {"status": 200, "success": True, "data": data, "pagination": pagination}, {}


def zid_product(i: int) -> dict:
    return {
        "id": f"a1477bb2-72ea-4be9-b2cf-{i:012d}",
        "sku": f"Z.{i}",
        "name": {"ar": f"عطر {i}", "en": f"Perfume {i}"},
        "price": 100.0,
        "sale_price": None,
        "quantity": 4,
        "is_published": True,
        "description": {"ar": "عطر شرقي", "en": "Oriental perfume"},
        "images": [{"image": {"full_size": f"https://media.zid.store/{i}.jpg"}}],
    }


class FakeZid(_Server):
    """GET /products/?page=&page_size= → {count, next (absolute URL), previous, results}."""

    def __init__(self, count: int = 0, *, token: str = "zid_manager") -> None:
        self.products = [zid_product(i) for i in range(1, count + 1)]
        self.webhooks: list[dict] = []
        self.token = token
        super().__init__()

    def respond(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, Any, dict]:
        if headers.get("Access-Token") != self.token or headers.get("Role") != "Manager":
            return 401, {"message": "unauthorized"}, {}
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path.endswith("/managers/webhooks") and method == "POST":
            self.webhooks.append(json.loads(body))
            return 201, {"id": len(self.webhooks), "status": "pending"}, {}
        if parts.path.endswith("/managers/account/profile"):
            return 200, {"user": {"store": {"id": 3121837}}}, {}
        if parts.path.rstrip("/").endswith("/products"):
            page, size = int(query.get("page", 1)), int(query.get("page_size", 15))
            data = self.products[(page - 1) * size : page * size]
            more = page * size < len(self.products)
            base = f"{self.url}{parts.path}"
            return (
                200,
                {
                    "count": len(self.products),
                    "next": f"{base}?page={page + 1}&page_size={size}" if more else None,
                    "previous": None,
                    "results": data,
                },
                {},
            )
        return 404, {"message": "not found"}, {}


class FakeN8n(_Server):
    """An n8n Webhook node: records deliveries; `down` answers 503 (the workflow is inactive)."""

    def __init__(self) -> None:
        self.down = False
        self.received: list[dict] = []
        super().__init__()

    def respond(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, Any, dict]:
        if self.down:
            return 503, {"message": "Workflow could not be started"}, {}
        self.received.append({"headers": headers, "body": body, "path": path})
        return 200, {"message": "Workflow got started"}, {}
