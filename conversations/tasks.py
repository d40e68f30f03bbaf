"""Thin Celery wrappers: ids in, services do the work. Queue "assistant" (see kaleem/celery.py)."""

from celery import shared_task


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
