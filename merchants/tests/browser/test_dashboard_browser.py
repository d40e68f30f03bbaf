"""Dashboard journeys in a real Chromium: sign-up and onboarding, an agent taking over a handed-off
webchat conversation (the customer sees the reply in the widget), and an Arabic owner seeing every
main page right-to-left with no untranslated English — with screenshots of each page in both
languages saved to docs/screenshots/."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from channels.models import Channel
from conversations.models import Conversation, Message
from conversations.tests.dashboard_fixtures import add_gap, add_message, make_conversation, seconds
from kaleem.testing.factories import MembershipFactory, UserFactory
from merchants.knowledge import services as knowledge_services
from merchants.models import Merchant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
PASSWORD = "pass-12345678"  # the factory's password
ALLOWED_LATIN = {
    "csv",
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
    "utc",
    "sar",
    "body",
    "kal",
}


def latin_words(text: str) -> list[str]:
    text = re.sub(r"\S+@\S+", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"\b(kal_|ch_)\S+", " ", text)
    return [w for w in re.findall(r"[A-Za-z]{2,}", text) if w.lower() not in ALLOWED_LATIN]


def login(page, base: str, email: str) -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_password").press("Enter")
    page.wait_for_url(re.compile(r"/dashboard/"))


def test_new_merchant_signs_up_and_completes_onboarding(live_server, open_page):
    page = open_page(locale="ar-SA")
    page.goto(f"{live_server.url}/signup/")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.locator("#id_store_name").fill("متجر الأناقة")
    page.locator("#id_email").fill("owner@anaqa.example")
    page.locator("#id_password").fill("a-long-pass-2026")
    page.get_by_role("button", name="إنشاء المتجر").click()

    # 1. profile — a server-side error is shown inline, then fixed
    page.wait_for_url(re.compile(r"/dashboard/onboarding/profile/"))
    expect(page.locator("#progress-label")).to_contain_text("1")
    page.locator("#id_support_email").fill("not-an-email")
    page.get_by_role("button", name="حفظ ومتابعة").click()
    expect(page.locator("#id_support_email_error")).to_be_visible()
    page.locator("#id_support_email").fill("help@anaqa.example")
    page.locator("#id_description").fill("عبايات وطرح بتصاميم عصرية")
    page.get_by_role("button", name="حفظ ومتابعة").click()

    # 2. knowledge — Arabic starter templates, saved as real policies/FAQs
    page.wait_for_url(re.compile(r"/knowledge/"))
    expect(page.locator("textarea#body_shipping")).to_contain_text("نشحن")
    page.get_by_role("button", name="حفظ ومتابعة").click()

    # 3. channel — create the webchat widget; the snippet and its copy button appear
    page.wait_for_url(re.compile(r"/channel/"))
    page.get_by_role("button", name="أنشئ نافذة الدردشة").click()
    expect(page.locator("#webchat-snippet")).to_contain_text("webchat/widget.js")
    copy = page.locator('[data-copy-target="webchat-snippet"]')
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    copy.click()
    expect(copy).to_have_text("تم النسخ")
    page.get_by_role("button", name="متابعة").click()

    # leaving and coming back resumes at the step reached
    page.goto(f"{live_server.url}/dashboard/")
    page.get_by_role("link", name="متابعة الإعداد").click()
    page.wait_for_url(re.compile(r"/onboarding/test/"))

    # 4. test the assistant (htmx, no page reload)
    page.locator("#test-text").fill("وش سياسة الاسترجاع؟")
    page.get_by_role("button", name="اسأل").click()
    expect(page.locator("#test-reply .msg-out")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name="متابعة").click()

    # 5. done
    page.wait_for_url(re.compile(r"/onboarding/done/"))
    page.get_by_role("button", name="الذهاب إلى لوحة التحكم").click()
    page.wait_for_url(re.compile(r"/dashboard/$"))
    expect(page.locator("h1")).to_contain_text("متجر الأناقة")
    expect(page.get_by_text("أكمل إعداد متجرك")).to_have_count(0)

    merchant = Merchant.objects.get(name="متجر الأناقة")
    assert merchant.onboarding_step == "done"
    assert merchant.support_email == "help@anaqa.example"
    assert Channel.objects.filter(merchant=merchant, kind="webchat").count() == 1
    from merchants.knowledge.selectors import faq_list, policy_list

    assert policy_list(merchant=merchant).count() == 3 and faq_list(merchant=merchant).count() == 1
    assert page.errors == []


def test_agent_takes_over_handed_off_conversation_and_customer_sees_reply(live_server, open_page):
    from channels.tests.browser.widget import Widget
    from channels.tests.webchat_helpers import webchat_channel

    channel = webchat_channel()
    merchant = channel.merchant
    agent = UserFactory(email="sara@store.example", username="sara@store.example")
    MembershipFactory(merchant=merchant, user=agent, role="agent")

    # the customer asks the assistant for a person on the store's site
    shop = open_page(locale="ar-SA")
    shop.goto(f"{live_server.url}/demo/{merchant.slug}/")
    widget = Widget(shop)
    widget.open()
    widget.input.fill("ابغى اكلم موظف")
    widget.input.press("Enter")
    expect(widget.banner).to_be_visible(timeout=15_000)
    conversation = Conversation.objects.get(channel=channel)
    assert conversation.status == Conversation.Status.WAITING_HUMAN

    # the agent sees it waiting in the inbox, opens it and takes over
    desk = open_page(locale="ar-SA")
    login(desk, live_server.url, agent.email)
    desk.goto(f"{live_server.url}/dashboard/inbox/?status=waiting_human")
    row = desk.locator("#inbox-list a[href*='/dashboard/inbox/']")
    expect(row).to_have_count(1)
    expect(row.locator(".pill")).to_have_text("بانتظار موظف")
    row.click()
    desk.get_by_role("button", name="تولَّ المحادثة").click()
    expect(desk.locator("#thread-head .pill")).to_have_text("موظف")
    desk.locator("#reply-text").fill("أهلاً، معك سارة من فريق المتجر")
    desk.get_by_role("button", name="إرسال", exact=True).click()
    expect(desk.locator("#messages .msg-out").last).to_contain_text("معك سارة")
    expect(desk.locator("#reply-text")).to_have_value("")

    # ... and the customer sees the reply live in the widget, without reloading
    expect(widget.host.locator(".k-agent")).to_contain_text("معك سارة", timeout=10_000)
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.HUMAN and conversation.assigned_to == agent
    reply = Message.objects.get(conversation=conversation, sender="agent")
    assert reply.author == agent
    assert desk.errors == [] and shop.errors == []


def _populated_store() -> tuple[Merchant, str]:
    owner = UserFactory(email="owner@anaqa.example", username="owner@anaqa.example")
    merchant = Merchant.objects.create(
        name="متجر الأناقة",
        slug="anaqa",
        default_language="ar",
        onboarding_step="knowledge",
        support_email="help@anaqa.example",
    )
    MembershipFactory(merchant=merchant, user=owner, role="owner")
    MembershipFactory(
        merchant=merchant, user=UserFactory(email="sara@anaqa.example", username="sara@anaqa.example"), role="agent"
    )
    web = Channel.objects.create(merchant=merchant, kind="webchat", name="دردشة الموقع", status="active")
    tg = Channel.objects.create(merchant=merchant, kind="telegram", name="بوت المتجر", status="active")
    from django.utils import timezone

    now = timezone.now()
    people = ["نورة", "سارة", "فهد", "ريم", "عبدالله", "مها", "خالد", "ليان"]
    product = {
        "type": "product",
        "id": "1",
        "sku": "AB-1",
        "title": "عباية كريب سوداء",
        "price": "249",
        "currency": "SAR",
        "image_url": "",
        "in_stock": True,
    }
    for i, name in enumerate(people):
        at = now - seconds(3600 * 20 * i + 300)
        c = make_conversation(
            merchant,
            web if i % 3 else tg,
            name=name,
            unread=i % 2,
            status=["waiting_human", "bot", "human", "closed"][i % 4],
            at=at,
        )
        add_message(c, text="عندكم عبايات سوداء بمقاس 54؟", at=at, intent="product_search")
        add_message(
            c,
            direction="out",
            sender="assistant",
            text="أكيد! هذه بعض الخيارات:",
            at=at + seconds(2 + i),
            elements=[product],
        )
        add_message(c, text="كم مدة التوصيل للرياض؟", at=at + seconds(40), intent="policy_question")
        if i % 3 == 0:
            add_gap(c, question="هل تقبلون الدفع عبر تمارا؟", at=at)
    knowledge_services.policy_create(
        merchant=merchant, kind="shipping", title="سياسة الشحن", body="نشحن خلال 2-5 أيام عمل.", language="ar"
    )
    knowledge_services.faq_create(
        merchant=merchant, question="ما هي أوقات العمل؟", answer="من 9 صباحاً حتى 9 مساءً.", language="ar"
    )
    from integrations.models import SyncJob
    from integrations.services import connection_upsert

    salla = connection_upsert(
        merchant=merchant, platform="salla", credentials={"access_token": "t", "webhook_secret": "s"}
    )
    SyncJob.objects.create(
        merchant=merchant, connection=salla, state="running", total=1200, processed=480, created_count=480, pages=8
    )
    return merchant, owner.email


MAIN_PAGES = [
    ("home", "/dashboard/"),
    ("inbox", "/dashboard/inbox/?selected=1"),
    ("analytics", "/dashboard/analytics/?period=7"),
    ("knowledge", "/dashboard/knowledge/"),
    ("gaps", "/dashboard/knowledge/gaps/"),
    ("onboarding", "/dashboard/onboarding/knowledge/"),
    ("orders", "/dashboard/orders/"),
    ("team", "/dashboard/settings/team/"),
    ("channels", "/dashboard/settings/channels/"),
    ("automations", "/dashboard/settings/automations/"),
    ("platforms", "/dashboard/settings/platforms/"),
    ("ai", "/dashboard/settings/ai/"),
    ("product", "/dashboard/catalog/products/new/"),
    ("tokens", "/dashboard/settings/tokens/"),
    ("audit", "/dashboard/settings/audit/"),
]


def test_arabic_owner_sees_rtl_dashboard_without_english_and_screenshots(live_server, open_page):
    merchant, email = _populated_store()
    thread = Conversation.objects.filter(merchant=merchant, status="waiting_human").first()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_page(locale="ar-SA")
    login(page, live_server.url, email)
    for name, path in MAIN_PAGES:
        if name == "inbox":
            path = f"/dashboard/inbox/{thread.pk}/"
        page.goto(f"{live_server.url}{path}")
        assert page.locator("html").get_attribute("dir") == "rtl", name
        # identifiers shown as code (audit action codes, token prefixes, emails) are marked .mono/.ltr
        visible = page.evaluate(
            """() => { const c = document.body.cloneNode(true);
                c.querySelectorAll('.mono, .ltr, code, script, style, textarea').forEach(e => e.remove());
                document.body.appendChild(c); c.hidden = false; const t = c.innerText; c.remove(); return t; }"""
        )
        assert latin_words(visible) == [], (name, latin_words(visible))
        # RTL for real: the sidebar sits on the right
        nav = page.locator("nav.sidebar").bounding_box()
        assert nav["x"] > 600, name
        page.screenshot(path=str(SHOTS / f"dashboard-{name}-ar.png"), full_page=False)
    # the same pages in English (switched with the language button), left-to-right
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    for name, path in MAIN_PAGES:
        if name == "inbox":
            path = f"/dashboard/inbox/{thread.pk}/"
        page.goto(f"{live_server.url}{path}")
        assert page.locator("html").get_attribute("lang") == "en"
        assert page.locator("nav.sidebar").bounding_box()["x"] < 50
        page.screenshot(path=str(SHOTS / f"dashboard-{name}-en.png"), full_page=False)
    # dark mode toggle and tablet width
    page.get_by_role("button", name="Dark mode").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.set_viewport_size({"width": 820, "height": 1100})
    page.goto(f"{live_server.url}/dashboard/inbox/{thread.pk}/")
    page.screenshot(path=str(SHOTS / "dashboard-inbox-tablet-dark-en.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 821  # no horizontal overflow
    assert page.errors == []


def test_inbox_updates_live_without_reload(live_server, open_page):
    merchant, email = _populated_store()
    page = open_page(locale="en-GB")
    login(page, live_server.url, email)
    page.goto(f"{live_server.url}/dashboard/inbox/")
    before = page.locator("#inbox-list a[href*='/dashboard/inbox/']").count()
    expect(page.locator("#inbox-list")).to_have_attribute("hx-trigger", re.compile("inbox-changed"))
    channel = Channel.objects.get(merchant=merchant, kind="webchat")
    # the real path: the message and the hand-off commit, their outbox events wake the page's
    # Server-Sent Events stream, and the list re-fetches (no 5 s poll while the stream is up)
    from conversations import services as conversation_services

    result = conversation_services.record_inbound(
        merchant=merchant,
        channel=channel,
        external_id="visitor-live",
        text="Is anyone there?",
        contact_name="New Customer",
        schedule_turn=False,
    )
    assert page.evaluate("window.kaleemInboxLive") is True
    conversation_services.conversation_handoff(conversation=result.conversation, reason="human_request")
    expect(page.locator("#inbox-list")).to_contain_text("Is anyone there?", timeout=4_000)
    assert page.locator("#inbox-list a[href*='/dashboard/inbox/']").count() == before + 1
    expect(page.locator("[data-waiting-count]")).to_have_attribute("data-waiting-count", "3")
