"""Inbox API, simulator and answer gaps: shapes, roles, audit, cross-tenant 404."""

import pytest

from conversations import services
from conversations.models import AnswerGap, Message
from conversations.tests.factories import ChannelFactory
from kaleem.models import OutboxEvent
from kaleem.testing.api import member_client
from merchants.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(owner):
    client, merchant, user = owner
    channel = ChannelFactory(merchant=merchant)
    result = services.record_inbound(
        merchant=merchant,
        channel=channel,
        external_id="v1",
        text="مرحبا",
        contact_name="Noura",
        provider_message_id="p1",
    )
    return client, merchant, user, result.conversation


def test_list_detail_and_thread(thread):
    client, _merchant, _user, conversation = thread
    listed = client.get("/api/v1/conversations")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["results"]] == [str(conversation.id)]
    detail = client.get(f"/api/v1/conversations/{conversation.id}").json()
    assert detail["status"] == "bot" and detail["contact"]["name"] == "Noura"
    messages = client.get(f"/api/v1/conversations/{conversation.id}/messages").json()["results"]
    assert messages[0]["text"] == "مرحبا" and messages[0]["sender"] == "customer"


def test_filter_by_status(thread):
    client, merchant, user, conversation = thread
    services.conversation_close(merchant=merchant, actor=user, conversation_id=conversation.id)
    assert client.get("/api/v1/conversations?status=bot").json()["results"] == []
    assert len(client.get("/api/v1/conversations?status=closed,bot").json()["results"]) == 1


