"""The single qdrant-client instance of the process: local mode (var/qdrant) or a server by URL."""

import threading
from functools import lru_cache

from django.conf import settings
from qdrant_client import QdrantClient

_lock = threading.Lock()


@lru_cache(maxsize=1)
def qdrant_client() -> QdrantClient:
    with _lock:
        if settings.QDRANT_URL:
            return QdrantClient(url=settings.QDRANT_URL, api_key=settings.QDRANT_API_KEY or None, timeout=5)
        if settings.QDRANT_PATH == ":memory:":
            return QdrantClient(location=":memory:")
        return QdrantClient(path=settings.QDRANT_PATH)
