"""Dashboard pages of the conversations area: the live inbox (htmx polling) and analytics.

Reads go through `conversations.dashboard_selectors`, writes through `conversations.services`;
every page is a `merchants.views.DashboardMixin` view (login, membership, role per method)."""

import uuid
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django import forms
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from conversations import dashboard_selectors as selectors
from conversations import inbox_live, services
from conversations.analytics import day_start
from conversations.analytics import merchant_tz as analytics_tz
from conversations.models import Conversation
from kaleem.core.errors import ApplicationError
from kaleem.db import on_commit
from kaleem.tenancy.roles import Role
from merchants.views import DashboardPage, error_message

STATUS_LABELS = {
    "bot": gettext_lazy("Assistant"),
    "waiting_human": gettext_lazy("Waiting for a human"),
    "human": gettext_lazy("Human"),
    "closed": gettext_lazy("Closed"),
}
CHANNEL_LABELS = {
    "webchat": gettext_lazy("Webchat"),
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "instagram": "Instagram",
    "messenger": "Messenger",
}
SENDER_LABELS = {
    "customer": gettext_lazy("Customer"),
    "assistant": gettext_lazy("Assistant"),
    "agent": gettext_lazy("Agent"),
    "system": gettext_lazy("System"),
}
LEAD_LABELS = {
    "new": gettext_lazy("New"),
    "contacted": gettext_lazy("Contacted"),
    "won": gettext_lazy("Won"),
    "lost": gettext_lazy("Lost"),
}
INTENT_LABELS = {
    "product_search": gettext_lazy("Product search"),
    "product_question": gettext_lazy("Product question"),
    "policy_question": gettext_lazy("Policy question"),
    "order_status": gettext_lazy("Order status"),
    "cart_add": gettext_lazy("Add to cart"),
    "cart_view": gettext_lazy("View cart"),
    "checkout": gettext_lazy("Checkout"),
    "greeting": gettext_lazy("Greeting"),
    "thanks": gettext_lazy("Thanks"),
    "human_request": gettext_lazy("Asked for a human"),
    "other": gettext_lazy("Other"),
}
DEFAULT_CANNED = [
    gettext_lazy("Thank you for your message. One moment while I check."),
    gettext_lazy("Your order is on its way; you will receive the tracking number by message."),
    gettext_lazy("Is there anything else I can help you with?"),
]
POLL_SECONDS = 5
# htmx re-fetches a fragment when the live stream says the inbox changed (static/dashboard/dashboard.js),
# polls every POLL_SECONDS while the stream is down, and once a minute regardless (safety net)
LIVE_TRIGGER = f"inbox-changed from:body delay:250ms, every {POLL_SECONDS}s [!window.kaleemInboxLive], every 60s"


def inbox_unread_count(*, merchant: Any, request: Any = None) -> int:
    """Navigation badge (called by merchants.context_processors); an inbox page already counted."""
    counts = getattr(request, "inbox_counts", None) if request is not None else None
    return (counts or selectors.inbox_counts(merchant=merchant))["unread"]


def home_summary(*, merchant: Any) -> dict[str, int]:
    counts = selectors.inbox_counts(merchant=merchant)
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    today = Conversation.objects.for_merchant(merchant).filter(created_at__gte=start).count()
    return {"conversations_today": today, **counts}


class InboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("All"))] + list(STATUS_LABELS.items()),
    )
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), required=False)
    mine = forms.BooleanField(label=gettext_lazy("Assigned to me"), required=False)
    unread = forms.BooleanField(label=gettext_lazy("Unread"), required=False)
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=100)
    before = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, channels: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [("", _("All"))] + [
            (str(c.pk), f"{CHANNEL_LABELS.get(c.kind, c.kind)} — {c.name}") for c in channels
        ]

    def to_filters(self) -> selectors.InboxFilters:
        if not self.is_valid():
            return selectors.InboxFilters()
        data = self.cleaned_data
        before = parse_datetime(data.get("before") or "") if data.get("before") else None
        return selectors.InboxFilters(
            status=data.get("status") or "",
            channel_id=data.get("channel") or "",
            mine=bool(data.get("mine")),
            unread=bool(data.get("unread")),
            query=(data.get("q") or "").strip(),
            before=before if before and timezone.is_aware(before) else None,
        )


def _channels(merchant: Any) -> list[Any]:
    from channels.selectors import channel_list

    return list(channel_list(merchant=merchant))


def _decorate(conversation: Conversation) -> Conversation:
    conversation.status_label = STATUS_LABELS.get(conversation.status, conversation.status)
    conversation.channel_label = CHANNEL_LABELS.get(conversation.channel.kind, conversation.channel.kind)
    contact = conversation.contact
    conversation.display_name = (contact.name if contact and contact.name else "") or _("Visitor %(ref)s") % {
        "ref": conversation.external_id[-6:]
    }
    text = getattr(conversation, "last_text", None) or ""
    conversation.preview = text if len(text) <= 80 else text[:79] + "…"
    return conversation