def test_agent_reply_takes_over_and_emits_outbound(thread):
    client, _merchant, _user, conversation = thread
    response = client.post(
        f"/api/v1/conversations/{conversation.id}/messages", {"text": "أهلاً، كيف أخدمك؟"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["sender"] == "agent" and body["delivery_status"] == "pending"
    conversation.refresh_from_db()
    assert conversation.status == "human"
    assert OutboxEvent.objects.filter(event_type="message.outbound", payload__message_id=body["id"]).exists()
    assert AuditLog.objects.filter(action="conversation.agent_replied").exists()


def test_blank_and_oversized_agent_reply_are_rejected(thread):
    client, _merchant, _user, conversation = thread
    url = f"/api/v1/conversations/{conversation.id}/messages"
    assert client.post(url, {"text": "   "}, format="json").status_code == 400
    assert client.post(url, {"text": "x" * 4001}, format="json").status_code == 400
    assert client.post(url, {}, format="json").status_code == 400


def test_actions_follow_the_state_machine_and_are_audited(thread):
    client, _merchant, user, conversation = thread
    base = f"/api/v1/conversations/{conversation.id}"
    assert client.post(f"{base}/release").status_code == 409  # the bot already owns it
    assert client.post(f"{base}/take-over").json()["status"] == "human"
    assert client.post(f"{base}/release").json()["status"] == "bot"
    assert client.post(f"{base}/assign", {"assignee_id": user.pk}, format="json").json()["assigned_to"]["id"] == user.pk
    assert client.post(f"{base}/assign", {"assignee_id": 999999}, format="json").status_code == 400
    note = client.post(f"{base}/note", {"text": "VIP customer"}, format="json")
    assert note.status_code == 201 and note.json()["kind"] == "note"
    assert not OutboxEvent.objects.filter(payload__message_id=note.json()["id"]).exists()  # never sent
    assert client.post(f"{base}/close").json()["status"] == "closed"
    actions = set(AuditLog.objects.values_list("action", flat=True))
    assert {
        "conversation.taken_over",
        "conversation.released",
        "conversation.assigned",
        "conversation.note_added",
        "conversation.closed",
    } <= actions


def test_viewer_reads_but_cannot_act(thread):
    _client, merchant, _user, conversation = thread
    viewer, _m, _u = member_client("viewer", merchant=merchant)
    assert viewer.get(f"/api/v1/conversations/{conversation.id}").status_code == 200
    assert viewer.get(f"/api/v1/conversations/{conversation.id}").json()["contact"]["phone"] == ""
    for action in ("take-over", "release", "close"):
        assert viewer.post(f"/api/v1/conversations/{conversation.id}/{action}").status_code == 403
    assert (
        viewer.post(f"/api/v1/conversations/{conversation.id}/messages", {"text": "x"}, format="json").status_code
        == 403
    )
    assert viewer.post("/api/v1/assistant/simulate", {"text": "hi"}, format="json").status_code == 403


def test_agent_can_act(thread):
    _client, merchant, _user, conversation = thread
    agent, _m, _u = member_client("agent", merchant=merchant)
    assert agent.post(f"/api/v1/conversations/{conversation.id}/take-over").status_code == 200


def test_other_store_gets_404_everywhere(thread, other_owner):
    _client, _merchant, _user, conversation = thread
    other, _m, _u = other_owner
    base = f"/api/v1/conversations/{conversation.id}"
    assert other.get(base).status_code == 404
    assert other.get(f"{base}/messages").status_code == 404
    assert other.post(f"{base}/messages", {"text": "hi"}, format="json").status_code == 404
    for action in ("take-over", "release", "close"):
        assert other.post(f"{base}/{action}").status_code == 404
    assert other.post(f"{base}/note", {"text": "x"}, format="json").status_code == 404
    assert other.get("/api/v1/conversations").json()["results"] == []
    assert Message.objects.filter(sender="agent").count() == 0


def test_forged_ids_are_404_not_500(owner):
    client, _merchant, _user = owner
    assert client.get("/api/v1/conversations/not-a-uuid").status_code == 404
    assert client.get("/api/v1/conversations/00000000-0000-0000-0000-000000000000").status_code == 404


def test_simulate_answers_with_the_exact_shape(store):
    client, _m, _u = member_client("agent", merchant=store)
    response = client.post("/api/v1/assistant/simulate", {"text": "عندكم عبايات؟"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"session", "reply", "intent", "confidence", "handoff", "evidence", "latency_ms"}
    assert set(body["reply"]) == {"text", "elements"}
    card = next(e for e in body["reply"]["elements"] if e["type"] == "product")
    assert set(card) == {"type", "id", "sku", "title", "price", "currency", "image_url", "in_stock"}
    assert {"kind", "id", "score"} <= set(body["evidence"][0])
    # the session continues the dialogue (running filters)
    follow = client.post(
        "/api/v1/assistant/simulate", {"text": "بالكحلي", "session": body["session"]}, format="json"
    ).json()
    assert [e["sku"] for e in follow["reply"]["elements"] if e["type"] == "product"] == ["AB-2"]


def test_simulate_policy_evidence_and_bad_input(store):
    client, _m, _u = member_client("owner", merchant=store)
    body = client.post("/api/v1/assistant/simulate", {"text": "كم رسوم الشحن؟"}, format="json").json()
    assert body["intent"] == "policy_question" and body["evidence"][0]["kind"] == "policy"
    assert client.post("/api/v1/assistant/simulate", {"text": "x" * 10_001}, format="json").status_code == 400
    assert client.post("/api/v1/assistant/simulate", {}, format="json").status_code == 400
    assert client.post("/api/v1/assistant/simulate", {"text": ""}, format="json").status_code == 200


def test_answer_gaps_group_similar_questions(owner):
    client, merchant, _user = owner
    for question in ("هل عندكم برنامج ولاء؟", "عندكم برنامج ولاء ونقاط؟", "do you have a loyalty program"):
        services.answer_gap_record(merchant=merchant, question=question, reason="no_evidence", language="ar")
    services.answer_gap_record(merchant=merchant, question="هل توظفون؟", reason="no_evidence", language="ar")
    body = client.get("/api/v1/analytics/answer-gaps").json()
    assert body["results"][0]["count"] >= 2
    assert sum(g["count"] for g in body["results"]) == 4
    assert AnswerGap.objects.count() == 4
    assert client.get("/api/v1/analytics/answer-gaps?days=0").status_code == 400


def test_answer_gaps_are_tenant_scoped(owner, other_owner):
    _client, merchant, _user = owner
    services.answer_gap_record(merchant=merchant, question="سؤال سري", reason="no_evidence")
    other, _m, _u = other_owner
    assert other.get("/api/v1/analytics/answer-gaps").json()["results"] == []
