"""Thin Celery wrappers (acks_late): ids in, services do the work, idempotent. Inbound processing on
the "webhooks" queue, outbound sends on "outbox"."""

from celery import shared_task

from channels import services


@shared_task(
    name="channels.process_webhook_events",
    queue="webhooks",
    bind=True,
    acks_late=True,
    ignore_result=True,
    max_retries=None,
)
def process_webhook_events(
    self,  # noqa: ANN001 - celery task self
    event_ids: list[str] | None = None,
    senders: list[list[str]] | None = None,
) -> int:
    # `senders` ([channel id, sender id] pairs) since the webhook view knows them; `event_ids` is
    # still accepted from tasks queued by an older release
    try:
        return services.webhook_events_process(senders=senders, event_ids=event_ids)
    except services.SenderBusy as exc:
        # another worker holds this conversation: come back soon, order is kept by the lock holder
        raise self.retry(countdown=0.2, max_retries=300) from exc
    except services.EventRetry as exc:
        raise self.retry(countdown=exc.countdown, max_retries=20) from exc


# Replies ride the "outbox" queue, not "webhooks": under an inbound burst an answer to a customer
# must not wait behind the processing of newer messages.
@shared_task(
    name="channels.deliver_message", queue="outbox", bind=True, acks_late=True, ignore_result=True, max_retries=None
)
def deliver_message(self, message_id: str, channel_id: str = "") -> str:  # noqa: ANN001 - celery task self
    try:
        return services.message_deliver(message_id=message_id)
    except services.DeliveryRetry as exc:
        raise self.retry(countdown=max(exc.countdown, 0.05), max_retries=50) from exc


@shared_task(name="channels.sweep_webhook_events", queue="webhooks", ignore_result=True)
def sweep_webhook_events() -> int:
    return services.webhook_events_sweep()
