"""The daily analytics roll-up gives exactly what a from-scratch computation gives: day
boundaries in the store's time zone, late facts (a first reply or a cancelled order after the day
was rolled up), the rebuild command and the beat task."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from conversations import analytics
from conversations.analytics_tasks import analytics_refresh as refresh_task
from conversations.dashboard_selectors import analytics_summary
from conversations.dashboard_views import period_bounds
from conversations.models import AnalyticsDay
from conversations.tests.dashboard_fixtures import add_gap, add_message, make_channel, make_conversation, seconds
from kaleem.testing.factories import MerchantFactory
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db


def _local(merchant, days_ago: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    tz = ZoneInfo(merchant.timezone)
    today = timezone.localtime(timezone.now(), tz).date()
    return datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), tzinfo=tz).replace(
        hour=hour, minute=minute, second=second
    )


def _conversation(merchant, channel, at, *, wait=None, intent="policy_question", sender="assistant"):
    c = make_conversation(merchant, channel, at=at)
    message = add_message(c, text="عندكم شحن؟", at=at, intent=intent)
    if wait is not None:
        add_message(c, direction="out", sender=sender, text="نعم", at=at + seconds(wait))
    return c, message


def _summary(merchant, days=30):
    start, end = period_bounds(days, tz=analytics.merchant_tz(merchant))
    return analytics_summary(merchant=merchant, start=start, end=end)


@pytest.fixture
def store():
    """A store in New York time (so the local day differs from UTC and from the site's Riyadh
    default), conversations on both sides of two local midnights, gaps, hand-offs, orders."""
    from catalog.models.commerce import Order

    merchant = MerchantFactory(timezone="America/New_York")
    web, tg = make_channel(merchant, "webchat"), make_channel(merchant, "telegram", "Bot")
    facts = {}
    facts["late"], m1 = _conversation(merchant, web, _local(merchant, 5, 23, 59, 59), wait=2.34)
    facts["early"], m2 = _conversation(merchant, tg, _local(merchant, 4, 0, 0, 0), wait=7, intent="thanks")
    add_gap(facts["early"], question="أبغى موظف", reason="human_request", at=_local(merchant, 4, 0, 0, 1))
    # the same conversation handed off again the next day: counted once over the period
    add_gap(facts["early"], question="موظف لو سمحت", reason="handoff", at=_local(merchant, 3, 9))
    for i in range(6):
        c, msg = _conversation(merchant, web, _local(merchant, 3, 10 + i), wait=i + 1, sender="agent")
        if i % 2:
            gap = add_gap(c, question="هل تقبلون تمارا؟", at=_local(merchant, 3, 10 + i, 0, 1))
            type(gap).objects.filter(pk=gap.pk).update(message=msg)
            gap2 = add_gap(
                c, question="هل تقبلون تمارا؟", reason="low_confidence", at=_local(merchant, 3, 10 + i, 0, 2)
            )
            type(gap2).objects.filter(pk=gap2.pk).update(message=msg)
    facts["unanswered"], _ = _conversation(merchant, web, _local(merchant, 2, 12))
    add_message(facts["unanswered"], text="ابغى اكلم موظف", at=_local(merchant, 2, 12, 1), claimed=False)
    facts["today"], _ = _conversation(merchant, tg, _local(merchant, 0, 0, 0, 1), wait=12.5)
    for number, conv, total, status in (
        ("K-1", facts["late"], "100.00", "confirmed"),
        ("K-2", facts["late"], "50.00", "confirmed"),
        ("K-3", facts["early"], "200.00", "confirmed"),
    ):
        order = Order.objects.create(
            merchant=merchant,
            number=number,
            status=status,
            source="chat",
            currency="SAR",
            subtotal=Decimal(total),
            total=Decimal(total),
            conversation_id=conv.pk,
        )
        Order.objects.filter(pk=order.pk).update(created_at=conv.created_at + seconds(30))
    # another store's rows on the same days never leak in
    other = MerchantFactory(timezone="America/New_York")
    _conversation(other, make_channel(other), _local(other, 3, 10), wait=99)
    return merchant, facts


def _settled_now(merchant) -> datetime:
    """Now, or 01:05 local if earlier: past the one-hour recheck of yesterday, after every fact."""
    return max(timezone.now(), _local(merchant, 0, 1, 5))


def _rebuild_all(merchant):
    yesterday = analytics.local_day(timezone.now(), analytics.merchant_tz(merchant)) - timedelta(days=1)
    return analytics.analytics_days_rebuild(merchant=merchant, first=yesterday - timedelta(days=29), last=yesterday)


def test_rollup_equals_from_scratch(store, django_assert_max_num_queries):
    merchant, _facts = store
    scratch = _summary(merchant)
    assert scratch.conversations == 10
    assert scratch.handoffs == 1  # two hand-off gaps on two days, one conversation
    assert scratch.gaps == 8
    # 3 messages with two gaps each (counted once) + 2 gaps without a message, over 10 handled
    assert scratch.inbound_messages == 11 and scratch.coverage == pytest.approx(1 - 5 / 10)
    assert scratch.chat_orders == 3 and scratch.converted_conversations == 2
    assert scratch.attributed_revenue == Decimal("350.00")
    assert scratch.first_response_p50 == 4.0 and scratch.first_response_p95 == 12.5

    assert _rebuild_all(merchant) == 30
    assert AnalyticsDay.objects.filter(merchant=merchant).count() == 30
    assert not AnalyticsDay.objects.exclude(merchant=merchant).exists()
    rolled = _summary(merchant)
    assert rolled == scratch
    # the closed days really come from the rows: one query for 29 stored days + today's few
    with django_assert_max_num_queries(6):
        _summary(merchant)


def test_day_boundary_in_the_store_time_zone(store):
    merchant, _facts = store
    _rebuild_all(merchant)
    rows = {row.day: row.data for row in AnalyticsDay.objects.filter(merchant=merchant)}
    five, four = _local(merchant, 5, 12).date(), _local(merchant, 4, 12).date()
    assert rows[five]["conversations"] == {"webchat": 1}  # 23:59:59 New York stays on its day
    assert rows[four]["conversations"] == {"telegram": 1}  # 00:00:00 starts the next one
    assert rows[five]["waits"] == {"2300": 1}  # 2.34 s, in its 0.1 s bucket
    per_day = dict(_summary(merchant).per_day)
    assert per_day[five] == 1 and per_day[four] == 1
    assert per_day[_local(merchant, 0, 12).date()] == 1  # today: computed live


def test_late_first_reply_and_cancelled_order_rebuild_old_days(store):
    from catalog.models.commerce import Order

    merchant, facts = store
    now = timezone.now()
    _rebuild_all(merchant)
    # rows of old days are settled; the facts below arrive after they were computed
    AnalyticsDay.objects.filter(merchant=merchant).update(computed_at=now - timedelta(minutes=5))
    late_reply_at = now - timedelta(minutes=1)
    add_message(facts["unanswered"], direction="out", sender="agent", text="أهلاً", at=late_reply_at)
    Order.objects.filter(merchant=merchant, number="K-3").update(status="cancelled", updated_at=late_reply_at)
    stale_before = _summary(merchant)
    assert stale_before.attributed_revenue == Decimal("350.00")  # the stored rows lag until refreshed

    rebuilt = analytics.analytics_refresh()
    assert rebuilt >= 2
    fresh = _summary(merchant)
    AnalyticsDay.objects.filter(merchant=merchant).delete()
    assert fresh == _summary(merchant)  # same as from scratch
    assert fresh.attributed_revenue == Decimal("150.00") and fresh.converted_conversations == 1
    assert fresh.first_response_p95 > 3600  # the reply a day later counts as that conversation's wait


def test_refresh_is_idempotent_and_skips_fresh_rows(store):
    merchant, _facts = store
    now_ = _settled_now(merchant)
    assert refresh_task.apply().get() > 0  # the beat task, as the worker runs it
    assert analytics.analytics_refresh(now=now_) >= 0
    assert analytics.analytics_refresh(now=now_) == 0  # nothing changed since


def test_refresh_backfills_missing_and_outdated_rows_within_a_budget(store):
    from conversations.models import Conversation

    merchant, _facts = store
    now_ = _settled_now(merchant)
    # one store's backfill: the fixture's other store is "active" only while New York's clock reads before
    # 10:00 (its conversation is 3 days ago at 10:00, the refresh looks back 3 days), which made the counts
    # below depend on the time of day and on which store's random id sorts first
    Conversation.objects.exclude(merchant=merchant).delete()
    scratch = _summary(merchant, 90)
    # first run after a deploy: nothing stored; a small budget builds the newest days first
    assert analytics.analytics_refresh(now=now_, max_days=10) == 10
    newest = sorted(AnalyticsDay.objects.filter(merchant=merchant).values_list("day", flat=True))
    assert newest[-1] == _local(merchant, 1, 12).date() and len(newest) == 10
    assert analytics.analytics_refresh(now=now_) == analytics.BACKFILL_DAYS - 10
    assert _summary(merchant, 90) == scratch
    # the store moves to another time zone: every stored day is outdated and rebuilt in the new one
    type(merchant).objects.filter(pk=merchant.pk).update(timezone="Asia/Riyadh")
    merchant.refresh_from_db()
    assert analytics.analytics_refresh(now=now_) >= analytics.BACKFILL_DAYS
    start, end = period_bounds(90, tz=analytics.merchant_tz(merchant))
    in_period = AnalyticsDay.objects.filter(merchant=merchant, day__gte=start.date())
    assert set(in_period.values_list("tz", flat=True)) == {"Asia/Riyadh"}  # older rows: ignored
    rolled = analytics_summary(merchant=merchant, start=start, end=end)
    AnalyticsDay.objects.filter(merchant=merchant).delete()
    assert rolled == analytics_summary(merchant=merchant, start=start, end=end)


def test_unsettled_or_foreign_rows_are_not_trusted(store):
    merchant, _facts = store
    scratch = _summary(merchant)
    _rebuild_all(merchant)
    # rows computed in another time zone or by an older definition are ignored, not misread
    AnalyticsDay.objects.filter(merchant=merchant).update(tz="Asia/Tokyo", data={"conversations": {"webchat": 999}})
    assert _summary(merchant) == scratch
    AnalyticsDay.objects.filter(merchant=merchant).update(tz="America/New_York", version=analytics.VERSION + 1)
    assert _summary(merchant) == scratch


def test_rebuild_command(store, capsys):
    merchant, _facts = store
    call_command("analytics_rebuild", "--days", "7", "--merchant", str(merchant.pk))
    assert "rebuilt 7 store-days" in capsys.readouterr().out
    assert AnalyticsDay.objects.filter(merchant=merchant).count() == 7
    with pytest.raises(Exception, match="No such store"):
        call_command("analytics_rebuild", "--merchant", "00000000-0000-0000-0000-000000000000")


def test_analytics_page_reads_the_rollup(store):
    merchant, _facts = store
    client, _m, _u = page_client("viewer", merchant=merchant)

    def main() -> str:  # the page body (the shell carries a fresh CSRF token per request)
        html = client.get("/dashboard/analytics/?period=30").content.decode()
        return html[html.index("<main") : html.index("</main>")]

    before = main()
    assert 'data-metric="conversations">10<' in before
    _rebuild_all(merchant)
    assert main() == before


def test_histogram_percentiles():
    assert analytics.wait_bucket_ms(0.3) == 300
    assert analytics.wait_bucket_ms(59.99) == 59_900
    assert analytics.wait_bucket_ms(61.7) == 61_000
    assert analytics.histogram_percentile({}, 0.5) is None
    assert analytics.histogram_percentile({1000: 4, 2000: 1}, 0.95) == 2.0
    assert analytics.histogram_percentile({1000: 4, 2000: 1}, 0.5) == 1.0
