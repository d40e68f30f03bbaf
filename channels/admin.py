from typing import Any

from django.contrib import admin, messages

from channels import services
from channels.models import Channel, DeadLetter, OutboundDelivery, WebhookEvent, WhatsAppTemplate
from kaleem.admin import MerchantScopedAdmin


@admin.register(Channel)
class ChannelAdmin(MerchantScopedAdmin):
    list_display = ("name", "kind", "status", "merchant", "public_key", "created_at")
    list_filter = ("kind", "status")
    search_fields = ("name", "public_key", "external_id")
    exclude = ("credentials_encrypted",)  # secrets never shown; edit them through the API
    readonly_fields = ("public_key", "connected_at", "last_error")


@admin.register(WebhookEvent)
class WebhookEventAdmin(MerchantScopedAdmin):
    list_display = ("provider_event_id", "kind", "event_type", "state", "attempts", "received_at")
    list_filter = ("kind", "state", "event_type")
    search_fields = ("provider_event_id", "sender_id")
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]


@admin.register(OutboundDelivery)
class OutboundDeliveryAdmin(MerchantScopedAdmin):
    list_display = ("message_id", "channel", "state", "attempts", "provider_message_id", "sent_at")
    list_filter = ("state",)
    readonly_fields = [f.name for f in OutboundDelivery._meta.fields]


@admin.action(description="Replay selected dead letters")
def replay_dead_letters(modeladmin: Any, request: Any, queryset: Any) -> None:
    replayed = 0
    for dead in queryset.filter(state=DeadLetter.State.OPEN):
        services.dead_letter_replay(merchant=dead.merchant_id, dead_letter_id=dead.id)
        replayed += 1
    modeladmin.message_user(request, f"Replayed {replayed} dead letter(s).", messages.SUCCESS)


@admin.register(DeadLetter)
class DeadLetterAdmin(MerchantScopedAdmin):
    list_display = ("id", "channel", "state", "status_code", "attempts", "created_at")
    list_filter = ("state",)
    actions = [replay_dead_letters]
    readonly_fields = [f.name for f in DeadLetter._meta.fields]


@admin.register(WhatsAppTemplate)
class WhatsAppTemplateAdmin(MerchantScopedAdmin):
    list_display = ("name", "language", "status", "category", "channel", "synced_at")
    list_filter = ("status", "category")
