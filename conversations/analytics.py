"""Analytics roll-up: each store's facts per local day (the store's time zone), kept in
`AnalyticsDay` rows so the analytics page reads ~90 small rows instead of scanning 90 days of
messages (style rule 8: derived data is rebuilt in batches, never during the request).

- `facts_by_day` computes the facts of any range from the source tables, split by local day — the
  single definition used both to build rows and, live, for days without a trusted row (today).
- `analytics_days_rebuild` stores closed days; `analytics_refresh` (beat, every 10 minutes)
  builds yesterday's rows, rebuilds recent days once more after they settled and rebuilds older
  days that a late fact changed (a first reply or an order status change after the row was
  computed); `manage.py analytics_rebuild` rebuilds any range from scratch.
- A row is trusted by the reader once it was computed `SETTLE` after its day ended (late intent
  classification and claims land within seconds), with the current `VERSION` and time zone.

Every figure is additive per day, except the distinct counts (messages with gaps, conversations
handed off, conversations with an order), whose ids are kept per day and united when read."""

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from conversations.models import AnalyticsDay, AnswerGap, Conversation, Message
from kaleem.db import atomic

VERSION = 1
SETTLE = timedelta(minutes=10)  # the reader trusts a row computed this long after its day ended
RECHECK = timedelta(hours=1)  # recent days are rebuilt once more when computed earlier than this
LOOKBACK_DAYS = 3
BACKFILL_DAYS = 91  # the refresh also fills missing/outdated rows this far back (the longest period)
MAX_DAYS_PER_RUN = 1000  # store-days one refresh run rebuilds at most (newest first); the rest next run
HANDOFF_REASONS = [AnswerGap.Reason.HUMAN_REQUEST, AnswerGap.Reason.HANDOFF]
REPLY_SENDERS = [Message.Sender.ASSISTANT, Message.Sender.AGENT]


def wait_bucket_ms(seconds: float) -> int:
    """First-response histogram bucket (its lower bound, in ms): 0.1 s steps under a minute, 1 s
    under 10 minutes, 10 s under an hour, 1 minute under a day, 10 minutes beyond — finer than the
    page shows (one decimal of a second), bounded in size whatever the volume."""
    ms = max(0, round(seconds * 1000))
    for limit, step in ((60_000, 100), (600_000, 1_000), (3_600_000, 10_000), (86_400_000, 60_000)):
        if ms < limit:
            return ms // step * step
    return ms // 600_000 * 600_000


