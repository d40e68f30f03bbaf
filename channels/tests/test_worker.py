"""A real gunicorn + Celery worker (Redis broker, acks_late): a worker SIGKILLed in the middle of
processing a webhook loses nothing and answers the customer exactly once after restart."""

import json
import time
import urllib.request

import pytest
from django.conf import settings
from django.db import connection

from channels.models import DeadLetter, OutboundDelivery, WebhookEvent
from channels.testing.stack import database_url, free_port, kill_hard, stack_env, start_gunicorn, start_worker, stop
from channels.tests.conftest import make_channel, meta_raw, meta_sign, wa_image
from conversations.models import Message
from kaleem.testing.services import redis_url_or_skip


def wait_for(predicate, timeout: float):  # noqa: ANN001, ANN201
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return None


@pytest.mark.worker
@pytest.mark.slow
def _post_whatsapp(port: int, channel, payload: dict) -> int:  # noqa: ANN001
    """Deliver a signed WhatsApp webhook to the gunicorn under test; its HTTP status."""
    raw = meta_raw(payload)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/whatsapp/{channel.public_key}",
        data=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": meta_sign(raw)},
    )
    return urllib.request.urlopen(request, timeout=10).status


def test_worker_killed_mid_task_answers_exactly_once_after_restart(transactional_db, fake, tmp_path):
    if connection.vendor == "sqlite":
        pytest.skip("needs a database shared with subprocesses: run with DATABASE_URL=postgres://… (CI does)")
    redis_url_or_skip()
    from kaleem.tests.ops_support import private_redis  # a throw-away redis-server: no other worker eats our tasks

    with private_redis() as redis_url:
        channel = make_channel("whatsapp", fake)
        fake.media_hang = 120.0  # the worker will be stuck fetching the customer's photo
        env = stack_env(
            db_url=database_url(connection.settings_dict),
            redis_url=redis_url,
            WEBHOOK_PROCESSING_TIMEOUT="2",
            WEBHOOK_SENDER_LOCK_SECONDS="3",
            ASSISTANT_QUIET_PERIOD_SECONDS="0.2",
            # same keys as this process, which encrypted the channel's credentials
            SECRET_KEY=settings.SECRET_KEY,
            FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS or []),
        )
        port = free_port()
        web = start_gunicorn(env, port=port, workers=1, log=open(tmp_path / "web.log", "wb"))  # noqa: SIM115
        first = start_worker(env, log=open(tmp_path / "worker1.log", "wb"))  # noqa: SIM115
        second = None
        try:
            assert _post_whatsapp(port, channel, wa_image()) == 200

            assert wait_for(lambda: ("GET", "/2754859441498128") in fake.calls, 90), (
                "worker never reached the media fetch"
            )
            assert WebhookEvent.objects.get(channel=channel).state == WebhookEvent.State.PROCESSING
            kill_hard(first)  # mid-task: claim held, task unacknowledged
            fake.media_hang = 0.0

            second = start_worker(env, beat=True, workdir=tmp_path, log=open(tmp_path / "worker2.log", "wb"))  # noqa: SIM115
            sent = wait_for(lambda: fake.sends_for("whatsapp"), 120)
            assert sent, (tmp_path / "worker2.log").read_text()[-3000:]
            time.sleep(4)  # room for a duplicate to show up (sweeps run every 5 s)

            inbound = Message.objects.filter(channel=channel, direction=Message.Direction.INBOUND)
            outbound = Message.objects.filter(channel=channel, direction=Message.Direction.OUTBOUND)
            assert inbound.count() == 1 and inbound.get().attachments[0]["mime_type"] == "image/png"
            assert outbound.count() == 1, list(outbound.values_list("text", flat=True))
            delivery = OutboundDelivery.objects.get(message_id=outbound.get().id)
            sends = fake.sends_for("whatsapp")
            assert delivery.state == OutboundDelivery.State.SENT and delivery.parts_sent == len(sends)
            bodies = [json.dumps(s.body, sort_keys=True) for s in sends]
            assert len(bodies) == len(set(bodies)), "a part was sent twice"
            assert WebhookEvent.objects.get(channel=channel).state == WebhookEvent.State.DONE
        finally:
            for proc in (first, second, web):
                if proc is not None:
                    stop(proc)


