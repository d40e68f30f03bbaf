"""Every dashboard page rendered in Arabic carries no untranslated English: visible text and the
accessible attributes (aria-label, placeholder, title, alt) are scanned for Latin words."""

import re
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from channels.models import Channel, DeadLetter
from conversations.tests.dashboard_fixtures import add_gap, add_message, make_conversation
from merchants.knowledge import services as knowledge_services
from merchants.models import Merchant
from merchants.services import api_token_create, audit
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db

# Brand and technical names that stay Latin in Arabic UI, and language names.
ALLOWED = {
    "csv",
    "json",
    "jsonl",
    "utf",
    "windows",
    "shopify",
    "telegram",
    "whatsapp",
    "instagram",
    "messenger",
    "botfather",
    "meta",
    "n8n",
    "openai",
    "pdf",
    "word",
    "markdown",
    "ip",
    "english",
    "https",
    "http",
    "kal",
    "utc",
    "sar",
    "body",
}
ACCESSIBLE_ATTRS = ("aria-label", "placeholder", "title", "alt")


class VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "code", "textarea"):
            self._skip += 1
        attrs = dict(attrs)
        if "class" in attrs and any(c in (attrs["class"] or "").split() for c in ("mono", "ltr")):
            self._skip += 1
            self._ltr_tag = tag
        for name in ACCESSIBLE_ATTRS:
            if attrs.get(name):
                self.chunks.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.chunks.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "code", "textarea") or tag == getattr(self, "_ltr_tag", None):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.chunks.append(data)


EMAIL = re.compile(r"\S+@\S+")
URL = re.compile(r"https?://\S+")
WORD = re.compile(r"[A-Za-z]{2,}")


def untranslated(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    found = []
    for chunk in parser.chunks:
        chunk = URL.sub(" ", EMAIL.sub(" ", chunk))
        for word in WORD.findall(chunk):
            if word.lower() not in ALLOWED:
                found.append(word)
    return found


@pytest.fixture
def arabic_store():
    client, merchant, user = page_client("owner", language="ar")
    Merchant.objects.filter(pk=merchant.pk).update(
        name="متجر الأناقة", default_language="ar", onboarding_step="profile"
    )
    merchant.refresh_from_db()
    web = Channel.objects.create(merchant=merchant, kind="webchat", name="دردشة الموقع", status="active")
    tg = Channel.objects.create(merchant=merchant, kind="telegram", name="بوت المتجر", status="error", last_error="")
    DeadLetter.objects.create(merchant=merchant, channel=tg, error="", attempts=3)
    conversation = make_conversation(merchant, web, name="نورة", unread=2, status="waiting_human")
    add_message(conversation, text="عندكم عبايات سوداء؟", intent="product_search")
    add_message(
        conversation,
        direction="out",
        sender="assistant",
        text="هذه بعض الخيارات",
        elements=[
            {
                "type": "product",
                "id": "1",
                "sku": "A1",
                "title": "عباية",
                "price": "199",
                "currency": "SAR",
                "image_url": "",
                "in_stock": False,
            }
        ],
    )
    add_gap(conversation, question="هل تقبلون تمارا؟")
    knowledge_services.policy_create(
        merchant=merchant, kind="shipping", title="الشحن", body="خلال ٣ أيام", language="ar"
    )
    knowledge_services.faq_create(merchant=merchant, question="متى تفتحون؟", answer="من ٩ صباحاً", language="ar")
    api_token_create(merchant=merchant, actor=user, name="أتمتة", role="agent")
    audit(merchant=merchant, actor=user, action="merchant.updated", target=merchant)
    return client, merchant, conversation


PAGES = [
    "/dashboard/",
    "/dashboard/inbox/",
    "/dashboard/inbox/{conversation}/",
    "/dashboard/analytics/",
    "/dashboard/knowledge/",
    "/dashboard/knowledge/gaps/",
    "/dashboard/settings/profile/",
    "/dashboard/settings/team/",
    "/dashboard/settings/channels/",
    "/dashboard/settings/tokens/",
    "/dashboard/settings/audit/",
    "/dashboard/onboarding/profile/",
    "/dashboard/onboarding/knowledge/",
    "/dashboard/onboarding/channel/",
    "/dashboard/onboarding/test/",
    "/dashboard/onboarding/done/",
    "/dashboard/orders/",
    "/dashboard/orders/{order}/",
    "/dashboard/settings/automations/",
    "/dashboard/settings/platforms/",
    "/dashboard/settings/ai/",
    "/dashboard/catalog/",
    "/dashboard/catalog/?q=عباية تحت 300",
    "/dashboard/catalog/products/new/",
    "/dashboard/catalog/products/{product}/",
    "/dashboard/catalog/imports/",
    "/dashboard/catalog/imports/{import_job}/",
]


@pytest.mark.parametrize("url", PAGES)
def test_arabic_pages_have_no_untranslated_english(arabic_store, url):
    client, merchant, conversation = arabic_store
    from catalog.services import product_create
    from integrations.services import connection_upsert
    from merchants.tests.test_pages_orders import make_order

    order = make_order(merchant, conversation_id=conversation.pk, contact_id=conversation.contact_id)
    product = product_create(
        merchant=merchant,
        data={"sku": "AB-1", "title_ar": "عباية", "price": 250, "attributes": {"اللون": "أسود"}, "tags": ["صيفي"]},
    )
    for platform in ("shopify", "zid"):  # a connected platform shows status, webhook address and basic-auth pair
        connection_upsert(merchant=merchant, platform=platform, credentials={"access_token": "t"}, shop_domain="")
    from catalog.models import ImportJob

    import_job = ImportJob.objects.create(
        merchant=merchant,
        filename="منتجات.csv",
        state="done",
        encoding="cp1256",
        processed_rows=3,
        created_count=2,
        error_count=1,
        errors=[{"row": 3, "sku": "AB-2", "reason": "السعر ليس رقماً"}],
    )
    response = client.get(
        url.format(conversation=conversation.pk, order=order.pk, product=product.pk, import_job=import_job.pk)
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="ar" dir="rtl">' in html
    assert untranslated(html) == []


@pytest.mark.parametrize("url", ["/login/", "/signup/", "/dashboard/no-store/"])
def test_arabic_public_pages(url, client):
    if url == "/dashboard/no-store/":
        from kaleem.testing.factories import UserFactory

        client.force_login(UserFactory())
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert untranslated(html) == []


def test_arabic_form_errors_are_arabic(arabic_store):
    client, merchant, conversation = arabic_store
    html = client.post("/dashboard/settings/profile/", {"name": "", "support_email": "x"}).content.decode()
    assert untranslated(html) == []
    assert "هذا الحقل مطلوب" in html


def test_english_pages_are_ltr(arabic_store):
    client, merchant, conversation = arabic_store
    client.cookies["django_language"] = "en"
    html = client.get("/dashboard/inbox/").content.decode()
    assert '<html lang="en" dir="ltr">' in html and "Inbox" in html
    assert timezone.now()
