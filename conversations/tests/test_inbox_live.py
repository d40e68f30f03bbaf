"""Live inbox over Server-Sent Events: the store's stream wakes on its own conversation events
(through the outbox handler) and on agents' actions, never on another store's, and is bounded."""

import time

import pytest
from django.test import override_settings

from conversations import services
from conversations.tests.dashboard_fixtures import make_channel, make_conversation
from kaleem.outbox.services import relay_pending
from kaleem.testing.factories import MerchantFactory
from merchants.tests.dashboard_helpers import page_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def stream():
    """A viewer's open inbox stream (1.5 s long) and its first chunk already read."""
    client, merchant, _user = page_client("viewer")
    with override_settings(INBOX_SSE_SECONDS=1.5):
        response = client.get("/dashboard/inbox/events/")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/event-stream")
        assert response["Cache-Control"] == "no-cache, no-store"
        chunks = iter(response.streaming_content)
        assert b"event: ready" in next(chunks)
        yield merchant, chunks
        response.close()


def _next(chunks) -> tuple[str | None, float]:
    started = time.monotonic()
    try:
        return next(chunks).decode(), time.monotonic() - started
    except StopIteration:
        return None, time.monotonic() - started


def test_customer_message_wakes_the_inbox(stream):
    merchant, chunks = stream
    services.record_inbound(merchant=merchant, channel=make_channel(merchant), external_id="v1", text="مرحبا")
    relay_pending()  # conversation.created + message.received reach the inbox handler
    chunk, waited = _next(chunks)
    assert chunk.startswith("id: 1\nevent: inbox\n") and waited < 1.0
    assert "مرحبا" not in chunk  # the stream carries no conversation data


def test_agent_action_wakes_the_inbox(stream, django_capture_on_commit_callbacks):
    merchant, chunks = stream
    agent_client, _m, _agent = page_client("agent", merchant=merchant)
    conversation = make_conversation(merchant, make_channel(merchant), status="waiting_human")
    with django_capture_on_commit_callbacks(execute=True):  # the wake-up waits for the commit
        assert agent_client.post(f"/dashboard/inbox/{conversation.pk}/take-over/").status_code == 302
    chunk, waited = _next(chunks)
    assert "event: inbox" in chunk and waited < 1.0


def test_other_stores_events_do_not_wake_it(stream):
    merchant, chunks = stream
    other = MerchantFactory()
    services.record_inbound(merchant=other, channel=make_channel(other), external_id="v1", text="secret")
    relay_pending()
    chunk, waited = _next(chunks)
    assert chunk is None and waited > 1.0  # nothing until the bounded response ended


def test_failed_action_does_not_wake_and_stream_needs_login(stream, client, django_capture_on_commit_callbacks):
    merchant, chunks = stream
    agent_client, _m, _agent = page_client("agent", merchant=merchant)
    closed = make_conversation(merchant, make_channel(merchant), status="closed")
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(f"/dashboard/inbox/{closed.pk}/release/", HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    chunk, _waited = _next(chunks)
    assert chunk is None
    assert client.get("/dashboard/inbox/events/").status_code == 302


def test_async_stream_for_asgi_wakes_only_for_its_store():
    """The ASGI server (production: gunicorn + uvicorn workers) gets the async generator."""
    import asyncio
    import uuid

    from conversations import inbox_live

    mine, other = uuid.uuid4(), uuid.uuid4()

    async def run() -> list[tuple[str | None, float]]:
        with override_settings(INBOX_SSE_SECONDS=1.2):
            stream = inbox_live.sse_async(merchant_id=mine)
            assert "event: ready" in await stream.__anext__()
            results = []
            for target in (mine, other):
                asyncio.get_running_loop().call_later(0.1, lambda t=target: inbox_live.inbox_notify(merchant_id=t))
                started = time.monotonic()
                try:
                    chunk = await stream.__anext__()
                except StopAsyncIteration:
                    chunk = None
                results.append((chunk, time.monotonic() - started))
            await stream.aclose()
            return results

    (woken, fast), (quiet, slow) = asyncio.run(run())
    assert woken.startswith("id: 1\nevent: inbox\n") and fast < 0.8
    assert quiet is None and slow > 0.8  # another store's event: nothing until the response ends
