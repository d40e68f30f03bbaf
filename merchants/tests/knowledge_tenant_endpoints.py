"""Store-knowledge endpoints that take an id (imported by conversations/tests/tenant_endpoints.py)."""

from kaleem.testing.tenant_isolation import register_tenant_endpoint
from merchants.knowledge import services


def _policy(merchant):  # noqa: ANN001, ANN202
    return services.policy_create(merchant=merchant, kind="returns", title="Returns", body="14 days.").pk


def _faq(merchant):  # noqa: ANN001, ANN202
    return services.faq_create(merchant=merchant, question="Gift wrap?", answer="Yes.").pk


def _document(merchant):  # noqa: ANN001, ANN202
    return services.document_upload(merchant=merchant, filename="policy.md", data=b"# Returns\n14 days.").pk


for name, url, make, body in (
    ("knowledge-policy-detail", "/api/v1/knowledge/policies/{id}", _policy, {"title": "x"}),
    ("knowledge-faq-detail", "/api/v1/knowledge/faqs/{id}", _faq, {"answer": "x"}),
    ("knowledge-document-detail", "/api/v1/knowledge/documents/{id}", _document, {"title": "x"}),
):
    register_tenant_endpoint(name, "GET", url, make)
    register_tenant_endpoint(name, "PATCH", url, make, body=body)
    register_tenant_endpoint(name, "DELETE", url, make)
