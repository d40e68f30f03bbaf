"""Thin Celery wrappers: ids in, services do the work. Queue "assistant" (see kaleem/celery.py)."""

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init

logger = logging.getLogger(__name__)

# Worker processes consuming these queues answer customers (webhook processing runs the turn
# inline when the quiet period is 0).
ANSWERING_QUEUES = frozenset({"assistant", "webhooks"})


@shared_task(name="conversations.assistant_turn", queue="assistant", acks_late=True, ignore_result=True)
def assistant_turn(conversation_id: str, message_id: str) -> str:
    """Answer a conversation's unanswered customer messages, once per burst.

    Scheduled with a countdown (the quiet period) for every inbound message; only the task whose
    message is still the conversation's latest inbound answers, so a burst gets one answer.
    Safe to run twice: messages are claimed with a conditional update before answering. The replies
    are sent from this worker right after their commit; their `message.outbound` outbox events are
    the durable fallback (channels.services.assistant_turn_and_deliver)."""
    from channels.services import assistant_turn_and_deliver

    return assistant_turn_and_deliver(conversation_id=conversation_id, message_id=message_id)


@worker_process_init.connect
def warm_assistant(**_: Any) -> None:
    """Load the embedder and the intent model in each worker process that answers customers when it
    starts, not on its first customer's message (≈ 1.5 s of CPU per process; under a burst that one message and all
    the messages queued behind it would wait). ASSISTANT_WARM_AT_WORKER_START = False skips it."""
    from celery import current_app
    from django.conf import settings

    if not getattr(settings, "ASSISTANT_WARM_AT_WORKER_START", True):
        return
    consumed = set(current_app.amqp.queues.consume_from.keys())  # the -Q selection (default: "default")
    if not consumed & ANSWERING_QUEUES:
        return
    try:
        from conversations.assistant.intents import intent_model
        from integrations.ai.embeddings import get_embedder

        get_embedder().embed(["warm up"])
        intent_model()
    except Exception:  # a cold start is slower, not broken
        logger.warning("assistant warm-up failed; the first turn will load the embedder", exc_info=True)
