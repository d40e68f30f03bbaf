"""Store knowledge: CRUD API, re-indexing through the outbox, documents (good, empty, scanned, corrupt, huge)."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from kaleem.outbox.services import relay_pending
from kaleem.testing.api import member_client
from merchants.knowledge.models import KnowledgeChunk, KnowledgeDocument, Policy
from merchants.knowledge.selectors import knowledge_search

pytestmark = pytest.mark.django_db


def text_pdf(text: str) -> bytes:
    """A minimal valid one-page PDF whose content stream draws `text` (ASCII) in Helvetica."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)  # what a scan without OCR looks like to us
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def upload(client, name, data, **extra):
    return client.post(
        "/api/v1/knowledge/documents", {"file": SimpleUploadedFile(name, data), **extra}, format="multipart"
    )


def test_policy_crud_reindexes_through_the_outbox(owner):
    client, merchant, _user = owner
    created = client.post(
        "/api/v1/knowledge/policies",
        {
            "kind": "returns",
            "title": "Returns",
            "body": "Returns are accepted within 30 days of delivery.",
            "language": "en",
        },
        format="json",
    )
    assert created.status_code == 201
    policy_id = created.json()["id"]
    relay_pending()
    assert KnowledgeChunk.objects.filter(source_id=policy_id).count() == 1
    hits = knowledge_search(merchant=merchant, query="return within how many days", kind_hints=("returns",))
    assert hits and "30 days" in hits[0].text

    patched = client.patch(
        f"/api/v1/knowledge/policies/{policy_id}", {"body": "Returns are accepted within 7 days."}, format="json"
    )
    assert patched.status_code == 200
    relay_pending()
    hits = knowledge_search(merchant=merchant, query="returns days", kind_hints=("returns",))
    assert "7 days" in hits[0].text and all("30 days" not in h.text for h in hits)

    assert client.delete(f"/api/v1/knowledge/policies/{policy_id}").status_code == 204
    relay_pending()
    assert not KnowledgeChunk.objects.filter(source_id=policy_id).exists()
    assert knowledge_search(merchant=merchant, query="returns days") == []


def test_policy_validation(owner):
    client, _merchant, _user = owner
    url = "/api/v1/knowledge/policies"
    assert client.post(url, {"kind": "discounts", "title": "x", "body": "y"}, format="json").status_code == 400
    assert client.post(url, {"kind": "returns", "title": "x", "body": ""}, format="json").status_code == 400
    assert (
        client.post(url, {"kind": "returns", "title": "x", "body": "y", "language": "fr"}, format="json").status_code
        == 400
    )
    assert client.post(url, {"kind": "returns", "title": "x", "body": "y" * 20_001}, format="json").status_code == 400


def test_faq_crud(owner):
    client, merchant, _user = owner
    created = client.post(
        "/api/v1/knowledge/faqs", {"question": "هل يوجد تغليف هدايا؟", "answer": "نعم بعشرة ريالات."}, format="json"
    )
    assert created.status_code == 201 and created.json()["language"] == "ar"
    relay_pending()
    assert knowledge_search(merchant=merchant, query="تغليف هدايا")[0].source_kind == "faq"
    listed = client.get("/api/v1/knowledge/faqs").json()["results"]
    assert [f["question"] for f in listed] == ["هل يوجد تغليف هدايا؟"]


def test_roles_viewer_reads_agent_cannot_edit(owner):
    _client, merchant, _user = owner
    viewer, _m, _u = member_client("viewer", merchant=merchant)
    agent, _m, _u = member_client("agent", merchant=merchant)
    assert viewer.get("/api/v1/knowledge/policies").status_code == 200
    body = {"kind": "returns", "title": "x", "body": "y"}
    assert viewer.post("/api/v1/knowledge/policies", body, format="json").status_code == 403
    assert agent.post("/api/v1/knowledge/policies", body, format="json").status_code == 403


