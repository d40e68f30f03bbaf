"""Lead capture: a customer asks to be contacted, the assistant collects name and Saudi mobile in the
customer's language, creates one Lead per turn and emits `lead.created` (no PII) through the outbox;
leads are listed in the API (phone masked for viewers) and reach automation subscriptions."""

import pytest

from conversations.assistant.pipeline import run_turn
from conversations.models import Lead
from conversations.services import lead_capture
from integrations import services as integrations_services
from integrations.models import WebhookDelivery
from kaleem.core.errors import ApplicationError
from kaleem.models import OutboxEvent
from kaleem.outbox.services import relay_pending
from kaleem.testing.api import member_client

pytestmark = pytest.mark.django_db


def turn(store, text, state=None, turn_id=None):
    return run_turn(merchant=store, text=text, state=state or {}, turn_id=turn_id)


@pytest.mark.parametrize(
    "text",
    [
        "كلموني",
        "ابي احد يتواصل معي",
        "ممكن تتصلون علي بخصوص العباية",
        "اتصلوا علي لو سمحت",
        "تواصلوا معي على الواتس",
        "call me back",
        "Can someone call me about the abaya?",
        "please contact me",
        "I'd like you to get in touch with me",
    ],
)
def test_contact_requests_start_the_lead_dialogue(store, text):
    result = turn(store, text)
    assert result.intent == "lead_request" and not result.handoff
    assert result.state["lead"]["step"] == "name"
    assert [e["payload"] for e in result.reply.elements] == ["lead:cancel"]


@pytest.mark.parametrize(
    "text", ["ابي احد من الدعم يكلمني", "ممكن أحد من الفريق يكلمني؟", "I want to talk to an agent", "ابي اكلم موظف"]
)
def test_asking_for_an_agent_is_still_a_hand_off(store, text):
    result = turn(store, text)
    assert result.intent == "human_request" and result.handoff


@pytest.mark.parametrize("text", ["how can I contact you?", "وش رقمكم؟", "كيف اتواصل معكم"])
def test_asking_how_to_reach_the_store_is_not_a_lead(store, text):
    assert turn(store, text).intent != "lead_request"


def test_arabic_dialogue_validates_the_phone_and_creates_one_lead_with_an_event(store):
    started = turn(store, "كلموني بخصوص العباية السوداء")
    assert "اسمك" in started.reply.text
    asked = turn(store, "اسمي سارة", started.state)
    assert asked.intent == "lead_request" and "سارة" in asked.reply.text and "جوال" in asked.reply.text
    bad = turn(store, "12345", asked.state)
    assert "غير صحيح" in bad.reply.text and not Lead.objects.exists()
    done = turn(store, "٠٥٥ ١٢٣ ٤٥٦٧", bad.state, turn_id="m-3")
    assert "تم" in done.reply.text and "+966551234567" in done.reply.text
    assert "lead" not in done.state
    lead = Lead.objects.get()
    assert (lead.merchant_id, lead.name, lead.phone, lead.language, lead.status, lead.source) == (
        store.pk,
        "سارة",
        "+966551234567",
        "ar",
        "new",
        "chat",
    )
    assert lead.interest == "كلموني بخصوص العباية السوداء" and lead.idempotency_key == "turn:m-3"
    event = OutboxEvent.objects.get(event_type="lead.created")
    assert event.merchant_id == store.pk and event.payload["lead_id"] == str(lead.pk)
    assert "551234567" not in str(event.payload) and "سارة" not in str(event.payload)  # no PII in events


def test_english_name_and_number_in_one_message(store):
    started = turn(store, "call me back please")
    assert "What's your name" in started.reply.text
    done = turn(store, "My name is John Smith, +966 55 123 4567", started.state, turn_id="m-2")
    assert "John Smith" in done.reply.text and "+966551234567" in done.reply.text
    assert Lead.objects.get().name == "John Smith"


def test_number_given_with_the_request_is_kept(store):
    started = turn(store, "call me on 0551234567")
    done = turn(store, "Ali", started.state, turn_id="m-2")
    assert "+966551234567" in done.reply.text and Lead.objects.get().phone == "+966551234567"


def test_the_same_turn_run_twice_creates_one_lead_and_one_event(store):
    asked = turn(store, "سارة", turn(store, "كلموني").state)
    first = turn(store, "0551234567", asked.state, turn_id="m-9")
    second = turn(store, "0551234567", asked.state, turn_id="m-9")  # a redelivered message, same stale state
    assert first.reply.text == second.reply.text
    assert Lead.objects.count() == 1
    assert OutboxEvent.objects.filter(event_type="lead.created").count() == 1


def test_cancel_and_a_question_mid_dialogue(store):
    started = turn(store, "ابي احد يتواصل معي")
    question = turn(store, "كم مدة الشحن؟", started.state)
    assert question.intent != "lead_request" and question.state["lead"]["step"] == "name"  # answered, step kept
    cancelled = turn(store, "إلغاء", question.state)
    assert "ألغيت" in cancelled.reply.text and "lead" not in cancelled.state
    assert not Lead.objects.exists()
    started = turn(store, "contact me")
    assert "cancelled" in turn(store, "lead:cancel", started.state).reply.text
    started = turn(store, "كلموني")
    moved_on = turn(store, "ابي عباية سوداء سادة للدوام بسعر مناسب لو سمحت", started.state)
    assert moved_on.intent == "product_search" and "lead" not in moved_on.state


def test_service_refuses_bad_details_and_loses_nothing(store):
    with pytest.raises(ApplicationError) as caught:
        lead_capture(merchant=store, name="x", phone="0123")
    assert set(caught.value.fields) == {"name", "phone"}
    assert not Lead.objects.exists() and not OutboxEvent.objects.filter(event_type="lead.created").exists()


def test_lead_created_reaches_an_automation_subscription(store):
    subscription = integrations_services.subscription_create(
        merchant=store, url="http://127.0.0.1:9/hook", events=["lead.created"]
    )
    lead, _ = lead_capture(merchant=store, name="Sara", phone="0551234567", idempotency_key="turn:x")
    relay_pending()
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.event_type == "lead.created" and delivery.envelope["data"]["lead_id"] == str(lead.pk)


def test_api_lists_and_shows_leads_with_the_phone_masked_for_viewers():
    client, merchant, _u = member_client("agent")
    viewer, _m, _u2 = member_client("viewer", merchant=merchant)
    lead, _ = lead_capture(merchant=merchant, name="Sara", phone="0551234567")
    other, _m3, _u3 = member_client("owner")
    lead_capture(merchant=_m3, name="Not Mine", phone="0559999999")
    listed = client.get("/api/v1/leads").json()["results"]
    assert [(x["id"], x["name"], x["phone"]) for x in listed] == [(str(lead.pk), "Sara", "+966551234567")]
    assert viewer.get(f"/api/v1/leads/{lead.pk}").json()["phone"] == "•••"
    assert viewer.patch(f"/api/v1/leads/{lead.pk}", {"status": "won"}, format="json").status_code == 403
    moved = client.patch(f"/api/v1/leads/{lead.pk}", {"status": "contacted"}, format="json")
    assert moved.status_code == 200 and moved.json()["status"] == "contacted"
    assert client.get("/api/v1/leads?status=new").json()["results"] == []
    assert client.patch(f"/api/v1/leads/{lead.pk}", {"status": "bogus"}, format="json").status_code == 400
    assert other.get(f"/api/v1/leads/{lead.pk}").status_code == 404
