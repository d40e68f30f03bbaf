import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conversations.models import AnswerGap
from conversations.tests.dashboard_fixtures import add_gap, make_channel, make_conversation
from kaleem.testing.factories import MerchantFactory
from merchants.knowledge import services as knowledge_services
from merchants.knowledge.models import Faq, KnowledgeDocument, Policy
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db


def test_viewer_reads_knowledge_but_cannot_edit():
    client, merchant, _user = page_client("viewer")
    knowledge_services.policy_create(
        merchant=merchant, kind="shipping", title="Shipping", body="2-5 days", language="en"
    )
    html = client.get("/dashboard/knowledge/").content.decode()
    assert "Shipping" in html and "Add a policy" not in html
    r = client.post(
        "/dashboard/knowledge/", {"action": "faq", "faq-question": "Q", "faq-answer": "A", "faq-language": "en"}
    )
    assert r.status_code == 403
    assert not Faq.objects.filter(merchant=merchant).exists()
    assert client.get(f"/dashboard/knowledge/policy/{Policy.objects.get().pk}/").status_code == 403


def test_admin_creates_edits_and_deletes_policy_and_faq():
    client, merchant, _user = page_client("admin")
    r = client.post(
        "/dashboard/knowledge/",
        {
            "action": "policy",
            "policy-kind": "returns",
            "policy-title": "Returns",
            "policy-body": "14 days.",
            "policy-language": "en",
        },
    )
    assert r.status_code == 302
    policy = Policy.objects.get(merchant=merchant)
    r = client.post(
        "/dashboard/knowledge/",
        {"action": "faq", "faq-question": "Cash on delivery?", "faq-answer": "Yes.", "faq-language": "en"},
    )
    assert r.status_code == 302
    faq = Faq.objects.get(merchant=merchant)
    r = client.post(
        f"/dashboard/knowledge/policy/{policy.pk}/",
        {"kind": "returns", "title": "Returns", "body": "30 days.", "language": "en"},
    )
    assert r.status_code == 302
    policy.refresh_from_db()
    assert policy.body == "30 days."
    bad = client.post(f"/dashboard/knowledge/faq/{faq.pk}/", {"question": "", "answer": "x", "language": "fr"})
    assert bad.status_code == 400 and b"This field is required." in bad.content
    assert (
        client.post("/dashboard/knowledge/", {"action": "delete", "kind": "faq", "id": str(faq.pk)}).status_code == 302
    )
    assert not Faq.objects.filter(pk=faq.pk).exists()


def test_inline_errors_on_create():
    client, merchant, _user = page_client("admin")
    r = client.post(
        "/dashboard/knowledge/",
        {"action": "policy", "policy-kind": "nope", "policy-title": "", "policy-body": "", "policy-language": "en"},
    )
    assert r.status_code == 400
    html = r.content.decode()
    assert html.count("This field is required.") >= 2 and "Select a valid choice." in html
    assert client.post("/dashboard/knowledge/", {"action": "explode"}).status_code == 400


def test_document_upload_and_type_check():
    client, merchant, _user = page_client("admin")
    ok = SimpleUploadedFile("faq.txt", "الشحن مجاني فوق 200 ريال".encode(), content_type="text/plain")
    r = client.post(
        "/dashboard/knowledge/", {"action": "document", "doc-file": ok, "doc-title": "FAQ", "doc-language": "ar"}
    )
    assert r.status_code == 302
    assert KnowledgeDocument.objects.filter(merchant=merchant).count() == 1
    exe = SimpleUploadedFile("virus.exe", b"MZ....", content_type="application/octet-stream")
    r = client.post("/dashboard/knowledge/", {"action": "document", "doc-file": exe, "doc-language": "ar"})
    assert r.status_code == 400
    assert b"not supported" in r.content
    assert KnowledgeDocument.objects.filter(merchant=merchant).count() == 1