@pytest.mark.worker
@pytest.mark.slow
def test_worker_killed_while_the_provider_holds_a_reply_never_sends_it_twice(transactional_db, fake, tmp_path):
    """SIGKILL after the provider accepted a reply part but before it answered: after restart the
    part is not re-sent behind the operator's back. The delivery ends `unknown` with an open dead
    letter; the operator's replay is the only way it goes out again (docs/channels.md)."""
    if connection.vendor == "sqlite":
        pytest.skip("needs a database shared with subprocesses: run with DATABASE_URL=postgres://… (CI does)")
    redis_url_or_skip()
    from channels.services import dead_letter_replay
    from channels.tests.conftest import wa_text
    from kaleem.models import OutboxEvent
    from kaleem.tests.ops_support import private_redis

    with private_redis() as redis_url:
        channel = make_channel("whatsapp", fake)
        fake.accept_then_hang_next(300.0)  # the customer gets the reply; our worker never hears back
        env = stack_env(
            db_url=database_url(connection.settings_dict),
            redis_url=redis_url,
            ASSISTANT_QUIET_PERIOD_SECONDS="0",  # processing, turn and send in one task
            OUTBOUND_CLAIM_TIMEOUT="3",
            WEBHOOK_PROCESSING_TIMEOUT="3",
            WEBHOOK_SENDER_LOCK_SECONDS="3",
            PROVIDER_HTTP_TIMEOUT="600",
            SECRET_KEY=settings.SECRET_KEY,
            FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS or []),
        )
        port = free_port()
        web = start_gunicorn(env, port=port, workers=1, log=open(tmp_path / "web.log", "wb"))  # noqa: SIM115
        first = start_worker(env, log=open(tmp_path / "worker1.log", "wb"))  # noqa: SIM115
        second = None
        try:
            assert _post_whatsapp(port, channel, wa_text()) == 200
            assert wait_for(lambda: fake.sends_for("whatsapp"), 90), (tmp_path / "worker1.log").read_text()[-3000:]
            reply = Message.objects.get(channel=channel, direction=Message.Direction.OUTBOUND)
            delivery = OutboundDelivery.objects.get(message_id=reply.id)
            assert delivery.state == OutboundDelivery.State.SENDING and delivery.part_started_at is not None
            kill_hard(first)  # the provider has the part; we never recorded its answer

            second = start_worker(env, beat=True, workdir=tmp_path, log=open(tmp_path / "worker2.log", "wb"))  # noqa: SIM115
            # the beat sweep re-queues the stale claim; the new holder finds the part in flight
            decided = wait_for(
                lambda: OutboundDelivery.objects.filter(id=delivery.id, state=OutboundDelivery.State.UNKNOWN).exists(),
                90,
            )
            assert decided, (tmp_path / "worker2.log").read_text()[-3000:]
            time.sleep(6)  # more sweeps and the outbox relay's copy of the event: nothing may resend
            assert len(fake.sends_for("whatsapp")) == 1, "the reply was sent twice"
            dead = DeadLetter.objects.get(message_id=reply.id)
            assert dead.state == DeadLetter.State.OPEN and dead.error.startswith("unknown_delivery")
            reply.refresh_from_db()
            assert reply.delivery_status == "failed" and reply.delivery_error.startswith("unknown_delivery")
            assert OutboxEvent.objects.filter(event_type="message.outbound", state="pending").count() == 0
            # the webhook event the killed task held is processed again: its message is already
            # answered, so it is closed without a second turn
            event_done = wait_for(
                lambda: WebhookEvent.objects.filter(channel=channel, state=WebhookEvent.State.DONE).exists(), 60
            )
            assert event_done, (tmp_path / "worker2.log").read_text()[-3000:]
            assert Message.objects.filter(channel=channel, direction=Message.Direction.OUTBOUND).count() == 1
            assert len(fake.sends_for("whatsapp")) == 1

            # the operator decides to send it again: exactly one more send
            dead_letter_replay(merchant=channel.merchant, dead_letter_id=dead.id)
            assert wait_for(lambda: len(fake.sends_for("whatsapp")) == 2, 60)
            assert wait_for(
                lambda: OutboundDelivery.objects.filter(id=delivery.id, state=OutboundDelivery.State.SENT).exists(), 30
            )
            time.sleep(2)
            assert len(fake.sends_for("whatsapp")) == 2
        finally:
            for proc in (first, second, web):
                if proc is not None:
                    stop(proc)