class InboxMixin:
    nav_section = "inbox"

    def inbox_context(self, conversation_id: Any = None) -> dict[str, Any]:
        channels = _channels(self.merchant)
        form = InboxFilterForm(self.request.GET or None, channels=channels)
        filters = form.to_filters()
        rows = [
            _decorate(c) for c in selectors.inbox_list(merchant=self.merchant, user=self.request.user, filters=filters)
        ]
        counts = selectors.inbox_counts(merchant=self.merchant)
        self.request.inbox_counts = counts  # the navigation badge reuses it
        query = self.request.GET.copy()
        query.pop("before", None)
        older = None
        if len(rows) == selectors.INBOX_PAGE_SIZE and rows[-1].last_activity_at:
            query["before"] = rows[-1].last_activity_at.isoformat()
            older = query.urlencode()
        query.pop("before", None)
        return {
            "filter_form": form,
            "conversations": rows,
            "counts": counts,
            "selected_id": str(conversation_id) if conversation_id else "",
            "filter_query": query.urlencode(),
            "older_query": older,
            "poll_seconds": POLL_SECONDS,
            "live_trigger": LIVE_TRIGGER,
        }


class InboxView(InboxMixin, DashboardPage):
    template_name = "conversations/inbox/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.inbox_context())
        return context


class InboxListPartial(InboxMixin, DashboardPage):
    """The list fragment htmx polls every few seconds."""

    template_name = "conversations/inbox/_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(self.inbox_context(self.request.GET.get("selected") or None))
        return context


class InboxEventsView(InboxMixin, DashboardPage):
    """Server-Sent Events: `event: inbox` whenever the store's inbox changes; the page then
    re-fetches its list and thread fragments (the stream itself carries no data)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        merchant_id = self.merchant.pk
        if isinstance(request, ASGIRequest):
            body: Any = inbox_live.sse_async(merchant_id=merchant_id)
        else:
            body = inbox_live.sse_sync(merchant_id=merchant_id)
        response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
        response["Cache-Control"] = "no-cache, no-store"
        response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
        return response


def _uuid(value: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise Http404 from None


class ThreadMixin(InboxMixin):
    def get_conversation(self) -> Conversation:
        conversation = selectors.conversation_get(merchant=self.merchant, conversation_id=_uuid(self.kwargs["pk"]))
        if conversation is None:
            raise Http404
        return _decorate(conversation)

    def thread_context(self, conversation: Conversation) -> dict[str, Any]:
        rows = selectors.thread_messages(conversation=conversation)
        for m in rows:
            m.sender_label = SENDER_LABELS.get(m.sender, m.sender)
        panel = selectors.contact_panel(merchant=self.merchant, conversation=conversation)
        for lead in panel.leads:
            lead.status_label = LEAD_LABELS.get(lead.status, lead.status)
        for identity in panel.identities:
            identity.channel_label = CHANNEL_LABELS.get(identity.channel.kind, identity.channel.kind)
        can_reply = self.can(Role.AGENT)
        return {
            "conversation": conversation,
            "thread": rows,
            "panel": panel,
            "can_reply": can_reply,
            "canned": _canned_responses(self.merchant) if can_reply else [],
            "agents": _agents(self.merchant) if can_reply else [],
            "poll_seconds": POLL_SECONDS,
            "live_trigger": LIVE_TRIGGER,
        }


def _canned_responses(merchant: Any) -> list[str]:
    """Defaults plus the store's own FAQ answers, so agents reuse what the assistant knows."""
    answers: list[str] = [str(text) for text in DEFAULT_CANNED]
    try:
        from merchants.knowledge.selectors import faq_list
    except ImportError:
        return answers
    answers += [faq.answer for faq in faq_list(merchant=merchant)[:10]]
    return answers


def _agents(merchant: Any) -> list[Any]:
    from merchants.selectors import team_member_list

    return [m for m in team_member_list(merchant=merchant) if m.role in (Role.AGENT, Role.ADMIN, Role.OWNER)]


class ThreadView(ThreadMixin, DashboardPage):
    template_name = "conversations/inbox/index.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        conversation = self.get_conversation()
        if conversation.unread_count:
            services.conversation_mark_read(merchant=self.merchant, conversation_id=conversation.pk)
        context.update(self.inbox_context(conversation.pk))
        context.update(self.thread_context(conversation))
        return context


class ThreadPartial(ThreadMixin, DashboardPage):
    """What htmx polls: the messages, plus the header and contact panel swapped out-of-band
    (the reply box is not re-rendered, so a half-written reply survives the poll)."""

    template_name = "conversations/inbox/_poll.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        conversation = self.get_conversation()
        if conversation.unread_count:
            services.conversation_mark_read(merchant=self.merchant, conversation_id=conversation.pk)
        context.update(self.thread_context(conversation))
        return context


