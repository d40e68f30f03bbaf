"""The channels app's id-taking endpoints, walked by kaleem/tests/test_tenant_isolation.py."""

from channels.models import Channel, ChannelKind, DeadLetter, WhatsAppTemplate
from kaleem.testing.tenant_isolation import register_tenant_endpoint


def _channel(merchant, kind=ChannelKind.WHATSAPP):  # noqa: ANN001, ANN202
    channel = Channel(
        merchant=merchant, kind=kind, name="other store's channel", provider_base_url="http://127.0.0.1:9"
    )
    channel.credentials = {"access_token": "t", "phone_number_id": "1", "app_secret": "s", "waba_id": "w"}
    channel.save()
    return channel


def _channel_id(merchant):  # noqa: ANN001, ANN202
    return _channel(merchant).pk


def _dead_letter(merchant):  # noqa: ANN001, ANN202
    return DeadLetter.objects.create(merchant=merchant, channel=_channel(merchant), error="x").pk


def _template_channel(merchant):  # noqa: ANN001, ANN202
    channel = _channel(merchant)
    WhatsAppTemplate.objects.create(
        merchant=merchant, channel=channel, name="order_update", language="ar", status="APPROVED"
    )
    return channel.pk


CHANNEL = "/api/v1/channels/{id}"
register_tenant_endpoint("channel-detail", "GET", CHANNEL, _channel_id)
register_tenant_endpoint("channel-detail", "PATCH", CHANNEL, _channel_id, body={"name": "stolen"})
register_tenant_endpoint("channel-detail", "DELETE", CHANNEL, _channel_id)
register_tenant_endpoint("channel-connect", "POST", CHANNEL + "/connect", _channel_id)
register_tenant_endpoint("channel-dead-letters", "GET", CHANNEL + "/dead-letters", _channel_id)
register_tenant_endpoint("channel-templates", "GET", CHANNEL + "/templates", _template_channel)
register_tenant_endpoint("channel-templates-sync", "POST", CHANNEL + "/templates/sync", _channel_id)
register_tenant_endpoint(
    "channel-templates-send",
    "POST",
    CHANNEL + "/templates/send",
    _template_channel,
    body={"template_id": "00000000-0000-0000-0000-000000000000", "to": "966551234567"},
)
register_tenant_endpoint("dead-letter-replay", "POST", "/api/v1/dead-letters/{id}/replay", _dead_letter)
register_tenant_endpoint("dead-letter-discard", "POST", "/api/v1/dead-letters/{id}/discard", _dead_letter)
