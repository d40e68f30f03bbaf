"""The conversations app's id-taking endpoints (and the store-knowledge ones), walked by
kaleem/tests/test_tenant_isolation.py."""

from conversations import services
from conversations.tests.factories import ChannelFactory
from kaleem.testing.tenant_isolation import register_tenant_endpoint
from merchants.tests import knowledge_tenant_endpoints  # noqa: F401 - registers knowledge endpoints


def _conversation(merchant):  # noqa: ANN001, ANN202
    channel = ChannelFactory(merchant=merchant)
    return services.record_inbound(
        merchant=merchant, channel=channel, external_id="other-visitor", text="private question"
    ).conversation.pk


BASE = "/api/v1/conversations/{id}"
register_tenant_endpoint("conversation-detail", "GET", BASE, _conversation)
register_tenant_endpoint("conversation-messages", "GET", BASE + "/messages", _conversation)
register_tenant_endpoint("conversation-messages", "POST", BASE + "/messages", _conversation, body={"text": "hi"})
register_tenant_endpoint("conversation-take-over", "POST", BASE + "/take-over", _conversation)
register_tenant_endpoint("conversation-release", "POST", BASE + "/release", _conversation)
register_tenant_endpoint("conversation-assign", "POST", BASE + "/assign", _conversation, body={"assignee_id": None})
register_tenant_endpoint("conversation-close", "POST", BASE + "/close", _conversation)
register_tenant_endpoint("conversation-note", "POST", BASE + "/note", _conversation, body={"text": "note"})


def _lead(merchant):  # noqa: ANN001, ANN202
    lead, _created = services.lead_capture(merchant=merchant, name="Other Customer", phone="0551234567")
    return lead.pk


register_tenant_endpoint("lead-detail", "GET", "/api/v1/leads/{id}", _lead)
register_tenant_endpoint("lead-detail", "PATCH", "/api/v1/leads/{id}", _lead, body={"status": "won"})