def test_other_stores_knowledge_is_404():
    client, _merchant, _user = page_client("owner")
    other = MerchantFactory()
    policy = knowledge_services.policy_create(merchant=other, kind="shipping", title="Secret", body="x", language="ar")
    faq = knowledge_services.faq_create(merchant=other, question="Secret Q", answer="x", language="ar")
    assert "Secret" not in client.get("/dashboard/knowledge/").content.decode()
    assert client.get(f"/dashboard/knowledge/policy/{policy.pk}/").status_code == 404
    assert (
        client.post(
            f"/dashboard/knowledge/faq/{faq.pk}/", {"question": "hacked", "answer": "x", "language": "ar"}
        ).status_code
        == 404
    )
    assert (
        client.post("/dashboard/knowledge/", {"action": "delete", "kind": "policy", "id": str(policy.pk)}).status_code
        == 404
    )
    assert client.post("/dashboard/knowledge/", {"action": "delete", "kind": "policy", "id": "junk"}).status_code == 404
    assert client.get("/dashboard/knowledge/bogus/" + str(policy.pk) + "/").status_code == 404
    assert Policy.objects.filter(pk=policy.pk).exists() and Faq.objects.get(pk=faq.pk).question == "Secret Q"


def test_preview_answers_from_knowledge():
    client, merchant, _user = page_client("viewer")
    knowledge_services.policy_create(
        merchant=merchant,
        kind="returns",
        title="سياسة الاسترجاع",
        body="يمكن الاسترجاع خلال 14 يوماً من الاستلام.",
        language="ar",
    )
    r = client.post("/dashboard/knowledge/preview/", {"preview-text": "كم مدة الاسترجاع؟"}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    # the real assistant (or, without it, the knowledge search) answers; its wording is the
    # assistant area's concern — the page shows the question and an answer and sends nothing
    assert "كم مدة الاسترجاع؟" in html and 'class="msg msg-out"' in html
    from conversations.models import Message

    assert not Message.objects.filter(merchant=merchant).exists()
    empty = client.post("/dashboard/knowledge/preview/", {"preview-text": ""}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 400


def test_answer_gaps_grouped_and_turned_into_faq(django_assert_max_num_queries):
    client, merchant, _user = page_client("admin")
    channel = make_channel(merchant)
    for _ in range(3):
        add_gap(make_conversation(merchant, channel), question="هل تقبلون تمارا؟")
    add_gap(make_conversation(merchant, channel), question="Do you have gift wrapping?")
    other = MerchantFactory()
    add_gap(make_conversation(other, make_channel(other)), question="Foreign question")
    with django_assert_max_num_queries(10):
        html = client.get("/dashboard/knowledge/gaps/").content.decode()
    assert html.index("هل تقبلون تمارا؟") < html.index("Do you have gift wrapping?")
    assert "Foreign question" not in html
    sample = AnswerGap.objects.filter(merchant=merchant, question="هل تقبلون تمارا؟").first()
    prefix = f"g{sample.pk}"
    bad = client.post(
        "/dashboard/knowledge/gaps/",
        {"gap": str(sample.pk), f"{prefix}-question": "x", f"{prefix}-answer": "", f"{prefix}-language": "ar"},
    )
    assert bad.status_code == 400
    r = client.post(
        "/dashboard/knowledge/gaps/",
        {
            "gap": str(sample.pk),
            f"{prefix}-question": "هل تقبلون تمارا؟",
            f"{prefix}-answer": "نعم، نقبل تمارا.",
            f"{prefix}-language": "ar",
        },
    )
    assert r.status_code == 302
    assert Faq.objects.get(merchant=merchant).answer == "نعم، نقبل تمارا."
    assert AnswerGap.objects.filter(merchant=merchant, resolved_at__isnull=True).count() == 1  # all three resolved
    foreign = AnswerGap.objects.get(merchant=other)
    assert client.post("/dashboard/knowledge/gaps/", {"gap": str(foreign.pk)}).status_code == 404


def test_knowledge_page_query_count(django_assert_max_num_queries):
    client, merchant, _user = page_client("admin")
    for i in range(15):
        knowledge_services.policy_create(merchant=merchant, kind="other", title=f"Policy {i}", body="x", language="en")
        knowledge_services.faq_create(merchant=merchant, question=f"Q {i}?", answer="A", language="en")
    with django_assert_max_num_queries(12):
        html = client.get("/dashboard/knowledge/").content.decode()
    assert html.count("Policy 1") >= 1 and html.count('value="faq"') >= 15


@pytest.mark.parametrize("role", ["viewer", "agent"])
def test_gap_to_faq_needs_admin(role):
    client, merchant, _user = page_client(role)
    gap = add_gap(make_conversation(merchant, make_channel(merchant)), question="هل تقبلون تمارا؟")
    sample = AnswerGap.objects.get(merchant=merchant)
    html = client.get("/dashboard/knowledge/gaps/").content.decode()
    assert "هل تقبلون تمارا؟" in html and "Save as FAQ" not in html
    prefix = f"g{sample.pk}"
    r = client.post(
        "/dashboard/knowledge/gaps/",
        {"gap": str(sample.pk), f"{prefix}-question": "q", f"{prefix}-answer": "a", f"{prefix}-language": "ar"},
    )
    assert r.status_code == 403
    assert not Faq.objects.filter(merchant=merchant).exists()
    assert AnswerGap.objects.get(merchant=merchant).resolved_at is None
    assert gap is not None


def test_gap_turned_into_faq_is_answered_by_the_assistant():
    from kaleem.outbox.services import relay_pending
    from merchants import onboarding_adapters as adapters

    client, merchant, _user = page_client("admin")
    channel = make_channel(merchant)
    for _ in range(2):
        add_gap(make_conversation(merchant, channel), question="Do you offer gift wrapping?")
    sample = AnswerGap.objects.filter(merchant=merchant).first()
    prefix = f"g{sample.pk}"
    html = client.get("/dashboard/knowledge/gaps/").content.decode()
    assert 'value="Do you offer gift wrapping?"' in html  # the question is prefilled
    r = client.post(
        "/dashboard/knowledge/gaps/",
        {
            "gap": str(sample.pk),
            f"{prefix}-question": "Do you offer gift wrapping?",
            f"{prefix}-answer": "Yes, gift wrapping costs 10 riyals per order.",
            f"{prefix}-language": "en",
        },
    )
    assert r.status_code == 302
    assert AnswerGap.objects.filter(merchant=merchant, resolved_at__isnull=True).count() == 0
    assert "Do you offer gift wrapping?" not in client.get("/dashboard/knowledge/gaps/").content.decode()
    relay_pending()  # the outbox indexes the new FAQ
    reply = adapters.simulate(merchant=merchant, text="Do you offer gift wrapping?")
    if reply is None:
        pytest.skip("the assistant area is not installed")
    assert "gift wrapping costs 10 riyals" in reply["text"]


def test_gap_to_faq_service_is_tenant_scoped():
    from kaleem.core.errors import NotFoundError

    _client, merchant, _user = page_client("admin")
    other = MerchantFactory()
    add_gap(make_conversation(other, make_channel(other)), question="Foreign?")
    foreign = AnswerGap.objects.get(merchant=other)
    with pytest.raises(NotFoundError):
        knowledge_services.faq_create_from_gap(
            merchant=merchant, gap_id=foreign.pk, question="Foreign?", answer="x", language="en"
        )
    assert AnswerGap.objects.get(merchant=other).resolved_at is None
    assert not Faq.objects.exists()


def test_gap_to_faq_double_submit_creates_one_faq():
    client, merchant, _user = page_client("admin")
    add_gap(make_conversation(merchant, make_channel(merchant)), question="Do you ship to Jeddah?")
    sample = AnswerGap.objects.get(merchant=merchant)
    prefix = f"g{sample.pk}"
    data = {
        "gap": str(sample.pk),
        f"{prefix}-question": "Do you ship to Jeddah?",
        f"{prefix}-answer": "Yes, in 2 days.",
        f"{prefix}-language": "en",
    }
    assert client.post("/dashboard/knowledge/gaps/", data).status_code == 302
    second = client.post("/dashboard/knowledge/gaps/", data, follow=True)
    assert "This question was already answered." in second.content.decode()
    assert Faq.objects.filter(merchant=merchant).count() == 1