def histogram_percentile(histogram: dict[int, int], q: float) -> float | None:
    """Nearest-rank percentile (seconds) of a {bucket ms: count} histogram, None when empty."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, min(total, int(-(-q * total // 1))))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket / 1000
    return None  # pragma: no cover - rank <= total


@dataclass
class DayFacts:
    conversations: dict[str, int] = field(default_factory=dict)  # channel kind -> started
    waits: dict[int, int] = field(default_factory=dict)  # first-response bucket (ms) -> conversations
    inbound: int = 0  # customer messages
    handled: int = 0  # ... that the assistant took
    intents: dict[str, int] = field(default_factory=dict)
    gaps: int = 0
    gap_messages: set[str] = field(default_factory=set)  # messages with at least one gap
    gaps_without_message: int = 0
    handoff_conversations: set[str] = field(default_factory=set)
    orders: int = 0  # non-cancelled orders from a conversation
    order_conversations: set[str] = field(default_factory=set)
    revenue: Decimal = Decimal("0")

    def merge(self, other: "DayFacts") -> None:
        for mine, theirs in ((self.conversations, other.conversations), (self.intents, other.intents)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n
        for bucket, n in other.waits.items():
            self.waits[bucket] = self.waits.get(bucket, 0) + n
        self.inbound += other.inbound
        self.handled += other.handled
        self.gaps += other.gaps
        self.gap_messages |= other.gap_messages
        self.gaps_without_message += other.gaps_without_message
        self.handoff_conversations |= other.handoff_conversations
        self.orders += other.orders
        self.order_conversations |= other.order_conversations
        self.revenue += other.revenue

    def to_json(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "waits": {str(k): v for k, v in self.waits.items()},
            "inbound": self.inbound,
            "handled": self.handled,
            "intents": self.intents,
            "gaps": self.gaps,
            "gap_messages": sorted(self.gap_messages),
            "gaps_without_message": self.gaps_without_message,
            "handoff_conversations": sorted(self.handoff_conversations),
            "orders": self.orders,
            "order_conversations": sorted(self.order_conversations),
            "revenue": str(self.revenue),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "DayFacts":
        return cls(
            conversations=dict(data.get("conversations") or {}),
            waits={int(k): v for k, v in (data.get("waits") or {}).items()},
            inbound=data.get("inbound", 0),
            handled=data.get("handled", 0),
            intents=dict(data.get("intents") or {}),
            gaps=data.get("gaps", 0),
            gap_messages=set(data.get("gap_messages") or ()),
            gaps_without_message=data.get("gaps_without_message", 0),
            handoff_conversations=set(data.get("handoff_conversations") or ()),
            orders=data.get("orders", 0),
            order_conversations=set(data.get("order_conversations") or ()),
            revenue=Decimal(data.get("revenue") or "0"),
        )


def merchant_tz(merchant: Any) -> zoneinfo.ZoneInfo:
    """The store's time zone (its setting; the site default when unset or unknown)."""
    for name in (getattr(merchant, "timezone", "") or "", settings.TIME_ZONE):
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            continue
    return zoneinfo.ZoneInfo("UTC")


def day_start(day: date, tz: tzinfo) -> datetime:
    """The instant a local day begins (DST-safe: local midnight, then to an aware datetime)."""
    return datetime.combine(day, time.min, tzinfo=tz)