class ThreadActionView(ThreadMixin, DashboardPage):
    """POST take-over / release / close / assign / reply / note. Agents and up."""

    write_role = Role.AGENT
    template_name = "conversations/inbox/_thread.html"
    actions = ("reply", "note", "take-over", "release", "close", "assign")

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        action = kwargs["action"]
        if action not in self.actions:
            raise Http404
        conversation = self.get_conversation()
        common = {"merchant": self.merchant, "actor": request.user, "conversation_id": conversation.pk}
        error = ""
        try:
            if action == "reply":
                text = (request.POST.get("text") or "").strip()
                if not text:
                    error = _("Write a message first.")
                elif len(text) > 4000:
                    error = _("Keep the message under 4,000 characters.")
                else:
                    services.agent_reply_send(text=text, **common)
            elif action == "note":
                text = (request.POST.get("text") or "").strip()
                if not text:
                    error = _("Write a note first.")
                elif len(text) > 4000:
                    error = _("Keep the note under 4,000 characters.")
                else:
                    services.conversation_note_add(text=text, **common)
            elif action == "take-over":
                services.conversation_take_over(**common)
            elif action == "release":
                services.conversation_release(**common)
            elif action == "close":
                services.conversation_close(**common)
            elif action == "assign":
                assignee = request.POST.get("assignee") or ""
                allowed = {str(m.user_id): m.user_id for m in _agents(self.merchant)}
                if assignee and assignee not in allowed:
                    error = str(ACTION_ERRORS["invalid_assignee"])
                else:
                    services.conversation_assign(assignee_id=allowed.get(assignee), **common)
        except ApplicationError as exc:
            error = _action_error(exc)
        if not error:  # other agents' open inboxes refresh now (conversations.inbox_live)
            merchant_id = self.merchant.pk
            on_commit(lambda: inbox_live.inbox_notify(merchant_id=merchant_id))
        if not request.htmx:
            if error:
                messages.error(request, error)
            return redirect(reverse("dashboard-inbox-thread", kwargs={"pk": conversation.pk}))
        context = self.get_context_data()
        context.update(self.thread_context(self.get_conversation()))
        context["action_error"] = error
        context["oob_panel"] = True
        if error and action in ("reply", "note"):
            context["draft"] = request.POST.get("text", "")[:4000]
        return self.render_to_response(context, status=400 if error else 200)


ACTION_ERRORS = {
    "invalid_transition": gettext_lazy("That is not possible in the conversation's current state."),
    "conversation_closed": gettext_lazy("This conversation is closed; take it over to write."),
    "invalid_assignee": gettext_lazy("Choose a member of this store with the agent role or higher."),
}


def _action_error(exc: ApplicationError) -> str:
    return str(ACTION_ERRORS.get(exc.code) or error_message(exc))


# --- analytics -------------------------------------------------------------------------------

PERIODS = {"7": 7, "30": 30, "90": 90}


class AnalyticsView(DashboardPage):
    template_name = "conversations/analytics.html"
    nav_section = "analytics"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        period = self.request.GET.get("period", "30")
        days = PERIODS.get(period, 30)
        start, end = period_bounds(days, tz=analytics_tz(self.merchant))
        # closed days come from the daily roll-up (conversations.analytics), today from the source
        # tables: no cache needed, and today's figures are current
        data = selectors.analytics_summary(merchant=self.merchant, start=start, end=end)
        context.update(
            period=str(days),
            periods=[("7", _("Last 7 days")), ("30", _("Last 30 days")), ("90", _("Last 90 days"))],
            data=data,
            chart=_bar_chart(data.per_day),
            channel_rows=[{**row, "label": CHANNEL_LABELS.get(row["kind"], row["kind"])} for row in data.per_channel],
            intent_rows=[
                {"intent": intent, "label": INTENT_LABELS.get(intent, intent), "count": n}
                for intent, n in data.top_intents
            ],
            end_display=end - timedelta(days=1),
        )
        return context


def _bar_chart(per_day: list[tuple[Any, int]], width: int = 720, height: int = 180) -> dict[str, Any]:
    """Geometry for an inline SVG bar chart drawn by the template (no chart library)."""
    peak = max((n for _d, n in per_day), default=0) or 1
    count = max(len(per_day), 1)
    slot = width / count
    bar = max(slot * 0.7, 1)
    bars = []
    for i, (day, n) in enumerate(per_day):
        h = round((height - 20) * n / peak, 1)
        bars.append(
            {
                "x": round(i * slot + (slot - bar) / 2, 1),
                "y": round(height - 20 - h, 1),
                "w": round(bar, 1),
                "h": h,
                "day": day,
                "n": n,
            }
        )
    return {"width": width, "height": height, "bars": bars, "peak": peak, "baseline": height - 20}


def period_bounds(days: int, now: datetime | None = None, tz: tzinfo | None = None) -> tuple[datetime, datetime]:
    """The last `days` local days including today, as [start of the first, start of tomorrow)
    in `tz` (the store's time zone; the current one by default)."""
    tz = tz or timezone.get_current_timezone()
    today = timezone.localtime(now or timezone.now(), tz).date()
    return day_start(today - timedelta(days=days - 1), tz), day_start(today + timedelta(days=1), tz)
