"""A local HTTP server that speaks the provider APIs we call (Telegram Bot API, WhatsApp Cloud
Graph, Messenger/Instagram Graph): documented success and error bodies, and can be told to answer
429 with Retry-After, 500, or hang. Used by the tests and the benchmark; loopback only.

    fake = FakeProviders().start()
    fake.fail_next(429, retry_after=1)       # next send answers 429
    fake.accept_then_hang_next(120)          # next send is accepted (recorded), its answer never comes
    fake.sends                               # accepted sends, in order
"""

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Scripted:
    status: int
    retry_after: float | None = None
    hang: float = 0.0
    body: Any = None


@dataclass
class Send:
    provider: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    query: dict[str, list[str]] = field(default_factory=dict)
    at: float = 0.0


class FakeProviders:
    def __init__(self, *, valid_tokens: set[str] | None = None) -> None:
        self.lock = threading.Lock()
        self.sends: list[Send] = []
        self.calls: list[tuple[str, str]] = []  # every request (method, path), including failures
        self.script: list[Scripted] = []
        self.media_hang = 0.0
        self.accept_hang: list[float] = []  # sends accepted, then answered only after this delay
        self.valid_tokens = valid_tokens  # None = accept any token
        self.templates: list[dict[str, Any]] = []
        self.webhooks_set: list[dict[str, Any]] = []
        self.callback_answers: list[str] = []
        self._ids = itertools.count(1000)
        self.server: ThreadingHTTPServer | None = None

    # --- control
    def start(self) -> "FakeProviders":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body leave in two writes; with Nagle on, the body waited for the client's
            # delayed ACK (≈ 40 ms per call on a kept-alive connection), which no real provider adds
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                fake._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail_next(self, status: int, *, times: int = 1, retry_after: float | None = None, body: Any = None) -> None:
        with self.lock:
            self.script.extend(Scripted(status, retry_after, 0.0, body) for _ in range(times))

    def pass_next(self, *, times: int = 1) -> None:
        with self.lock:
            self.script.extend(Scripted(0) for _ in range(times))

    def hang_next(self, seconds: float, *, times: int = 1) -> None:
        with self.lock:
            self.script.extend(Scripted(200, None, seconds) for _ in range(times))

    def accept_then_hang_next(self, seconds: float, *, times: int = 1) -> None:
        """The provider accepts the next send(s) (the customer gets it) but the HTTP answer is late:
        what a worker killed mid-call, or a timeout after acceptance, looks like to us."""
        with self.lock:
            self.accept_hang.extend([seconds] * times)

    def reset(self) -> None:
        with self.lock:
            self.sends.clear()
            self.calls.clear()
            self.script.clear()
            self.accept_hang.clear()
            self.media_hang = 0.0

    def _hang_after_accept(self) -> None:
        with self.lock:
            delay = self.accept_hang.pop(0) if self.accept_hang else 0.0
        if delay:
            time.sleep(delay)

    def sends_for(self, provider: str) -> list[Send]:
        with self.lock:
            return [s for s in self.sends if s.provider == provider]

    # --- protocol
    def _handle(self, req: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(req.path)
        path, query = parts.path, parse_qs(parts.query)
        length = int(req.headers.get("Content-Length") or 0)
        raw = req.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        headers = {k: v for k, v in req.headers.items()}
        with self.lock:
            self.calls.append((method, path))
        if path.startswith("/file/bot") or path.startswith("/media-download/"):
            if self.media_hang:
                time.sleep(self.media_hang)
            return self._bytes(req, PNG_BYTES, "image/png")
        if path.startswith("/bot"):
            return self._telegram(req, path, body)
        return self._graph(req, method, path, query, body, headers)

    def _scripted(self) -> Scripted | None:
        with self.lock:
            return self.script.pop(0) if self.script else None

    def _json(self, req: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                req.send_header(k, v)
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _bytes(self, req: BaseHTTPRequestHandler, data: bytes, content_type: str) -> None:
        try:
            req.send_response(200)
            req.send_header("Content-Type", content_type)
            req.send_header("Content-Length", str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _apply_script(self, req: BaseHTTPRequestHandler, provider: str) -> bool:
        """Returns True when a scripted failure was answered (the send is then NOT accepted)."""
        scripted = self._scripted()
        if scripted is None or scripted.status == 0:  # 0 = let this one through
            return False
        if scripted.hang:
            # a hung request is never accepted: by the time it would answer the client gave up
            time.sleep(scripted.hang)
            scripted = Scripted(504)
        status = scripted.status
        headers = {"Retry-After": str(scripted.retry_after)} if scripted.retry_after is not None else {}
        if scripted.body is not None:
            body = scripted.body
        elif provider == "telegram":
            body = {"ok": False, "error_code": status, "description": "Too Many Requests" if status == 429 else "Error"}
            if status == 429:
                body["parameters"] = {"retry_after": scripted.retry_after or 1}
        else:
            code = {429: 130429, 400: 100, 401: 190}.get(status, 1)
            body = {"error": {"message": f"HTTP {status}", "type": "OAuthException", "code": code, "fbtrace_id": "x"}}
        self._json(req, status, body, headers)
        return True

    def _telegram(self, req: BaseHTTPRequestHandler, path: str, body: dict[str, Any]) -> None:
        token, _, api_method = path[len("/bot") :].partition("/")
        if self.valid_tokens is not None and token not in self.valid_tokens:
            return self._json(req, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if api_method == "setWebhook":
            with self.lock:
                self.webhooks_set.append(body)
            return self._json(req, 200, {"ok": True, "result": True, "description": "Webhook was set"})
        if api_method == "getMe":
            return self._json(req, 200, {"ok": True, "result": {"id": 1, "is_bot": True, "username": "demo_bot"}})
        if api_method == "getFile":
            return self._json(
                req, 200, {"ok": True, "result": {"file_id": body.get("file_id"), "file_path": "photos/file_1.png"}}
            )
        if api_method == "answerCallbackQuery":
            with self.lock:
                self.callback_answers.append(str(body.get("callback_query_id")))
            return self._json(req, 200, {"ok": True, "result": True})
        if api_method in ("sendMessage", "sendPhoto"):
            if self._apply_script(req, "telegram"):
                return None
            data = (body.get("reply_markup") or {}).get("inline_keyboard") or []
            for row in data:
                for button in row:
                    if "callback_data" in button and not 1 <= len(button["callback_data"].encode()) <= 64:
                        return self._json(
                            req,
                            400,
                            {"ok": False, "error_code": 400, "description": "Bad Request: BUTTON_DATA_INVALID"},
                        )
            if not body.get("chat_id"):
                return self._json(
                    req, 400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
                )
            message_id = next(self._ids)
            with self.lock:
                self.sends.append(Send("telegram", api_method, body, {}, at=time.time()))
            self._hang_after_accept()
            result = {
                "message_id": message_id,
                "chat": {"id": body.get("chat_id"), "type": "private"},
                "date": int(time.time()),
            }
            return self._json(req, 200, {"ok": True, "result": result})
        return self._json(req, 404, {"ok": False, "error_code": 404, "description": "Not Found"})

    def _graph(
        self,
        req: BaseHTTPRequestHandler,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: dict[str, Any],
        headers: dict[str, str],
    ) -> None:
        token = (headers.get("Authorization") or "").removeprefix("Bearer ").strip() or (
            query.get("access_token") or [""]
        )[0]
        if not token or (self.valid_tokens is not None and token not in self.valid_tokens):
            return self._json(
                req, 401, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
            )
        segments = [s for s in path.split("/") if s]
        if method == "GET" and len(segments) == 2 and segments[1] == "message_templates":
            return self._json(req, 200, {"data": self.templates, "paging": {}})
        if method == "GET" and len(segments) == 1:  # WhatsApp media id → temporary URL
            if self.media_hang:
                time.sleep(self.media_hang)
            return self._json(
                req,
                200,
                {
                    "url": f"{self.url}/media-download/{segments[0]}",
                    "mime_type": "image/png",
                    "id": segments[0],
                    "messaging_product": "whatsapp",
                },
            )
        if method == "POST" and segments[-1] == "messages":
            provider = (
                "whatsapp"
                if body.get("messaging_product") == "whatsapp"
                else ("instagram" if headers.get("Authorization") else "messenger")
            )
            if self._apply_script(req, provider):
                return None
            message_id = next(self._ids)
            with self.lock:
                self.sends.append(Send(provider, path, body, headers, query, at=time.time()))
            self._hang_after_accept()
            if provider == "whatsapp":
                return self._json(
                    req,
                    200,
                    {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                        "messages": [{"id": f"wamid.OUT{message_id}"}],
                    },
                )
            return self._json(
                req, 200, {"recipient_id": (body.get("recipient") or {}).get("id"), "message_id": f"m_OUT{message_id}"}
            )
        return self._json(req, 404, {"error": {"message": "Unknown path", "code": 803}})
