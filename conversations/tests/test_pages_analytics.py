import re
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.dashboard_selectors import analytics_summary, percentile
from conversations.dashboard_views import period_bounds
from conversations.tests.dashboard_fixtures import add_gap, add_message, make_channel, make_conversation, seconds
from kaleem.testing.factories import MerchantFactory
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db


def _metric(html: str, name: str) -> str:
    return re.search(rf'data-metric="{name}">([^<]*)<', html).group(1).strip()


@pytest.fixture
def fixture_store():
    """Ten conversations in the last week with known response times, gaps and intents,
    one older conversation outside the 7-day window, and a foreign store's noise."""
    client, merchant, _user = page_client("viewer")
    web = make_channel(merchant, "webchat")
    tg = make_channel(merchant, "telegram", "Bot")
    start, _end = period_bounds(7)
    base = start + timedelta(days=2, hours=10)
    waits = [1, 2, 2, 3, 3, 4, 5, 6, 8, 40]  # seconds to first reply
    for i, wait in enumerate(waits):
        channel = web if i < 7 else tg
        at = base + timedelta(minutes=10 * i)
        c = make_conversation(merchant, channel, at=at)
        add_message(c, text="عندكم شحن؟", at=at, intent="policy_question" if i % 2 else "product_search")
        add_message(c, direction="out", sender="assistant" if i < 9 else "agent", text="نعم", at=at + seconds(wait))
        add_message(c, text="شكرا", at=at + seconds(wait + 5), intent="thanks")
        if i in (3, 8):
            add_gap(c, question="هل تقبلون تمارا؟", at=at)
        if i == 9:
            add_gap(c, question="أبغى موظف", reason="human_request", at=at)
    old = make_conversation(merchant, web, at=start - timedelta(days=3))
    add_message(old, text="old", at=start - timedelta(days=3), intent="greeting")
    other = MerchantFactory()
    noise = make_conversation(other, make_channel(other), at=base)
    add_message(noise, text="noise", at=base, intent="greeting")
    return client, merchant


def test_percentile_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([5], 0.95) == 5
    assert percentile([1, 2, 3, 4], 0.5) == 2
    assert percentile(list(range(1, 101)), 0.95) == 95


def test_analytics_numbers_match_fixtures(fixture_store):
    client, merchant = fixture_store
    start, end = period_bounds(7)
    data = analytics_summary(merchant=merchant, start=start, end=end)
    assert data.conversations == 10
    assert data.inbound_messages == 20
    assert data.first_response_p50 == 3.0  # nearest rank 5 of [1,2,2,3,3,4,5,6,8,40]
    assert data.first_response_p95 == 40.0
    assert data.gaps == 3
    assert data.coverage == pytest.approx(1 - 3 / 20)
    assert data.handoffs == 1 and data.handoff_rate == pytest.approx(0.1)
    assert dict(data.top_intents) == {"thanks": 10, "policy_question": 5, "product_search": 5}
    assert {row["kind"]: row["conversations"] for row in data.per_channel} == {"webchat": 7, "telegram": 3}
    assert sum(n for _d, n in data.per_day) == 10 and len(data.per_day) == 7

    html = client.get("/dashboard/analytics/?period=7").content.decode()
    assert _metric(html, "conversations") == "10"
    assert _metric(html, "frt-p50") == "3.0 s"
    assert _metric(html, "frt-p95") == "40.0 s"
    assert _metric(html, "coverage") == "85%"
    assert _metric(html, "handoff-rate") == "10%"
    assert _metric(html, "gaps") == "3"
    assert '<tr data-channel="webchat"><td>Webchat</td><td>7</td></tr>' in html
    assert '<tr data-intent="thanks"><td>Thanks</td><td>10</td></tr>' in html
    assert html.count('<rect class="bar"') == 7
    assert 'role="img"' in html and "<desc" in html


def test_longer_period_includes_older_conversation(fixture_store):
    client, merchant = fixture_store
    html = client.get("/dashboard/analytics/?period=30").content.decode()
    assert _metric(html, "conversations") == "11"
    assert html.count('<rect class="bar"') == 30
    # an unknown period falls back to 30 days rather than failing
    assert _metric(client.get("/dashboard/analytics/?period=9999").content.decode(), "conversations") == "11"


def test_arabic_analytics_uses_arabic_labels(fixture_store):
    client, merchant = fixture_store
    client.cookies["django_language"] = "ar"
    html = client.get("/dashboard/analytics/?period=7").content.decode()
    assert 'dir="rtl"' in html
    assert _metric(html, "coverage").endswith("\u066a")  # Arabic percent sign


def test_empty_store_shows_dashes():
    client, _merchant, _user = page_client("viewer")
    html = client.get("/dashboard/analytics/").content.decode()
    assert _metric(html, "conversations") == "0"
    assert _metric(html, "frt-p50") == "—" and _metric(html, "coverage") == "—"


def test_analytics_needs_membership(client):
    assert client.get("/dashboard/analytics/").status_code == 302


def test_analytics_query_count(fixture_store, django_assert_max_num_queries):
    client, merchant = fixture_store
    with django_assert_max_num_queries(16):
        assert client.get("/dashboard/analytics/?period=90").status_code == 200
    assert timezone.now()


def test_conversion_and_revenue_from_conversations(fixture_store):
    from decimal import Decimal

    from catalog.models.commerce import Order
    from conversations.models import Conversation

    client, merchant = fixture_store
    convs = list(Conversation.objects.filter(merchant=merchant).order_by("created_at"))[-10:]

    def order(number, conversation, total, status="confirmed"):
        o = Order.objects.create(
            merchant=merchant,
            number=number,
            status=status,
            source="chat",
            currency="SAR",
            subtotal=Decimal(total),
            total=Decimal(total),
            conversation_id=conversation.pk if conversation else None,
        )
        Order.objects.filter(pk=o.pk).update(created_at=conversation.created_at if conversation else o.created_at)

    order("K-1", convs[0], "100.00")
    order("K-2", convs[0], "50.00")  # same conversation: one conversion, two orders
    order("K-3", convs[1], "200.00")
    order("K-4", convs[2], "999.00", status="cancelled")  # cancelled: not counted
    order("K-5", None, "500.00")  # not from a conversation
    html = client.get("/dashboard/analytics/?period=7").content.decode()
    assert _metric(html, "chat-orders") == "3"
    assert _metric(html, "conversion") == "20.0%"  # 2 of 10 conversations
    assert _metric(html, "revenue") == "SAR\u00a0350.00"
