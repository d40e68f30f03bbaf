"""Thin Celery wrappers: take ids, re-read, call a service. Safe to run twice."""

from typing import Any

from celery import shared_task

from catalog.choices import IndexState
from catalog.models import Product


@shared_task(
    name="catalog.import_products",
    queue="default",
    acks_late=True,
    ignore_result=True,
    time_limit=3600,
    soft_time_limit=3500,
)
def import_products_task(job_id: str) -> None:
    from catalog.imports import import_job_run

    import_job_run(job_id=job_id)


@shared_task(
    name="catalog.index_products",
    queue="embeddings",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def index_products_task(merchant_id: str, product_ids: list[str]) -> dict[str, Any]:
    from catalog.search.indexing import index_products

    return index_products(merchant_id=merchant_id, product_ids=product_ids).__dict__


@shared_task(name="catalog.index_sweep", queue="embeddings", ignore_result=True)
def index_sweep_task(limit: int = 2000) -> int:
    """Backstop for events that died: (re)index products left pending or failed."""
    rows = list(
        Product.objects.filter(index_state__in=[IndexState.PENDING, IndexState.FAILED])
        .order_by("updated_at")
        .values_list("merchant_id", "id")[:limit]
    )
    by_merchant: dict[str, list[str]] = {}
    for merchant_id, product_id in rows:
        by_merchant.setdefault(str(merchant_id), []).append(str(product_id))
    for merchant_id, ids in by_merchant.items():
        index_products_task.delay(merchant_id, ids)
    return len(rows)
