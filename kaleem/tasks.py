from celery import shared_task

from kaleem.idempotency.services import purge_expired
from kaleem.outbox.services import relay_run


@shared_task(name="kaleem.outbox_relay", acks_late=True, ignore_result=True)
def outbox_relay() -> int:
    """Kicked after commits (debounced: at most one queued run at a time) and run by the beat sweep."""
    return relay_run()


@shared_task(name="kaleem.idempotency_purge", ignore_result=True)
def idempotency_purge() -> int:
    return purge_expired()
