"""Staff admin for tenants, members, API tokens and the audit log; actions call services."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from kaleem.admin import MerchantScopedAdmin, ReadOnlyAdminMixin
from merchants import services
from merchants.models import ApiToken, AuditLog, Membership, Merchant


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    raw_id_fields = ["user"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "default_language", "currency", "created_at"]
    list_filter = ["status", "default_language"]
    search_fields = ["name", "slug", "support_email"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [MembershipInline]
    ordering = ["name"]


@admin.register(Membership)
class MembershipAdmin(MerchantScopedAdmin):
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["merchant"]


@admin.register(ApiToken)
class ApiTokenAdmin(MerchantScopedAdmin):
    list_display = ["name", "prefix", "role", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["role"]
    search_fields = ["name", "prefix"]
    fields = [
        "merchant",
        "name",
        "role",
        "prefix",
        "key_hash",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    readonly_fields = ["merchant", "prefix", "key_hash", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_tokens"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are shown once, so they are created where the merchant can copy them

    @admin.action(description="Revoke selected API tokens")
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            services.api_token_revoke(merchant=token.merchant, actor=request.user, token_id=token.pk)
        self.message_user(request, "Selected tokens are revoked.", messages.SUCCESS)


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, MerchantScopedAdmin):
    list_display = ["created_at", "action", "actor", "target_type", "target_id", "ip_address"]
    list_filter = ["action"]
    search_fields = ["action", "target_id", "actor__email"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
