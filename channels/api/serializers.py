from typing import Any

from rest_framework import serializers

from channels.models import Channel, ChannelKind, DeadLetter, WhatsAppTemplate
from channels.services import KNOWN_CREDENTIALS


class CredentialsInput(serializers.DictField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(max_length=4096, allow_blank=True), **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        value = super().to_internal_value(data)
        unknown = set(value) - KNOWN_CREDENTIALS
        if unknown:
            raise serializers.ValidationError(f"Unknown credential fields: {sorted(unknown)}")
        return value


class ChannelCreateInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    name = serializers.CharField(max_length=120)
    credentials = CredentialsInput(required=False, default=dict)
    provider_base_url = serializers.URLField(required=False, allow_blank=True, default="", max_length=300)
    settings = serializers.DictField(required=False, default=dict)


class ChannelUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False)
    status = serializers.ChoiceField(choices=[Channel.Status.ACTIVE, Channel.Status.DISABLED], required=False)
    credentials = CredentialsInput(required=False)
    provider_base_url = serializers.URLField(required=False, allow_blank=True, max_length=300)
    settings = serializers.DictField(required=False)


class ChannelOutput(serializers.ModelSerializer):
    credentials_set = serializers.SerializerMethodField(help_text="Names of stored credentials (values never shown).")
    webhook_path = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = [
            "id",
            "kind",
            "name",
            "status",
            "public_key",
            "provider_base_url",
            "settings",
            "external_id",
            "last_error",
            "connected_at",
            "created_at",
            "updated_at",
            "credentials_set",
            "webhook_path",
        ]

    def get_credentials_set(self, obj: Channel) -> list[str]:
        return sorted(obj.credentials)

    def get_webhook_path(self, obj: Channel) -> str:
        return "" if obj.kind == ChannelKind.WEBCHAT else f"/webhooks/{obj.kind}/{obj.public_key}"


class DeadLetterOutput(serializers.ModelSerializer):
    class Meta:
        model = DeadLetter
        fields = [
            "id",
            "channel",
            "message_id",
            "state",
            "error",
            "status_code",
            "attempts",
            "request",
            "created_at",
            "replayed_at",
        ]


class TemplateOutput(serializers.ModelSerializer):
    class Meta:
        model = WhatsAppTemplate
        fields = ["id", "name", "language", "status", "category", "components", "parameter_count", "synced_at"]


class TemplateSendInput(serializers.Serializer):
    template_id = serializers.UUIDField()
    to = serializers.CharField(max_length=32)
    parameters = serializers.ListField(
        child=serializers.CharField(max_length=1024), required=False, default=list, max_length=20
    )
