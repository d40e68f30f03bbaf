"""Input/Output serializers of the integrations API. Credentials and secrets are write-only."""

from rest_framework import serializers

from integrations.models import Platform, PlatformConnection, SyncJob, WebhookDelivery, WebhookSubscription


class ConnectionInput(serializers.Serializer):
    platform = serializers.ChoiceField(choices=Platform.choices)
    credentials = serializers.DictField(child=serializers.CharField(max_length=2000, allow_blank=True))
    shop_domain = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    external_store_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    base_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    api_version = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    checkout_url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")


class ConnectionOutput(serializers.ModelSerializer):
    webhook_path = serializers.SerializerMethodField()

    class Meta:
        model = PlatformConnection
        fields = [
            "id", "platform", "status", "shop_domain", "external_store_id", "base_url", "api_version",
            "checkout_url", "webhook_path", "last_synced_at", "last_error", "created_at", "updated_at",
        ]  # fmt: skip

    def get_webhook_path(self, connection: PlatformConnection) -> str:
        return f"/webhooks/platforms/{connection.platform}/{connection.public_key}"


class ConnectOutput(serializers.Serializer):
    store = serializers.DictField()
    webhook_url = serializers.CharField()
    topics = serializers.ListField(child=serializers.CharField())


class SyncJobOutput(serializers.ModelSerializer):
    connection = serializers.UUIDField(source="connection_id")

    class Meta:
        model = SyncJob
        fields = [
            "id", "connection", "kind", "state", "total", "processed", "created_count", "updated_count",
            "archived_count", "pages", "message", "started_at", "finished_at", "created_at",
        ]  # fmt: skip


class SubscriptionInput(serializers.Serializer):
    url = serializers.URLField(max_length=1000)
    events = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=20)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    auth_header_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    auth_header_value = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class SubscriptionUpdateInput(SubscriptionInput):
    active = serializers.BooleanField(required=False)
    rotate_secret = serializers.BooleanField(required=False)


class SubscriptionOutput(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "description", "active", "auth_header_name", "created_at", "updated_at"]


class SubscriptionSecretOutput(SubscriptionOutput):
    """Returned on create and on rotation only: the signing secret."""

    class Meta(SubscriptionOutput.Meta):
        fields = [*SubscriptionOutput.Meta.fields, "secret"]


class DeliveryOutput(serializers.ModelSerializer):
    subscription = serializers.UUIDField(source="subscription_id")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "subscription", "event_id", "event_type", "event_created_at", "state", "attempts",
            "next_attempt_at", "delivered_at", "last_status_code", "last_latency_ms", "last_error", "log",
        ]  # fmt: skip


class ReplayInput(serializers.Serializer):
    delivery_ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=1000)


class ReplayOutput(serializers.Serializer):
    replayed = serializers.IntegerField()
