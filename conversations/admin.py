from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from conversations import services
from conversations.models import AnswerGap, Contact, ContactIdentity, Conversation, Lead, LlmUsage, Message
from kaleem.admin import MerchantScopedAdmin, ReadOnlyAdminMixin


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("created_at", "direction", "sender", "kind", "text", "intent", "confidence", "delivery_status")
    readonly_fields = fields
    ordering = ("created_at",)
    show_change_link = True


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "merchant",
        "channel",
        "status",
        "assigned_to",
        "language",
        "unread_count",
        "last_activity_at",
    )
    list_filter = ("status", "language")
    search_fields = ("id", "external_id")
    raw_id_fields = ("merchant", "channel", "contact", "assigned_to")
    readonly_fields = ("latest_inbound_id", "state")
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "merchant", "direction", "sender", "kind", "intent", "delivery_status", "created_at")
    list_filter = ("direction", "sender", "delivery_status", "intent")
    search_fields = ("id", "provider_message_id")
    raw_id_fields = ("merchant", "conversation", "channel", "author", "reply_to")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    # name/phone/email are encrypted at rest: shown decrypted to staff, never searchable by value
    list_display = ("id", "merchant", "language", "last_seen_at", "created_at")
    raw_id_fields = ("merchant",)


@admin.register(ContactIdentity)
class ContactIdentityAdmin(admin.ModelAdmin):
    list_display = ("id", "merchant", "channel", "external_id", "contact")
    raw_id_fields = ("merchant", "channel", "contact")


@admin.register(AnswerGap)
class AnswerGapAdmin(admin.ModelAdmin):
    list_display = ("question", "merchant", "reason", "intent", "language", "created_at", "resolved_at")
    list_filter = ("reason", "language")
    raw_id_fields = ("merchant", "conversation", "message")


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    """Leads are created by the assistant (conversations.services.lead_capture); staff follow them up
    with the actions (conversations.services.lead_set_status), never by rewriting what the customer gave."""

    list_display = ("id", "name", "phone", "status", "language", "source", "created_at")
    list_filter = ("status", "source", "language")
    raw_id_fields = ("merchant", "contact", "conversation")
    actions = ("mark_contacted", "mark_won", "mark_lost")

    def _move(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        for lead in queryset.select_related("merchant"):
            services.lead_set_status(merchant=lead.merchant, actor=request.user, lead=lead, status=status)
        self.message_user(request, f"{queryset.count()} lead(s) marked {status}.")

    @admin.action(description="Mark contacted")
    def mark_contacted(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, Lead.Status.CONTACTED)

    @admin.action(description="Mark won")
    def mark_won(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, Lead.Status.WON)

    @admin.action(description="Mark lost")
    def mark_lost(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, Lead.Status.LOST)


@admin.register(LlmUsage)
class LlmUsageAdmin(admin.ModelAdmin):
    list_display = ("merchant", "month", "prompt_tokens", "completion_tokens", "calls")
    raw_id_fields = ("merchant",)
