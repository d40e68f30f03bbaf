"""Beat task keeping the analytics roll-up current (`conversations.analytics`). Listed in
CELERY_INCLUDE because autodiscovery only imports `tasks` modules, which the channels area owns."""

from celery import shared_task


@shared_task(name="conversations.analytics_refresh", queue="default", ignore_result=True)
def analytics_refresh() -> int:
    """Rebuild stale analytics days of active stores; safe to run twice (rows keep the newest)."""
    from conversations.analytics import analytics_refresh as refresh

    return refresh()
