import pytest
from django.core.management import CommandError, call_command

from catalog.models import Product
from catalog.search import backend
from catalog.services import product_create

pytestmark = pytest.mark.django_db


def test_import_products_command(owner, tmp_path, capsys):
    _, merchant, _ = owner
    path = tmp_path / "p.csv"
    path.write_bytes("sku,title_ar,price\nC1,عباية,300\nC2,ثوب,abc\n".encode("cp1256"))
    call_command("import_products", str(path), merchant=merchant.slug)
    out = capsys.readouterr().out
    assert "1 products imported" in out and "row 3" in out
    assert Product.objects.get(merchant=merchant, sku="C1").title_ar == "عباية"
    with pytest.raises(CommandError):
        call_command("import_products", str(tmp_path / "none.csv"), merchant=merchant.slug)
    with pytest.raises(CommandError):
        call_command("import_products", str(path), merchant="no-such-store")


def test_check_index_reports_drift_and_reindex_fixes_it(owner, relay, capsys):
    _, merchant, _ = owner
    a = product_create(merchant=merchant, data={"sku": "D1", "title_en": "Desk lamp", "price": 40})
    b = product_create(merchant=merchant, data={"sku": "D2", "title_en": "Floor lamp", "price": 90})
    relay()
    call_command("check_index", merchant=merchant.slug)
    assert "index in sync" in capsys.readouterr().out
    backend.vector_delete(kind="products", merchant_id=merchant.pk, ids=[str(a.id)])  # lost vector
    Product.objects.filter(id=b.id).update(price=10)  # changed behind the outbox's back
    with pytest.raises(CommandError):
        call_command("check_index", merchant=merchant.slug)
    out = capsys.readouterr().out
    assert "1 missing" in out and "1 outdated" in out
    call_command("reindex_catalog", merchant=merchant.slug)
    call_command("check_index", merchant=merchant.slug)
    assert "index in sync" in capsys.readouterr().out
