"""Reads behind the dashboard inbox and analytics pages (the assistant area owns the models and
writes; these are page-shaped queries over them, tenant-scoped by `merchant=`)."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from conversations.models import AnswerGap, Contact, Conversation, Lead, Message

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
        # contact names are encrypted at rest, so search covers message text and channel ids
        matching = (
            Message.objects.for_merchant(merchant).filter(text__icontains=filters.query).values("conversation_id")
        )
        qs = qs.filter(Q(id__in=Subquery(matching)) | Q(external_id__icontains=filters.query))
    if filters.before:
        qs = qs.filter(last_activity_at__lt=filters.before)
    return list(qs.order_by("-last_activity_at", "-created_at")[:limit])


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


def _commerce_figures(*, merchant: Any, start: datetime, end: datetime) -> dict[str, Any]:
    """Orders placed in the period that came from a conversation (not cancelled): the assistant's
    contribution. Empty when the commerce part of the catalog is not installed."""
    try:
        from catalog.commerce_selectors import order_list
    except ImportError:
        return {}
    from django.db.models import Sum

    row = (
        order_list(merchant=merchant, filters={"created_after": start, "created_before": end})
        .filter(conversation_id__isnull=False)
        .exclude(status__in=["cancelled"])
        .aggregate(orders=Count("id"), conversations=Count("conversation_id", distinct=True), revenue=Sum("total"))
    )
    return {"orders": row["orders"] or 0, "conversations": row["conversations"] or 0, "revenue": row["revenue"] or 0}


HANDOFF_REASONS = [AnswerGap.Reason.HUMAN_REQUEST, AnswerGap.Reason.HANDOFF]


def analytics_summary(*, merchant: Any, start: datetime, end: datetime) -> Analytics:
    """Figures for the period [start, end), in four queries whatever the volume (one scans the
    period's customer messages once).

    - conversations: started in the period (per channel and per day in the store's time zone);
    - first response: per conversation started in the period, its first assistant/agent reply
      minus its start (the customer's first message), p50/p95 by nearest rank;
    - coverage: share of customer messages the assistant handled without leaving an answer gap
      (a message with several gaps counts once — the same rule as conversations.selectors);
    - hand-off rate: share of started conversations with a hand-off (asked for a human or
      repeated failure) recorded in the period."""
    tz = timezone.get_current_timezone()
    per_channel: dict[str, int] = {}
    per_day: dict[date, int] = {}
    conversation_count = 0
    started = Conversation.objects.for_merchant(merchant).filter(created_at__gte=start, created_at__lt=end)
    # A conversation is opened by its customer's first message (record_inbound creates both in one
    # transaction), so the first response is the first assistant/agent reply minus the start: one
    # index seek per conversation on (conversation, created_at), no scan of every message.
    first_reply = (
        Message.objects.filter(
            conversation=OuterRef("pk"),
            kind=Message.Kind.MESSAGE,
            direction=Message.Direction.OUTBOUND,
            sender__in=[Message.Sender.ASSISTANT, Message.Sender.AGENT],
        )
        .order_by("created_at")
        .values("created_at")[:1]
    )
    waits = []
    rows = started.annotate(first_reply=Subquery(first_reply)).values_list("created_at", "channel__kind", "first_reply")
    for created, kind, replied in rows:
        conversation_count += 1
        per_channel[kind] = per_channel.get(kind, 0) + 1
        day = timezone.localtime(created, tz).date()
        per_day[day] = per_day.get(day, 0) + 1
        if replied is not None and replied >= created:
            waits.append((replied - created).total_seconds())

    msgs = Message.objects.for_merchant(merchant).filter(created_at__gte=start, created_at__lt=end)
    customer = Q(direction=Message.Direction.INBOUND, sender=Message.Sender.CUSTOMER)
    # one pass gives both the totals and the top intents: group customer messages by intent
    by_intent = (
        msgs.filter(customer)
        .values("intent")
        .annotate(n=Count("id"), handled=Count("id", filter=Q(assistant_claimed_at__isnull=False)))
    )
    inbound_count, handled, intent_counts = 0, 0, []
    for row in by_intent:
        inbound_count += row["n"]
        handled += row["handled"]
        if row["intent"]:
            intent_counts.append((row["intent"], row["n"]))
    intent_counts.sort(key=lambda item: (-item[1], item[0]))
    gaps = AnswerGap.objects.for_merchant(merchant).filter(created_at__gte=start, created_at__lt=end)
    gap_row = gaps.aggregate(
        total=Count("id"),
        # one customer message can leave several gaps (low confidence, then hand-off): count it once
        messages=Count("message_id", distinct=True),
        without_message=Count("id", filter=Q(message__isnull=True)),
        handoffs=Count(
            "conversation_id", distinct=True, filter=Q(reason__in=HANDOFF_REASONS, conversation__isnull=False)
        ),
    )
    gap_count = gap_row["total"] or 0
    unanswered = (gap_row["messages"] or 0) + (gap_row["without_message"] or 0)
    handoffs = gap_row["handoffs"] or 0

    days = []
    cursor = timezone.localtime(start, tz).date()
    last_day = timezone.localtime(end - timedelta(microseconds=1), tz).date()
    while cursor <= last_day:
        days.append((cursor, per_day.get(cursor, 0)))
        cursor += timedelta(days=1)
    commerce = _commerce_figures(merchant=merchant, start=start, end=end)
    return Analytics(
        chat_orders=commerce.get("orders"),
        converted_conversations=commerce.get("conversations"),
        conversion_rate=(commerce["conversations"] / conversation_count if commerce and conversation_count else None),
        attributed_revenue=commerce.get("revenue"),
        start=start,
        end=end,
        conversations=conversation_count,
        inbound_messages=inbound_count,
        first_response_p50=percentile(waits, 0.5),
        first_response_p95=percentile(waits, 0.95),
        coverage=(max(0.0, 1 - unanswered / handled) if handled else None),
        handoff_rate=(handoffs / conversation_count if conversation_count else None),
        handoffs=handoffs,
        gaps=gap_count,
        top_intents=intent_counts[:8],
        per_channel=[
            {"kind": kind, "conversations": n}
            for kind, n in sorted(per_channel.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        per_day=days,
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
