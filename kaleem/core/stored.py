"""Column values as the database stores them, for hot list reads that go straight to JSON.

Django turns every UUID and JSON value it reads into Python objects (a `uuid.UUID`, a parsed
document), which the API renderer then turns straight back into text. On a 50-row page that round
trip cost more CPU than running the query, so hot list selectors read those columns as stored
(`as_stored`) and the output step emits them with `uuid_text` / `json_document`. Each helper accepts
what every supported backend stores: SQLite hands back text, PostgreSQL a `uuid.UUID` and JSON text,
MongoDB a UUID or bytes and an embedded document; a stored time comes back naive (UTC) from SQLite
and MongoDB, aware from PostgreSQL."""

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from django.db import models
from django.db.models import ExpressionWrapper, F


def as_stored(field_name: str) -> ExpressionWrapper:
    """`field_name` selected without the field's value converters (for `.values(alias=as_stored(...))`)."""
    return ExpressionWrapper(F(field_name), output_field=models.TextField())


def uuid_text(value: Any) -> str | None:
    """The canonical 36-character form of a stored UUID (SQLite keeps 32 hex digits)."""
    if value is None:
        return None
    if isinstance(value, str):
        if len(value) == 32:
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
        return str(uuid.UUID(value))
    if isinstance(value, bytes | bytearray):
        return str(uuid.UUID(bytes=bytes(value)))
    return str(value)


def json_document(value: Any) -> Any:
    """A stored JSON document ready for `FastJSONRenderer`: stored text is embedded as-is (an
    `orjson.Fragment`, so it is neither parsed nor re-encoded); a decoded document passes through."""
    if isinstance(value, str | bytes):
        return orjson.Fragment(value)
    return value


def aware_datetime(value: Any) -> datetime | None:
    """A stored time as an aware datetime (the database keeps UTC; some drivers drop the zone)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
