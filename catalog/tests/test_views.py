import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog.models import ImportJob
from catalog.services import product_create
from kaleem.tenancy.middleware import SESSION_KEY

pytestmark = pytest.mark.django_db


def _page_client(user, merchant):
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = str(merchant.pk)
    session.save()
    return client


def test_catalog_page_lists_and_searches(owner, other_owner):
    # SKUs with a hyphen: a random CSRF token in the page can contain any short alphanumeric run
    _, merchant, user = owner
    _, other, _ = other_owner
    product_create(
        merchant=merchant, data={"sku": "MINE-001", "title_ar": "عباية سوداء", "title_en": "Black abaya", "price": 300}
    )
    product_create(merchant=other, data={"sku": "THEIRS-002", "title_ar": "عباية", "title_en": "Abaya", "price": 300})
    client = _page_client(user, merchant)
    res = client.get("/dashboard/catalog/")
    assert res.status_code == 200
    body = res.content.decode()
    assert "MINE-001" in body and "THEIRS-002" not in body
    res = client.get("/dashboard/catalog/", {"q": "عباية تحت 400"})
    body = res.content.decode()
    assert res.status_code == 200 and "MINE-001" in body and "THEIRS-002" not in body and "price_max" in body
    assert "MINE-001" not in client.get("/dashboard/catalog/", {"q": "😀"}).content.decode()


def test_pages_need_login():
    res = Client().get("/dashboard/catalog/")
    assert res.status_code == 302 and "/login" in res["Location"]


def test_import_page_upload_and_progress(owner, other_owner, django_capture_on_commit_callbacks):
    _, merchant, user = owner
    _, other, _ = other_owner
    client = _page_client(user, merchant)
    assert client.get("/dashboard/catalog/imports/").status_code == 200
    upload = SimpleUploadedFile("p.csv", "sku,title_ar,price\nI1,ثوب,100\nI2,ثوب,x\n".encode())
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post("/dashboard/catalog/imports/", {"file": upload})
    assert res.status_code == 302
    res = client.get(res["Location"])
    body = res.content.decode()
    assert res.status_code == 200 and "price is not a number" in body
    partial = client.get(res.request["PATH_INFO"], HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    theirs = ImportJob.objects.create(merchant=other, filename="secret.csv")
    assert client.get(f"/dashboard/catalog/imports/{theirs.id}/").status_code == 404
    res = client.post("/dashboard/catalog/imports/", {"file": SimpleUploadedFile("e.csv", b"")})
    assert res.status_code == 302 and ImportJob.objects.filter(merchant=merchant).count() == 1
