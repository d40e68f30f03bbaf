"""A local HTTP server speaking the OpenAI-compatible /v1/embeddings protocol, for tests and benchmarks.

Deterministic vectors (hashed character trigrams), a request counter, and switchable failure modes
(``fail_next`` HTTP errors, ``delay`` for timeouts) so tests see what a real provider would do."""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


def fake_vector(text: str, dimension: int) -> list[float]:
    vec = np.zeros(dimension, dtype=np.float32)
    padded = f"  {text.lower()}  "
    for i in range(len(padded) - 2):
        h = int.from_bytes(hashlib.md5(padded[i : i + 3].encode()).digest()[:4], "little")
        vec[h % dimension] += 1.0
    norm = float(np.linalg.norm(vec)) or 1.0
    return (vec / norm).tolist()


class FakeEmbeddingsServer:
    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension
        self.requests = 0
        self.texts = 0
        self.fail_next = 0
        self.fail_status = 503
        self.delay = 0.0
        self.auth_headers: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests += 1
                server.auth_headers.append(self.headers.get("Authorization", ""))
                if server.delay:
                    time.sleep(server.delay)
                if self.path != "/v1/embeddings":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                if server.fail_next > 0:
                    server.fail_next -= 1
                    self._send(server.fail_status, {"error": {"message": "overloaded"}})
                    return
                inputs = body.get("input") or []
                if isinstance(inputs, str):
                    inputs = [inputs]
                server.texts += len(inputs)
                data = [
                    {"object": "embedding", "index": i, "embedding": fake_vector(t, server.dimension)}
                    for i, t in enumerate(inputs)
                ]
                self._send(200, {"object": "list", "data": data, "model": body.get("model")})

            def _send(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FakeEmbeddingsServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
