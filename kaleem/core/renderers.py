"""The API's JSON renderer: DRF's output, produced by orjson.

orjson encodes dicts, lists, strings, UUIDs and datetimes in C, so a list page no longer pays a Python
call per value. Output matches DRF's JSONRenderer (compact, UTF-8, `Z` for UTC, U+2028/U+2029 escaped);
anything orjson cannot encode natively goes through DRF's own encoder, and the rare payload orjson
refuses altogether (integers beyond 64 bits) is rendered by DRF's renderer."""

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class _Encoder(JSONEncoder):
    """DRF's encoder, plus stored JSON embedded by `kaleem.core.stored.json_document`."""

    def default(self, obj: Any) -> Any:
        if isinstance(obj, orjson.Fragment):
            return orjson.loads(orjson.dumps(obj))
        return super().default(obj)


_fallback_encoder = _Encoder()


class FastJSONRenderer(JSONRenderer):
    encoder_class = _Encoder

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None or not self.strict:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_fallback_encoder.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        if _LINE_SEPARATOR in body or _PARAGRAPH_SEPARATOR in body:  # keep the output a strict JavaScript subset
            body = body.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return body
