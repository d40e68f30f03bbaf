"""End-to-end: the demo storefront and the widget in a real Chromium, against a live server.

One long journey (it needs the demo store: products, knowledge, assistant) plus short checks that
only need a webchat channel. Total runtime is kept well under a minute and a half."""

import http.server
import re
import threading
import time

import httpx
import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from channels.models import Channel
from channels.tests.browser.widget import Widget
from channels.tests.webchat_helpers import webchat_channel
from conversations.models import Conversation, Message
from kaleem.demo import DEMO_SLUG
from kaleem.testing.factories import MembershipFactory, UserFactory
from merchants.tokens import token_pair_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

XSS = "<img src=x onerror=alert(1)>"


def _storefront(live_server, slug: str, query: str = "") -> str:
    return f"{live_server.url}/demo/{slug}/{query}"


def _inbox_reply(live_server, conversation: Conversation, text: str) -> httpx.Response:
    """An agent of the store answers through the inbox API, exactly as the dashboard does."""
    agent = UserFactory()
    MembershipFactory(merchant=conversation.merchant, user=agent, role="agent")
    access = token_pair_issue(user=agent, merchant_id=conversation.merchant_id)["access"]
    return httpx.post(
        f"{live_server.url}/api/v1/conversations/{conversation.id}/messages",
        json={"text": text},
        headers={"Authorization": f"Bearer {access}"},
        timeout=10,
    )


def test_customer_journey_on_the_demo_storefront(live_server, page):
    call_command("load_demo", verbosity=0)
    page.goto(_storefront(live_server, DEMO_SLUG))
    w = Widget(page)
    w.open()
    expect(w.host.locator(".k-greeting")).to_be_visible()

    # Arabic product question ⇒ product cards, right-to-left.
    w.send("ابغى عباية سوداء")
    cards = w.host.locator(".k-card")
    expect(cards.first).to_be_visible()
    assert w.root.get_attribute("dir") == "rtl"
    assert w.root.get_attribute("lang") == "ar"
    first = cards.first
    expect(first.locator(".k-ctitle")).not_to_be_empty()
    expect(first.locator(".k-price")).to_contain_text(re.compile(r"\d"))
    expect(first.locator(".k-stock")).to_be_visible()
    # Cards sit side by side in a horizontal carousel.
    if cards.count() > 1:
        a, b = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
        assert abs(a["y"] - b["y"]) < 2 and a["x"] != b["x"]

    # "Add to cart" on an in-stock card ⇒ the assistant confirms it is in the cart.
    replies_before = w.replies().count()
    card = w.host.locator(".k-card").filter(has=page.locator(".k-in")).first
    title = card.locator(".k-ctitle").inner_text()
    card.locator(".k-btn.k-primary").click()
    expect(w.mine().last).to_contain_text("أضف إلى السلة: " + title)
    cart_reply = w.replies().nth(replies_before)
    expect(cart_reply).to_be_visible(timeout=15_000)
    # The assistant answers in its own detected language for a button payload (assistant issue).
    expect(cart_reply).to_contain_text(re.compile(r"أضفت|Added"))
    expect(cart_reply).to_contain_text(re.compile(r"سلت|cart"))

    # Policy question ⇒ an answer grounded in the store's return policy.
    answer = w.send("كم يوم عندي عشان أرجع المنتج؟")
    assert "14" in answer and "يوم" in answer, answer  # the demo return policy: 14 days

    # XSS attempt is shown as text; no dialog, no injected element.
    w.input.fill(XSS)
    w.input.press("Enter")
    expect(w.mine().last.locator(".k-bubble")).to_contain_text(XSS)
    assert w.log.locator("img[src='x']").count() == 0
    time.sleep(0.3)
    assert page.dialogs == []

    # Reload ⇒ the conversation is still there.
    page.reload()
    w = Widget(page)
    w.open()
    expect(w.mine().first).to_contain_text("ابغى عباية سوداء")
    expect(w.host.locator(".k-card").first).to_be_visible()

    # Ask for a human ⇒ hand-off state.
    w.input.fill("ابغى اكلم موظف")
    w.input.press("Enter")
    expect(w.banner).to_be_visible(timeout=15_000)
    expect(w.banner).to_contain_text("فريق")
    conversation = Conversation.objects.get(channel__public_key="ch_demo_webchat")
    assert conversation.status == Conversation.Status.WAITING_HUMAN

    # The agent answers from the inbox ⇒ it appears live, without a reload.
    r = _inbox_reply(live_server, conversation, "أهلاً، معك سارة من فريق المتجر")
    assert r.status_code in (200, 201), r.text
    agent_bubble = w.host.locator(".k-agent")
    expect(agent_bubble).to_contain_text("معك سارة", timeout=8_000)
    expect(w.banner).to_contain_text("تتحدث مع فريق المتجر")

    # With the panel closed, the next agent reply shows as an unread badge on the launcher.
    page.keyboard.press("Escape")
    expect(w.panel).to_be_hidden()
    assert _inbox_reply(live_server, conversation, "هل تحتاج شيئاً آخر؟").status_code == 201
    expect(w.badge).to_have_text("1", timeout=8_000)
    assert "1" in w.launcher.get_attribute("aria-label")
    w.launcher.click()
    expect(w.badge).to_be_hidden()
    expect(agent_bubble.last).to_contain_text("شيئاً آخر")
    assert page.dialogs == []


