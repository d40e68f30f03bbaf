"""kaleem.core.fields.JSONField reads back exactly what models.JSONField would."""

import json

import pytest
from django.db import models

from kaleem.core.fields import JSONField
from kaleem.testing.factories import MerchantFactory
from merchants.models import AuditLog

DOCUMENTS = [
    {},
    {"fields": ["price", "title"], "n": 3, "ok": True, "none": None},
    {"title": "جزمة رياضية سوداء", "emoji": "👟", "nested": {"a": [1, 2.5, "٣", -0.0, 1e300]}},
    [1, "two", {"three": 3}],
    "plain string",
    12345,
    {"huge": 2**70},
    {"nan": float("nan"), "inf": float("inf")},
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_parses_stored_text_like_djangos_json_field(document):
    stored_text = json.dumps(document)
    ours = JSONField().from_db_value(stored_text, None, None)
    assert repr(ours) == repr(models.JSONField().from_db_value(stored_text, None, None))


def test_text_that_is_not_json_comes_back_unchanged_as_in_django():
    assert JSONField().from_db_value("{not json", None, None) == "{not json"
    assert JSONField().from_db_value(None, None, None) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "document", [d for d in DOCUMENTS if not (isinstance(d, dict) and ("nan" in d or "title" in d))]
)
def test_audit_data_round_trips_through_the_database(document):
    entry = AuditLog.objects.create(merchant=MerchantFactory(), action="test.stored", data=document)
    assert AuditLog.objects.get(pk=entry.pk).data == document
    assert type(AuditLog._meta.get_field("data")) is JSONField


@pytest.mark.django_db
def test_key_lookups_still_work():
    merchant = MerchantFactory()
    AuditLog.objects.create(merchant=merchant, action="test.stored", data={"fields": ["price"], "by": "import"})
    assert AuditLog.objects.filter(merchant=merchant, data__by="import").count() == 1
    assert list(AuditLog.objects.filter(merchant=merchant).values_list("data__by", flat=True)) == ["import"]
