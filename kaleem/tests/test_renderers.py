"""The API renderer must produce exactly what DRF's JSONRenderer produces, only faster."""

import datetime
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from kaleem.core.renderers import FastJSONRenderer

RIYADH = zoneinfo.ZoneInfo("Asia/Riyadh")
PAYLOADS = [
    {"results": [{"id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "n": 1, "ok": True, "none": None}]},
    {"title": "جزمة رياضية سوداء", "emoji": "👟", "quote": 'a "b" \\ c', "ctrl": "tab\there\nnew"},
    {"utc": datetime.datetime(2026, 11, 22, 2, 30, 24, 123456, tzinfo=datetime.UTC)},
    {"riyadh": datetime.datetime(2026, 11, 22, 5, 30, 24, tzinfo=RIYADH), "date": datetime.date(2026, 1, 2)},
    {"naive": datetime.datetime(2026, 11, 22, 5, 30), "time": datetime.time(13, 5, 1)},
    {"price": Decimal("199.50"), "float": 0.1, "big": 2**63 - 1, "neg": -5},
    {"lazy": gettext_lazy("Saved."), "tuple": (1, 2), "set_like": frozenset()},
    {"js_unsafe": "line\u2028para\u2029end"},
    {"huge": 2**70},
    [],
    {"nested": {"a": [{"b": {"c": [1, "٢", None]}}]}},
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_fast_renderer_output_is_byte_identical_to_drf(payload):
    assert FastJSONRenderer().render(payload) == JSONRenderer().render(payload)


def test_pretty_printing_on_request_still_works():
    body = FastJSONRenderer().render({"a": 1}, "application/json; indent=2")
    assert body == b'{\n  "a": 1\n}'


def test_api_responses_use_the_fast_renderer(client):
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"
    assert r.renderer_context["response"].accepted_renderer.__class__ is FastJSONRenderer
