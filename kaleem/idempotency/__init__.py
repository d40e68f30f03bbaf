from drf_spectacular.utils import OpenApiParameter

from kaleem.idempotency.decorators import idempotent

# add to extend_schema(parameters=[...]) of every @idempotent endpoint so clients see the header
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe key (≤255 chars, kept 24 h): same key + same body replays the first response; "
    "a different body answers 422; a request still in flight answers 409.",
)

__all__ = ["IDEMPOTENCY_KEY_PARAMETER", "idempotent"]