def local_day(moment: datetime, tz: zoneinfo.ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def commerce_installed() -> bool:
    try:
        import catalog.commerce_selectors  # noqa: F401
    except ImportError:
        return False
    return True


def facts_by_day(*, merchant: Any, start: datetime, end: datetime, tz: zoneinfo.ZoneInfo) -> dict[date, DayFacts]:
    """Facts of [start, end) from the source tables, one `DayFacts` per local day (every day of
    the range present, empty ones too). Four queries (five with commerce); rows are split by day
    in Python so the ORM stays portable (no date truncation in the database)."""
    days = {d: DayFacts() for d in days_between(local_day(start, tz), local_day(end - timedelta(microseconds=1), tz))}

    # A conversation is opened by its customer's first message (record_inbound creates both in one
    # transaction): first response = first assistant/agent reply − the start, one index seek per
    # conversation on (conversation, created_at).
    first_reply = (
        Message.objects.filter(
            conversation=OuterRef("pk"),
            kind=Message.Kind.MESSAGE,
            direction=Message.Direction.OUTBOUND,
            sender__in=REPLY_SENDERS,
        )
        .order_by("created_at")
        .values("created_at")[:1]
    )
    started = (
        Conversation.objects.for_merchant(merchant)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(first_reply=Subquery(first_reply))
        .values_list("created_at", "channel__kind", "first_reply")
    )
    for created, kind, replied in started:
        facts = days[local_day(created, tz)]
        facts.conversations[kind] = facts.conversations.get(kind, 0) + 1
        if replied is not None and replied >= created:
            bucket = wait_bucket_ms((replied - created).total_seconds())
            facts.waits[bucket] = facts.waits.get(bucket, 0) + 1

    customer = (
        Message.objects.for_merchant(merchant)
        .filter(
            created_at__gte=start,
            created_at__lt=end,
            direction=Message.Direction.INBOUND,
            sender=Message.Sender.CUSTOMER,
        )
        .values_list("created_at", "intent", "assistant_claimed_at")
    )
    for created, intent, claimed in customer:
        facts = days[local_day(created, tz)]
        facts.inbound += 1
        if claimed is not None:
            facts.handled += 1
        if intent:
            facts.intents[intent] = facts.intents.get(intent, 0) + 1

    gaps = (
        AnswerGap.objects.for_merchant(merchant)
        .filter(created_at__gte=start, created_at__lt=end)
        .values_list("created_at", "message_id", "conversation_id", "reason")
    )
    for created, message_id, conversation_id, reason in gaps:
        facts = days[local_day(created, tz)]
        facts.gaps += 1
        # one customer message can leave several gaps (low confidence, then hand-off): count it once
        if message_id is None:
            facts.gaps_without_message += 1
        else:
            facts.gap_messages.add(str(message_id))
        if reason in HANDOFF_REASONS and conversation_id is not None:
            facts.handoff_conversations.add(str(conversation_id))

    if commerce_installed():
        from catalog.commerce_selectors import order_list

        orders = (
            order_list(merchant=merchant, filters={"created_after": start, "created_before": end})
            .prefetch_related(None)
            .filter(conversation_id__isnull=False)
            .exclude(status__in=["cancelled"])
            .values_list("created_at", "conversation_id", "total")
        )
        for created, conversation_id, total in orders:
            facts = days[local_day(created, tz)]
            facts.orders += 1
            facts.order_conversations.add(str(conversation_id))
            facts.revenue += total or Decimal("0")
    return days


# --- the stored roll-up ------------------------------------------------------------------------


def trusted_rows(*, merchant: Any, first: date, last: date, tz: zoneinfo.ZoneInfo) -> dict[date, DayFacts]:
    """Stored days of [first, last] the reader may use instead of the source tables (one query)."""
    rows = (
        AnalyticsDay.objects.for_merchant(merchant)
        .filter(day__gte=first, day__lte=last, version=VERSION, tz=str(tz.key))
        .values_list("day", "computed_at", "data")
    )
    return {
        day: DayFacts.from_json(data)
        for day, computed_at, data in rows
        if computed_at >= day_start(day + timedelta(days=1), tz) + SETTLE
    }


def analytics_days_rebuild(*, merchant: Any, first: date, last: date, now: datetime | None = None) -> int:
    """Recompute and store the closed local days [first, last] (days not over yet are skipped).
    Safe to run concurrently: the row keeps the newest computation (conditional update)."""
    tz = merchant_tz(merchant)
    # taken before reading the facts: anything written later is newer than the row
    computed_at = now or timezone.now()
    today = local_day(computed_at, tz)
    last = min(last, today - timedelta(days=1))
    if last < first:
        return 0
    facts = facts_by_day(
        merchant=merchant, start=day_start(first, tz), end=day_start(last + timedelta(days=1), tz), tz=tz
    )
    for day, day_facts in facts.items():
        _store(merchant=merchant, day=day, tz=tz, data=day_facts.to_json(), computed_at=computed_at)
    return len(facts)


def _store(*, merchant: Any, day: date, tz: zoneinfo.ZoneInfo, data: dict, computed_at: datetime) -> None:
    values = {"tz": str(tz.key), "version": VERSION, "data": data, "computed_at": computed_at}
    rows = AnalyticsDay.objects.for_merchant(merchant).filter(day=day)
    if rows.filter(computed_at__lte=computed_at).update(**values) or rows.exists():
        return  # updated, or a newer computation is already stored
    try:
        with atomic():
            AnalyticsDay.objects.create(merchant=merchant, day=day, **values)
    except IntegrityError:  # a concurrent rebuild created it first: keep the newer one
        rows.filter(computed_at__lte=computed_at).update(**values)


def stale_days(*, merchant: Any, now: datetime, lookback_days: int = LOOKBACK_DAYS) -> set[date]:
    """Closed days whose stored row is missing, unsettled or older than a fact that changes it:
    recent days (not yet rebuilt after `RECHECK`), older days that received a conversation's first
    reply or an order change after their row was computed, and any day of the last `BACKFILL_DAYS`
    without a current row (first run after a deploy, a new `VERSION`, a changed store time zone)."""
    tz = merchant_tz(merchant)
    today = local_day(now, tz)
    recent = days_between(today - timedelta(days=lookback_days), today - timedelta(days=1))
    since = now - timedelta(days=lookback_days)
    today_start = day_start(today, tz)
    changed: dict[date, datetime] = {}

    earlier_reply = Message.objects.filter(
        conversation=OuterRef("conversation"),
        kind=Message.Kind.MESSAGE,
        direction=Message.Direction.OUTBOUND,
        sender__in=REPLY_SENDERS,
        created_at__lt=OuterRef("created_at"),
    )
    first_replies = (
        Message.objects.for_merchant(merchant)
        .filter(
            created_at__gte=since,
            kind=Message.Kind.MESSAGE,
            direction=Message.Direction.OUTBOUND,
            sender__in=REPLY_SENDERS,
            conversation__created_at__lt=today_start,
        )
        .exclude(Exists(earlier_reply))
        .values_list("conversation__created_at", "created_at")
    )
    _note(changed, first_replies, tz)
    if commerce_installed():
        from catalog.commerce_selectors import order_list

        orders = (
            order_list(merchant=merchant)
            .prefetch_related(None)
            .filter(updated_at__gte=since, created_at__lt=today_start, conversation_id__isnull=False)
            .values_list("created_at", "updated_at")
        )
        _note(changed, orders, tz)

    backfill_from = today - timedelta(days=BACKFILL_DAYS)
    first = min([backfill_from, *changed])
    stored = dict(
        AnalyticsDay.objects.for_merchant(merchant)
        .filter(day__gte=first, day__lt=today, version=VERSION, tz=str(tz.key))
        .values_list("day", "computed_at")
    )
    stale = set()
    for day in recent:
        computed = stored.get(day)
        if computed is None or computed < day_start(day + timedelta(days=1), tz) + RECHECK:
            stale.add(day)
    for day, fact_at in changed.items():
        computed = stored.get(day)
        if computed is None or computed <= fact_at:
            stale.add(day)
    stale.update(day for day in days_between(backfill_from, today - timedelta(days=1)) if day not in stored)
    return stale


def _note(changed: dict[date, datetime], rows: Iterable[tuple[datetime, datetime]], tz: zoneinfo.ZoneInfo) -> None:
    for belongs_at, changed_at in rows:
        day = local_day(belongs_at, tz)
        if changed.get(day) is None or changed[day] < changed_at:
            changed[day] = changed_at


def analytics_refresh(
    *, now: datetime | None = None, lookback_days: int = LOOKBACK_DAYS, max_days: int = MAX_DAYS_PER_RUN
) -> int:
    """Beat entry point: rebuild the stale days of every store active in the lookback window,
    at most `max_days` store-days per run (newest first). Returns the number of days rebuilt."""
    now = now or timezone.now()
    since = now - timedelta(days=lookback_days)
    from merchants.models import Merchant

    active = set(Conversation.objects.filter(last_activity_at__gte=since).values_list("merchant_id", flat=True))
    if commerce_installed():
        from catalog.models.commerce import Order

        active |= set(Order.objects.filter(updated_at__gte=since).values_list("merchant_id", flat=True))
    rebuilt, budget = 0, max_days
    for merchant in Merchant.objects.filter(id__in=active).order_by("id"):
        if budget <= 0:
            break  # the remaining stores read their days live until the next run
        days = sorted(stale_days(merchant=merchant, now=now, lookback_days=lookback_days))[-budget:]
        budget -= len(days)
        for run in _runs(days):
            rebuilt += analytics_days_rebuild(merchant=merchant, first=run[0], last=run[-1], now=now)
    return rebuilt


def _runs(days: list[date]) -> list[list[date]]:
    """Consecutive days grouped, so each run of stale days is read from the source in one pass."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day - runs[-1][-1] == timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs
