from django.contrib import admin

from conversations.models import AnswerGap, Contact, ContactIdentity, Conversation, Lead, LlmUsage, Message


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
class LeadAdmin(admin.ModelAdmin):
    list_display = ("id", "merchant", "status", "created_at")
    raw_id_fields = ("merchant", "contact", "conversation")


@admin.register(LlmUsage)
class LlmUsageAdmin(admin.ModelAdmin):
    list_display = ("merchant", "month", "prompt_tokens", "completion_tokens", "calls")
    raw_id_fields = ("merchant",)
