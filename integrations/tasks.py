"""Thin Celery tasks: take ids, re-fetch, call a service; safe to run twice."""

from celery import shared_task

from integrations.automations import delivery
from integrations.commerce import sync
from integrations.models import PlatformConnection, SyncJob
from integrations.services import platform_event_process


@shared_task(
    name="integrations.platform_sync",
    queue="default",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=3300,
    time_limit=3600,
)
def platform_sync_task(job_id: str) -> str:
    job = sync.sync_job_run(job_id=job_id)
    return job.state if job else "missing"


@shared_task(
    name="integrations.platform_event",
    queue="webhooks",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=8,
)
def platform_event_task(event_id: str) -> str:
    return platform_event_process(event_id=event_id)


@shared_task(name="integrations.platform_reconcile_all", queue="default", ignore_result=True)
def platform_reconcile_all_task() -> int:
    """Nightly: a reconcile job per active connection heals missed webhooks (creates, updates, deletes)."""
    count = 0
    for connection in PlatformConnection.objects.filter(status=PlatformConnection.Status.ACTIVE):
        running = SyncJob.objects.filter(
            connection=connection, state__in=[SyncJob.State.PENDING, SyncJob.State.RUNNING]
        ).exists()
        if not running:
            sync.sync_job_start(connection=connection, kind=SyncJob.Kind.RECONCILE)
            count += 1
    return count


@shared_task(name="integrations.automation_deliver", queue="webhooks", acks_late=True, ignore_result=True)
def automation_deliver_task(subscription_id: str) -> dict:
    return delivery.deliver_subscription(subscription_id=subscription_id)


@shared_task(name="integrations.automation_sweep", queue="webhooks", ignore_result=True)
def automation_sweep_task() -> int:
    """Every few seconds: retries that became due (the delivery task never sleeps through a backoff)."""
    due = delivery.deliveries_due()
    for subscription_id in due:
        automation_deliver_task.delay(subscription_id)
    return len(due)