def test_markdown_document_is_chunked_and_searchable(owner):
    client, merchant, _user = owner
    body = b"# Care\n\nWash abayas in cold water.\n\n- Do not tumble dry.\n- Iron on low heat."
    response = upload(client, "care.md", body, title="Care guide")
    assert response.status_code == 201 and response.json()["state"] == "processing"
    relay_pending()
    document = KnowledgeDocument.objects.get(id=response.json()["id"])
    assert document.state == "ready" and document.chunk_count >= 1 and document.language == "en"
    assert "cold water" in knowledge_search(merchant=merchant, query="how to wash abaya")[0].text


def test_text_pdf_is_extracted(owner):
    client, _merchant, _user = owner
    response = upload(client, "policy.pdf", text_pdf("Exchanges are free within 14 days."))
    relay_pending()
    document = KnowledgeDocument.objects.get(id=response.json()["id"])
    assert document.state == "ready"
    assert "Exchanges are free" in KnowledgeChunk.objects.get(source_id=document.id).text


@pytest.mark.parametrize("name,data", [("empty.txt", b""), ("blank.md", b"   \n\n  "), ("scan.pdf", None)])
def test_empty_and_scanned_documents_end_in_no_text(owner, name, data):
    client, _merchant, _user = owner
    response = upload(client, name, blank_pdf() if data is None else data)
    assert response.status_code == 201
    relay_pending()
    document = KnowledgeDocument.objects.get(id=response.json()["id"])
    assert document.state == "no_text" and "No text" in document.error
    assert not KnowledgeChunk.objects.filter(source_id=document.id).exists()


def test_corrupt_pdf_fails_with_a_reason(owner):
    client, _merchant, _user = owner
    response = upload(client, "broken.pdf", b"%PDF-1.4 this is not really a pdf")
    relay_pending()
    document = KnowledgeDocument.objects.get(id=response.json()["id"])
    assert document.state == "failed" and document.error


def test_binary_text_file_fails_with_a_reason(owner):
    client, _merchant, _user = owner
    response = upload(client, "weird.txt", b"\x00\x01\x02binary")
    relay_pending()
    assert KnowledgeDocument.objects.get(id=response.json()["id"]).state == "failed"


@override_settings(KNOWLEDGE_DOCUMENT_MAX_BYTES=1024)
def test_huge_document_is_refused_with_413(owner):
    client, _merchant, _user = owner
    response = upload(client, "huge.txt", b"a" * 2048)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert not KnowledgeDocument.objects.exists()


def test_unsupported_type_is_415(owner):
    client, _merchant, _user = owner
    response = upload(client, "policy.docx", b"PK\x03\x04")
    assert response.status_code == 415


def test_document_delete_removes_chunks(owner):
    client, merchant, _user = owner
    response = upload(client, "faq.txt", "التوصيل خلال ثلاثة أيام.".encode())
    relay_pending()
    document_id = response.json()["id"]
    assert KnowledgeChunk.objects.filter(source_id=document_id).exists()
    assert client.delete(f"/api/v1/knowledge/documents/{document_id}").status_code == 204
    relay_pending()
    assert not KnowledgeChunk.objects.filter(source_id=document_id).exists()
    assert knowledge_search(merchant=merchant, query="التوصيل") == []


def test_reindexing_twice_is_idempotent(owner):
    _client, merchant, _user = owner
    from merchants.knowledge.indexing import knowledge_source_reindex
    from merchants.knowledge.services import policy_create

    policy = policy_create(merchant=merchant, kind="shipping", title="Shipping", body="Ships in 2 days. Free over 300.")
    first = knowledge_source_reindex(merchant_id=merchant.pk, source_kind="policy", source_id=policy.id)
    ids = set(KnowledgeChunk.objects.values_list("id", flat=True))
    second = knowledge_source_reindex(merchant_id=merchant.pk, source_kind="policy", source_id=policy.id)
    assert first == second and set(KnowledgeChunk.objects.values_list("id", flat=True)) == ids


def test_knowledge_of_another_store_is_never_retrieved(owner, other_owner):
    _client, merchant, _user = owner
    _other_client, other_merchant, _u = other_owner
    from merchants.knowledge.services import policy_create

    policy_create(merchant=other_merchant, kind="returns", title="Secret", body="Returns within 99 days only.")
    relay_pending()
    assert knowledge_search(merchant=merchant, query="returns days") == []
    assert Policy.objects.for_merchant(merchant).count() == 0
