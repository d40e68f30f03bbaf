import pytest
from django.utils import timezone

from conversations.models import Conversation, Message
from conversations.tests.dashboard_fixtures import add_message, make_channel, make_conversation, seconds
from kaleem.testing.factories import MembershipFactory, MerchantFactory, UserFactory
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db

PRODUCT = {
    "type": "product",
    "id": "p1",
    "sku": "AB-1",
    "title": "عباية سوداء",
    "price": "249.00",
    "currency": "SAR",
    "image_url": "https://cdn.example/abaya.jpg",
    "in_stock": True,
}


@pytest.fixture
def store():
    client, merchant, user = page_client("agent")
    channel = make_channel(merchant)
    return client, merchant, user, channel


def test_inbox_lists_conversations_with_preview_and_badges(store):
    client, merchant, user, channel = store
    c1 = make_conversation(merchant, channel, name="Noura", unread=2, status="waiting_human")
    add_message(c1, text="أبغى أكلم موظف")
    c2 = make_conversation(merchant, channel, name="Sara", at=timezone.now() - seconds(600))
    add_message(c2, text="Do you ship to Jeddah?")
    html = client.get("/dashboard/inbox/").content.decode()
    assert html.index("Noura") < html.index("Sara")  # newest activity first
    assert "أبغى أكلم موظف" in html and "Do you ship to Jeddah?" in html
    assert 'data-waiting-count="1"' in html
    assert 'class="badge"' in html
    assert "every 5s [!window.kaleemInboxLive]" in html and "inbox-changed from:body" in html
    assert 'data-inbox-events="/dashboard/inbox/events/"' in html


def test_inbox_filters(store):
    client, merchant, user, channel = store
    telegram = make_channel(merchant, kind="telegram", name="Bot")
    mine = make_conversation(merchant, channel, name="Mine", status="human", assigned_to=user)
    add_message(mine, text="where is my order")
    other = make_conversation(merchant, telegram, name="Tele", unread=1)
    add_message(other, text="hello there")
    closed = make_conversation(merchant, channel, name="Done", status="closed")
    add_message(closed, text="thanks")

    def names(query):
        html = client.get("/dashboard/inbox/list/?" + query).content.decode()
        return {n for n in ("Mine", "Tele", "Done") if n in html}

    assert names("") == {"Mine", "Tele", "Done"}
    assert names("status=closed") == {"Done"}
    assert names("status=human") == {"Mine"}
    assert names(f"channel={telegram.pk}") == {"Tele"}
    assert names("mine=on") == {"Mine"}
    assert names("unread=on") == {"Tele"}
    assert names("q=ORDER") == {"Mine"}
    assert names("q=" + mine.external_id) == {"Mine"}
    # malformed filters are ignored, not errors
    assert names("status=bogus&channel=not-a-uuid") == {"Mine", "Tele", "Done"}
    assert client.get("/dashboard/inbox/list/?q=" + "x" * 5000).status_code == 200


def test_inbox_list_query_count_does_not_grow(store, django_assert_max_num_queries):
    client, merchant, user, channel = store
    for i in range(60):
        c = make_conversation(merchant, channel, unread=i % 2)
        add_message(c, text=f"message {i}", elements=[PRODUCT])
    with django_assert_max_num_queries(12):
        response = client.get("/dashboard/inbox/")
    assert response.status_code == 200
    assert response.content.decode().count('class="row1"><strong>') == 50
    assert "Older conversations" in response.content.decode()
    with django_assert_max_num_queries(10):
        assert client.get("/dashboard/inbox/list/").status_code == 200


def test_thread_shows_product_cards_and_marks_read(store):
    client, merchant, user, channel = store
    c = make_conversation(merchant, channel, name="Noura", unread=3)
    add_message(c, text="عندكم عبايات سوداء؟", at=timezone.now() - seconds(30))
    add_message(
        c,
        direction="out",
        sender="assistant",
        text="هذه بعض الخيارات:",
        elements=[PRODUCT, {"type": "quick_reply", "title": "المزيد", "payload": "more"}],
    )
    html = client.get(f"/dashboard/inbox/{c.pk}/").content.decode()
    assert "عباية سوداء" in html and "abaya.jpg" in html and "المزيد" in html
    # list and open thread both refresh on the live stream's signal
    assert html.count('hx-trigger="inbox-changed from:body delay:250ms, every 5s [!window.kaleemInboxLive]') == 2
    assert "249" in html
    c.refresh_from_db()
    assert c.unread_count == 0
    poll = client.get(f"/dashboard/inbox/{c.pk}/thread/").content.decode()
    assert "عندكم عبايات سوداء؟" in poll and 'hx-swap-oob="true"' in poll
    assert 'id="reply-text"' not in poll  # the reply box is never replaced by polling


