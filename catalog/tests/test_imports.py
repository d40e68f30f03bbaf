import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from catalog.choices import ImportState
from catalog.imports import detect_encoding, import_run_stream
from catalog.models import ImportJob, Product

pytestmark = pytest.mark.django_db

HEADER = "sku,title_ar,title_en,price,sale_price,stock,category,tags,attributes,colour\n"


def _run(merchant, data: bytes, fmt: str = "csv") -> ImportJob:
    job = ImportJob.objects.create(merchant=merchant, filename=f"f.{fmt}", format=fmt, state=ImportState.RUNNING)
    return import_run_stream(job=job, raw=io.BytesIO(data))


def test_csv_good_and_bad_rows_reported(owner):
    _, merchant, _ = owner
    data = (
        HEADER
        + 'A1,حذاء,Shoe,100,80,5,أحذية,"sport|men","{""size"": ""42""}",أسود\n'
        + "A2,,Bag,abc,,1,,,,\n"  # non-numeric price
        + "A3,عطر,,١٥٠,,0,عطور,,,\n"  # Arabic-Indic digits are fine
        + "A1,حذاء مكرر,,90,,1,,,,\n"  # duplicate SKU in file
        + ",بلا رمز,,10,,1,,,,\n"  # missing SKU
        + "A4,ثوب,,100,150,1,,,,\n"  # sale > price
        + "A5,شماغ,,50,,x,,,,\n"  # stock not a number
    ).encode()
    job = _run(merchant, data)
    assert job.state == ImportState.DONE
    assert (job.created_count, job.updated_count, job.error_count, job.processed_rows) == (2, 0, 5, 7)
    reasons = {e["row"]: e["reason"] for e in job.errors}
    assert "price is not a number" in reasons[3]
    assert "duplicate SKU" in reasons[5] and "row 2" in reasons[5]
    assert reasons[6] == "missing SKU"
    assert "sale_price" in reasons[7]
    assert "stock" in reasons[8]
    a1 = Product.objects.get(merchant=merchant, sku="A1")
    assert a1.tags == ["sport", "men"] and a1.attributes == {"colour": "أسود", "size": "42"}
    assert a1.category.name_ar == "أحذية" and a1.sale_price == 80
    a3 = Product.objects.get(merchant=merchant, sku="A3")
    assert a3.price == 150 and a3.in_stock is False


def test_reimport_updates_by_sku(owner):
    _, merchant, _ = owner
    _run(merchant, (HEADER + "A1,حذاء,Shoe,100,,5,,,,\n").encode())
    job = _run(merchant, (HEADER + "A1,حذاء جديد,Shoe,120,,5,,,,\n").encode())
    assert (job.created_count, job.updated_count) == (0, 1)
    assert Product.objects.get(merchant=merchant, sku="A1").price == 120


def test_windows_1256_arabic_is_detected(owner):
    _, merchant, _ = owner
    data = "sku,الاسم,السعر\nW1,عباية سوداء,250\n".encode("cp1256")
    assert detect_encoding(data) == "cp1256"
    job = _run(merchant, data)
    assert job.state == ImportState.DONE and job.encoding == "cp1256" and job.created_count == 1
    assert Product.objects.get(merchant=merchant, sku="W1").title_ar == "عباية سوداء"


def test_utf8_bom_and_arabic_headers_in_any_order(owner):
    _, merchant, _ = owner
    data = "\ufeffالسعر,الاسم,رمز المنتج,الكمية,خامة\n99,شنطة,B1,3,جلد\n".encode()
    job = _run(merchant, data)
    assert job.created_count == 1, job.errors
    product = Product.objects.get(merchant=merchant, sku="B1")
    assert product.stock == 3 and product.attributes == {"خامة": "جلد"}  # unknown column kept as attribute


def test_missing_required_columns_fail_the_file(owner):
    _, merchant, _ = owner
    job = _run(merchant, b"sku,title_en\nX,Thing\n")
    assert job.state == ImportState.FAILED and "price" in job.message
    assert not Product.objects.filter(merchant=merchant).exists()


def test_zero_byte_file(owner):
    _, merchant, _ = owner
    job = _run(merchant, b"")
    assert job.state == ImportState.FAILED and "empty" in job.message


def test_row_limit(owner):
    _, merchant, _ = owner
    rows = "".join(f"R{i},منتج {i},,10,,1,,,,\n" for i in range(5))
    with override_settings(CATALOG_IMPORT_MAX_ROWS=3):
        job = _run(merchant, (HEADER + rows).encode())
    assert job.created_count == 3 and "more than 3" in job.message


def test_json_array_and_jsonl(owner):
    _, merchant, _ = owner
    items = [
        {"sku": "J1", "title_en": "Oud", "price": 300, "tags": ["oud"], "attributes": {"size": "100ml"}},
        {"sku": "J2", "title_en": "Musk", "price": "x"},
        "not an object",
        {"sku": "J3", "title_ar": "مسك", "price": 80.5, "category": {"name": "عطور"}},
    ]
    job = _run(merchant, json.dumps(items, ensure_ascii=False).encode(), fmt="json")
    assert (job.created_count, job.error_count) == (2, 2)
    assert {e["row"] for e in job.errors} == {2, 3}
    lines = "\n".join(json.dumps(i, ensure_ascii=False) for i in items[:2]) + "\n{broken\n"
    job = _run(merchant, lines.encode(), fmt="jsonl")
    assert job.updated_count == 1 and job.error_count == 2


def test_json_not_an_array(owner):
    _, merchant, _ = owner
    job = _run(merchant, b'"hello"', fmt="json")
    assert job.state == ImportState.FAILED


def test_api_upload_runs_task_and_reports(owner, django_capture_on_commit_callbacks):
    client, merchant, _ = owner
    upload = SimpleUploadedFile("products.csv", (HEADER + "U1,حذاء,Shoe,100,,5,,,,\nU2,,,1,,,,,,\n").encode())
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post("/api/v1/catalog/imports", {"file": upload}, format="multipart")
    assert res.status_code == 202, res.json()
    job = client.get(f"/api/v1/catalog/imports/{res.json()['id']}").json()
    assert job["state"] == "done" and job["created_count"] == 1 and job["error_count"] == 1
    assert job["errors"][0]["row"] == 3 and "title" in job["errors"][0]["reason"]


def test_api_refuses_empty_and_oversized(owner):
    client, _, _ = owner
    res = client.post("/api/v1/catalog/imports", {"file": SimpleUploadedFile("e.csv", b"")}, format="multipart")
    assert res.status_code == 400
    with override_settings(CATALOG_IMPORT_MAX_BYTES=10):
        res = client.post(
            "/api/v1/catalog/imports", {"file": SimpleUploadedFile("big.csv", b"x" * 11)}, format="multipart"
        )
    assert res.status_code == 413 and res.json()["error"]["code"] == "file_too_large"
    assert client.post("/api/v1/catalog/imports", {}, format="multipart").status_code == 400


def test_batch_conflict_falls_back_to_rows(owner):
    """A batch that hits a unique conflict is replayed row by row: good rows land, the bad one is reported."""
    _, merchant, _ = owner
    Product.objects.create(merchant=merchant, sku="OLD", title_en="x", price=1, source="import", external_id="E1")
    data = b"sku,title_en,price,external_id\nN1,New,5,\nN2,Clash,5,E1\nN3,New3,5,\n"
    job = _run(merchant, data)
    assert job.created_count == 2 and job.error_count == 1
    assert job.errors[0]["row"] == 3
    assert set(Product.objects.filter(merchant=merchant).values_list("sku", flat=True)) == {"OLD", "N1", "N3"}
