"""Reads behind the dashboard inbox and analytics pages (the assistant area owns the models and
writes; these are page-shaped queries over them, tenant-scoped by `merchant=`)."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from conversations import analytics
from conversations.contact_index import query_digests
from conversations.models import AnswerGap, Contact, ContactNameToken, Conversation, Lead, Message

INBOX_PAGE_SIZE = 50
THREAD_LIMIT = 200
STATUSES = [s.value for s in Conversation.Status]


@dataclass
class InboxFilters:
    status: str = ""
    channel_id: str = ""
    mine: bool = False
    unread: bool = False
    query: str = ""
    before: datetime | None = None


def inbox_list(*, merchant: Any, user: Any, filters: InboxFilters, limit: int = INBOX_PAGE_SIZE) -> list[Conversation]:
    """Newest activity first; one query (channel, contact and assignee joined; the last visible
    message's text and time come from a correlated subquery, not one query per row)."""
    last = Message.objects.filter(conversation=OuterRef("pk"), kind=Message.Kind.MESSAGE).order_by("-created_at")
    qs = (
        Conversation.objects.for_merchant(merchant)
        .select_related("channel", "contact", "assigned_to")
        .annotate(last_text=Subquery(last.values("text")[:1]), last_sender=Subquery(last.values("sender")[:1]))
    )
    if filters.status in STATUSES:
        qs = qs.filter(status=filters.status)
    if filters.channel_id:
        qs = qs.filter(channel_id=filters.channel_id)
    if filters.mine:
        qs = qs.filter(assigned_to=user)
    if filters.unread:
        qs = qs.filter(unread_count__gt=0)
    if filters.query:
        matching = (
            Message.objects.for_merchant(merchant).filter(text__icontains=filters.query).values("conversation_id")
        )
        search = Q(id__in=Subquery(matching)) | Q(external_id__icontains=filters.query)
        named = _contacts_named(merchant=merchant, query=filters.query)
        if named is not None:
            search |= Q(contact_id__in=named)
        qs = qs.filter(search)
    if filters.before:
        qs = qs.filter(last_activity_at__lt=filters.before)
    return list(qs.order_by("-last_activity_at", "-created_at")[:limit])


def _contacts_named(*, merchant: Any, query: str) -> QuerySet[ContactNameToken] | None:
    """Contacts whose encrypted name has every typed word (or a word starting with it, 3+
    letters), found through the blind index (`conversations.contact_index`); None: no word."""
    digests = query_digests(merchant_id=merchant.pk, query=query)
    if not digests:
        return None
    tokens = ContactNameToken.objects.filter(merchant_id=merchant.pk)
    contacts = tokens.filter(digest=digests[0]).values("contact_id")
    for digest in digests[1:]:
        contacts = contacts.filter(contact_id__in=tokens.filter(digest=digest).values("contact_id"))
    return contacts


def inbox_counts(*, merchant: Any) -> dict[str, int]:
    """Unread conversations and hand-offs waiting for a person (badges and notifications)."""
    row = Conversation.objects.for_merchant(merchant).aggregate(
        unread=Count("id", filter=Q(unread_count__gt=0)),
        waiting=Count("id", filter=Q(status=Conversation.Status.WAITING_HUMAN)),
    )
    return {"unread": row["unread"] or 0, "waiting": row["waiting"] or 0}


def conversation_get(*, merchant: Any, conversation_id: Any) -> Conversation | None:
    return (
        Conversation.objects.for_merchant(merchant)
        .select_related("channel", "contact", "assigned_to")
        .filter(id=conversation_id)
        .first()
    )


def thread_messages(*, conversation: Conversation, limit: int = THREAD_LIMIT) -> list[Message]:
    newest = Message.objects.filter(conversation=conversation).select_related("author").order_by("-created_at")[:limit]
    return list(reversed(list(newest)))


@dataclass
class ContactPanel:
    contact: Contact | None
    identities: list[Any] = field(default_factory=list)
    conversation_count: int = 0
    leads: list[Lead] = field(default_factory=list)
    orders: list[Any] | None = None  # None: commerce not installed
    cart: dict[str, Any] | None = None


def contact_panel(*, merchant: Any, conversation: Conversation) -> ContactPanel:
    contact = conversation.contact
    orders, cart = _commerce_panel(merchant=merchant, conversation=conversation)
    if contact is None:
        return ContactPanel(contact=None, orders=orders, cart=cart)
    identities = list(contact.identities.select_related("channel").order_by("created_at")[:20])
    return ContactPanel(
        contact=contact,
        identities=identities,
        conversation_count=Conversation.objects.for_merchant(merchant).filter(contact=contact).count(),
        leads=list(Lead.objects.for_merchant(merchant).filter(contact=contact).order_by("-created_at")[:5]),
        orders=orders,
        cart=cart,
    )


def _commerce_panel(*, merchant: Any, conversation: Conversation) -> tuple[list[Any] | None, dict[str, Any] | None]:
    """The customer's recent orders and this conversation's open cart (commerce selectors)."""
    try:
        from catalog.commerce_selectors import cart_list, cart_summary, order_list
    except ImportError:
        return None, None
    orders = order_list(merchant=merchant).prefetch_related(None)
    if conversation.contact_id:
        orders = orders.filter(Q(contact_id=conversation.contact_id) | Q(conversation_id=conversation.pk))
    else:
        orders = orders.filter(conversation_id=conversation.pk)
    recent = list(orders.order_by("-created_at")[:5])
    cart = cart_list(merchant=merchant).filter(conversation_id=conversation.pk, status="open").first()
    return recent, (cart_summary(cart=cart) if cart is not None else None)


# --- analytics -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (the value a customer actually waited), None without data."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


@dataclass
class Analytics:
    start: datetime
    end: datetime
    conversations: int
    inbound_messages: int
    first_response_p50: float | None
    first_response_p95: float | None
    coverage: float | None
    handoff_rate: float | None
    handoffs: int
    gaps: int
    top_intents: list[tuple[str, int]]
    per_channel: list[dict[str, Any]]
    per_day: list[tuple[date, int]]
    chat_orders: int | None = None
    converted_conversations: int | None = None
    conversion_rate: float | None = None
    attributed_revenue: Any = None


def analytics_summary(*, merchant: Any, start: datetime, end: datetime) -> Analytics:
    """Figures for the period [start, end): stored daily roll-up rows for the closed days
    (`conversations.analytics`, one query), the source tables for the rest (today, or a day not
    rolled up yet) — the same definitions either way:

    - conversations: started in the period (per channel and per day in the store's time zone);
    - first response: per conversation started in the period, its first assistant/agent reply
      minus its start (the customer's first message), p50/p95 by nearest rank over 0.1 s buckets;
    - coverage: share of customer messages the assistant handled without leaving an answer gap
      (a message with several gaps counts once — the same rule as conversations.selectors);
    - hand-off rate: conversations with a hand-off (asked for a human or repeated failure)
      recorded in the period ÷ conversations started;
    - conversion / revenue: non-cancelled orders placed in the period from a conversation."""
    tz = analytics.merchant_tz(merchant)
    first = analytics.local_day(start, tz)
    last = analytics.local_day(end - timedelta(microseconds=1), tz)
    stored = analytics.trusted_rows(merchant=merchant, first=first, last=last, tz=tz)
    total = analytics.DayFacts()
    per_day: dict[date, int] = {}
    missing: list[tuple[datetime, datetime]] = []  # ranges read from the source tables
    for day in analytics.days_between(first, last):
        day_from = analytics.day_start(day, tz)
        day_to = analytics.day_start(day + timedelta(days=1), tz)
        facts = stored.get(day) if start <= day_from and day_to <= end else None
        if facts is None:
            lo, hi = max(start, day_from), min(end, day_to)
            if missing and missing[-1][1] == lo:
                missing[-1] = (missing[-1][0], hi)
            else:
                missing.append((lo, hi))
            continue
        total.merge(facts)
        per_day[day] = sum(facts.conversations.values())
    for lo, hi in missing:
        for day, facts in analytics.facts_by_day(merchant=merchant, start=lo, end=hi, tz=tz).items():
            total.merge(facts)
            per_day[day] = per_day.get(day, 0) + sum(facts.conversations.values())

    conversation_count = sum(total.conversations.values())
    handoffs = len(total.handoff_conversations)
    unanswered = len(total.gap_messages) + total.gaps_without_message
    commerce = analytics.commerce_installed()
    converted = len(total.order_conversations)
    return Analytics(
        start=start,
        end=end,
        conversations=conversation_count,
        inbound_messages=total.inbound,
        first_response_p50=analytics.histogram_percentile(total.waits, 0.5),
        first_response_p95=analytics.histogram_percentile(total.waits, 0.95),
        coverage=(max(0.0, 1 - unanswered / total.handled) if total.handled else None),
        handoff_rate=(handoffs / conversation_count if conversation_count else None),
        handoffs=handoffs,
        gaps=total.gaps,
        top_intents=sorted(total.intents.items(), key=lambda item: (-item[1], item[0]))[:8],
        per_channel=[
            {"kind": kind, "conversations": n}
            for kind, n in sorted(total.conversations.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        per_day=[(day, per_day.get(day, 0)) for day in analytics.days_between(first, last)],
        chat_orders=total.orders if commerce else None,
        converted_conversations=converted if commerce else None,
        conversion_rate=(converted / conversation_count if commerce and conversation_count else None),
        attributed_revenue=total.revenue if commerce else None,
    )


def answer_gap_groups(*, merchant: Any, limit: int = 50, scan: int = 5000) -> list[dict[str, Any]]:
    """Unresolved unanswered questions grouped by their normalised text, most asked first.
    One query over the newest `scan` gaps; grouping happens here so it stays portable."""
    groups: dict[str, dict[str, Any]] = {}
    rows = AnswerGap.objects.for_merchant(merchant).filter(resolved_at__isnull=True).order_by("-created_at")[:scan]
    for gap in rows:
        key = gap.normalized or gap.question.strip().lower()
        group = groups.setdefault(key, {"normalized": gap.normalized, "key": key, "count": 0, "sample": gap})
        group["count"] += 1
    return sorted(groups.values(), key=lambda g: (-g["count"], g["key"]))[:limit]


def pending_gaps(*, merchant: Any, normalized: str) -> QuerySet[AnswerGap]:
    return AnswerGap.objects.for_merchant(merchant).filter(resolved_at__isnull=True, normalized=normalized)