def test_host_page_css_all_unset_does_not_break_the_widget(live_server, page):
    channel = webchat_channel()
    page.goto(_storefront(live_server, channel.merchant.slug, "?css=unset"))
    w = Widget(page)
    expect(w.launcher).to_be_visible()
    box = w.launcher.bounding_box()
    assert 55 <= box["width"] <= 65 and 55 <= box["height"] <= 65
    assert box["y"] > 800 - 100  # still pinned to the bottom corner
    w.open()
    panel = w.panel.bounding_box()
    assert 370 <= panel["width"] <= 390 and panel["height"] > 400
    assert w.input.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    w.input.fill("hello")
    w.input.press("Enter")
    expect(w.mine().last).to_contain_text("hello")
    expect(w.mine().last.locator(".k-state")).to_have_text(re.compile("^✓✓?$"))


def test_phone_width_and_keyboard_only(live_server, new_page):
    channel = webchat_channel()
    page = new_page({"width": 360, "height": 740}, locale="en-US", has_touch=True)
    page.goto(_storefront(live_server, channel.merchant.slug))
    w = Widget(page)
    expect(w.launcher).to_be_visible()
    for _ in range(60):  # keyboard only: Tab until the launcher has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == "kaleem-webchat":
            break
    page.keyboard.press("Enter")
    expect(w.panel).to_be_visible()
    box = w.panel.bounding_box()
    assert box["width"] == 360 and box["x"] == 0  # full screen on a phone
    expect(w.input).to_be_focused()
    page.evaluate(
        "() => { window.__seen = []; Kaleem.on('message', (m) => window.__seen.push(m.direction + ':' + m.text)); }"
    )
    page.keyboard.type("Hello from a phone")
    page.keyboard.press("Enter")
    expect(w.mine().last).to_contain_text("Hello from a phone")
    assert "in:Hello from a phone" in page.evaluate("() => window.__seen")  # the JS API's message event
    assert w.log.get_attribute("aria-live") == "polite"
    expect(w.replies().first).to_be_visible(timeout=15_000)  # the direction has followed the reply
    before = w.root.get_attribute("dir")
    w.host.locator(".k-lang").click()  # switchable language flips the layout direction
    assert {before, w.root.get_attribute("dir")} == {"rtl", "ltr"}
    page.keyboard.press("Escape")
    expect(w.panel).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "kaleem-webchat"  # focus back on launcher


class _ForeignSite(http.server.BaseHTTPRequestHandler):
    html = b""

    def do_GET(self):  # noqa: N802 - http.server API
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args):
        pass


def test_page_on_a_non_allowed_origin_cannot_start_a_conversation(live_server, page):
    channel = webchat_channel()  # allows only https://shop.example.com (and Kaleem itself)
    _ForeignSite.html = (
        f'<!doctype html><html><body><h1>Not the shop</h1><script src="{live_server.url}/static/webchat/widget.js"'
        f' data-channel="{channel.public_key}" async></script></body></html>'
    ).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ForeignSite)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        w = Widget(page)
        w.open()
        expect(w.banner).to_contain_text(re.compile("غير متاحة|not available"))
        assert w.input.is_disabled()
        # Even a hand-written request from that page is refused (the preflight gets 403).
        outcome = page.evaluate(
            """async (url) => {
                try {
                    const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"});
                    return "status " + r.status;
                } catch (e) { return "blocked"; }
            }""",
            f"{live_server.url}/api/webchat/v1/{channel.public_key}/conversations",
        )
        assert outcome == "blocked"
        # What the browser hid from the page: the server refused it with the error envelope.
        refused = httpx.post(
            f"{live_server.url}/api/webchat/v1/{channel.public_key}/conversations",
            json={},
            headers={"Origin": f"http://127.0.0.1:{server.server_address[1]}"},
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "origin_not_allowed"
        assert not Conversation.objects.filter(channel=channel).exists()
        assert not Message.objects.filter(channel=channel).exists()
        assert Channel.objects.filter(id=channel.id).exists()
    finally:
        server.shutdown()