def test_agent_takes_over_replies_adds_note_releases_and_closes(store):
    client, merchant, user, channel = store
    c = make_conversation(merchant, channel, status="waiting_human")
    add_message(c, text="I want a person")
    r = client.post(f"/dashboard/inbox/{c.pk}/take-over/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and 'id="thread"' in r.content.decode()
    c.refresh_from_db()
    assert c.status == "human" and c.assigned_to == user
    r = client.post(
        f"/dashboard/inbox/{c.pk}/reply/", {"text": "Hello, I'm Huda. How can I help?"}, HTTP_HX_REQUEST="true"
    )
    assert r.status_code == 200
    reply = Message.objects.get(conversation=c, sender="agent", kind="message")
    assert reply.author == user and reply.direction == "out"
    assert "How can I help?" in r.content.decode()
    client.post(f"/dashboard/inbox/{c.pk}/note/", {"text": "VIP customer"})
    note = Message.objects.get(conversation=c, kind="note")
    assert note.delivery_status == "not_sent"
    assert "VIP customer" in client.get(f"/dashboard/inbox/{c.pk}/").content.decode()
    assert client.post(f"/dashboard/inbox/{c.pk}/release/").status_code == 302
    c.refresh_from_db()
    assert c.status == "bot"
    client.post(f"/dashboard/inbox/{c.pk}/close/")
    c.refresh_from_db()
    assert c.status == "closed"
    # releasing a closed conversation is refused with a message, nothing changes
    r = client.post(f"/dashboard/inbox/{c.pk}/release/", HTTP_HX_REQUEST="true")
    assert r.status_code == 400 and b"current state" in r.content
    c.refresh_from_db()
    assert c.status == "closed"


def test_reply_validation_keeps_the_draft(store):
    client, merchant, user, channel = store
    c = make_conversation(merchant, channel)
    r = client.post(f"/dashboard/inbox/{c.pk}/reply/", {"text": "   "}, HTTP_HX_REQUEST="true")
    assert r.status_code == 400 and b"Write a message first." in r.content
    r = client.post(f"/dashboard/inbox/{c.pk}/reply/", {"text": "x" * 4001}, HTTP_HX_REQUEST="true")
    assert r.status_code == 400 and b"under 4,000 characters" in r.content
    assert not Message.objects.filter(conversation=c, sender="agent").exists()


def test_assign_only_to_store_agents(store):
    client, merchant, user, channel = store
    colleague = MembershipFactory(merchant=merchant, role="admin").user
    viewer = MembershipFactory(merchant=merchant, role="viewer").user
    outsider = MembershipFactory(merchant=MerchantFactory(), role="agent").user
    c = make_conversation(merchant, channel)
    client.post(f"/dashboard/inbox/{c.pk}/assign/", {"assignee": str(colleague.pk)})
    c.refresh_from_db()
    assert c.assigned_to == colleague
    for bad in (viewer.pk, outsider.pk, "junk"):
        r = client.post(f"/dashboard/inbox/{c.pk}/assign/", {"assignee": str(bad)}, HTTP_HX_REQUEST="true")
        assert r.status_code == 400
    c.refresh_from_db()
    assert c.assigned_to == colleague
    client.post(f"/dashboard/inbox/{c.pk}/assign/", {"assignee": ""})
    c.refresh_from_db()
    assert c.assigned_to is None


def test_viewer_reads_but_cannot_act():
    client, merchant, _user = page_client("viewer")
    channel = make_channel(merchant)
    c = make_conversation(merchant, channel, status="waiting_human")
    html = client.get(f"/dashboard/inbox/{c.pk}/").content.decode()
    assert "can read conversations but not reply" in html and 'id="reply-text"' not in html
    for action in ("reply", "note", "take-over", "release", "close", "assign"):
        assert client.post(f"/dashboard/inbox/{c.pk}/{action}/", {"text": "hi"}).status_code == 403
    c.refresh_from_db()
    assert c.status == "waiting_human"
    assert not Message.objects.filter(conversation=c).exists()


def test_other_stores_conversations_are_404(store):
    client, merchant, user, channel = store
    other = MerchantFactory()
    foreign = make_conversation(other, make_channel(other), name="Foreign Person", status="waiting_human")
    add_message(foreign, text="secret text")
    assert "Foreign Person" not in client.get("/dashboard/inbox/").content.decode()
    assert "Foreign Person" not in client.get("/dashboard/inbox/list/?q=secret").content.decode()
    assert client.get(f"/dashboard/inbox/{foreign.pk}/").status_code == 404
    assert client.get(f"/dashboard/inbox/{foreign.pk}/thread/").status_code == 404
    for action in ("reply", "take-over", "close"):
        assert client.post(f"/dashboard/inbox/{foreign.pk}/{action}/", {"text": "hi"}).status_code == 404
    assert client.get("/dashboard/inbox/not-a-uuid/").status_code == 404
    assert client.post(f"/dashboard/inbox/{foreign.pk}/explode/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "waiting_human"


def test_inbox_needs_login_and_membership(client):
    assert client.get("/dashboard/inbox/").status_code == 302
    loner = UserFactory()
    client.force_login(loner)
    assert client.get("/dashboard/inbox/")["Location"] == "/dashboard/no-store/"


def test_nav_badge_counts_unread(store):
    client, merchant, user, channel = store
    make_conversation(merchant, channel, unread=4)
    make_conversation(merchant, channel, unread=1)
    html = client.get("/dashboard/").content.decode()
    assert '<span class="badge" aria-label="2 unread conversations">2</span>' in html
    assert Conversation.objects.filter(merchant=merchant).count() == 2
