"""Platform → catalog: idempotent upserts by (merchant, source, external_id) through catalog services,
archives for deletes (the index handler then removes the vectors), full import / reconcile jobs."""

import logging
from typing import Any

from django.utils import timezone

from catalog import commerce_services
from catalog.choices import ProductStatus
from catalog.models import Product
from catalog.services import product_archive, products_upsert_batch
from integrations.commerce.base import ExternalProduct, connector_for
from integrations.models import PlatformConnection, SyncJob
from kaleem.db import atomic, on_commit
from kaleem.outbox import emit

logger = logging.getLogger(__name__)


_COMPARED = (
    "sku",
    "title_ar",
    "title_en",
    "description_ar",
    "description_en",
    "price",
    "sale_price",
    "currency",
    "stock",
    "status",
    "images",
    "tags",
)


def _row(item: ExternalProduct, sku: str, source: str) -> dict[str, Any]:
    title_ar, title_en = item.title_ar, item.title_en
    if not (title_ar or title_en):
        title_en = sku
    return {
        "sku": sku,
        "title_ar": title_ar,
        "title_en": title_en,
        "description_ar": item.description if title_ar else "",
        "description_en": item.description if not title_ar else "",
        "price": item.price,
        "sale_price": item.sale_price if item.sale_price is not None and item.sale_price <= item.price else None,
        "currency": (item.currency or "SAR")[:3],
        "stock": max(int(item.stock), 0),
        "status": ProductStatus.ACTIVE if item.active else ProductStatus.DRAFT,
        "images": item.images,
        "tags": item.tags,
        "source": source,
        "external_id": item.external_id,
    }


def products_upsert(*, merchant: Any, source: str, items: list[ExternalProduct]) -> tuple[int, int]:
    """Upsert one page in one transaction. Existing rows keep their SKU (matched by external id);
    new rows use the platform SKU unless another product holds it, then `<source>-<external id>`."""
    unique: dict[str, ExternalProduct] = {}
    for item in items:
        if item.external_id:
            unique[item.external_id] = item  # the last copy of a product within a page wins
    if not unique:
        return 0, 0
    ext_ids = list(unique)
    current = {
        row["external_id"]: row
        for row in Product.objects.for_merchant(merchant)
        .filter(source=source, external_id__in=ext_ids)
        .values("external_id", *_COMPARED)
    }
    wanted = [i.sku for ext, i in unique.items() if ext not in current and i.sku]
    taken = set(Product.objects.for_merchant(merchant).filter(sku__in=wanted).values_list("sku", flat=True))
    rows, used, emptied = [], set(), []
    for ext, item in unique.items():
        existing = current.get(ext)
        if existing is not None:
            sku = existing["sku"]
            row = _row(item, sku, source)
            if all(row[f] == existing[f] for f in _COMPARED):
                continue  # unchanged (the nightly reconcile's usual case): no write, no re-index
            if existing["stock"] > 0 and item.stock <= 0:
                emptied.append((ext, sku, item))
        else:
            sku = item.sku if item.sku and item.sku not in taken and item.sku not in used else f"{source}-{ext}"[:100]
            row = _row(item, sku, source)
        used.add(sku)
        rows.append(row)
    if not rows:
        return 0, 0
    with atomic():
        created, updated = products_upsert_batch(merchant=merchant, rows=rows, source=source)
        for ext, sku, item in emptied:
            emit(
                merchant=merchant,
                event_type=commerce_services.PRODUCT_OUT_OF_STOCK,
                payload={"version": 1, "external_id": ext, "sku": sku, "title": item.title, "source": source},
            )
    return created, updated


def products_archive_external(*, merchant: Any, source: str, external_ids: list[str]) -> int:
    """Deleted on the platform ⇒ archived here (orders keep their snapshot) and out of the index."""
    count = 0
    for product in Product.objects.for_merchant(merchant).filter(source=source, external_id__in=external_ids):
        if product.status != ProductStatus.ARCHIVED:
            product_archive(merchant=merchant, product=product)
            count += 1
    return count


def sync_job_start(*, connection: PlatformConnection, kind: str = SyncJob.Kind.FULL) -> SyncJob:
    from integrations.tasks import platform_sync_task

    with atomic():
        job = SyncJob.objects.create(merchant_id=connection.merchant_id, connection=connection, kind=kind)
        on_commit(lambda: platform_sync_task.delay(str(job.id)))
    return job


def sync_job_run(*, job_id: Any) -> SyncJob | None:
    """Walk every page; progress is saved after each page. When the walk completes, products of this
    source the platform no longer lists are archived, so missed delete webhooks heal."""
    claimed = SyncJob.objects.filter(id=job_id, state=SyncJob.State.PENDING).update(
        state=SyncJob.State.RUNNING, started_at=timezone.now()
    )
    job = SyncJob.objects.filter(id=job_id).select_related("connection", "connection__merchant").first()
    if job is None or not claimed:
        return job  # already running or done: running twice must not double the work
    connection = job.connection
    merchant = connection.merchant
    connector = connector_for(connection)
    seen: set[str] = set()
    cursor = None
    try:
        while True:
            page = connector.list_products(cursor)
            created, updated = products_upsert(merchant=merchant, source=connection.platform, items=page.products)
            seen.update(p.external_id for p in page.products)
            job.pages += 1
            job.processed += len(page.products)
            job.created_count += created
            job.updated_count += updated
            if page.total is not None:
                job.total = page.total
            SyncJob.objects.filter(id=job.id).update(
                pages=job.pages,
                processed=job.processed,
                created_count=job.created_count,
                updated_count=job.updated_count,
                total=job.total,
                updated_at=timezone.now(),
            )
            cursor = page.next_cursor
            if not cursor:
                break
        stale = list(
            Product.objects.for_merchant(merchant)
            .filter(source=connection.platform)
            .exclude(status=ProductStatus.ARCHIVED)
            .exclude(external_id__in=list(seen))
            .values_list("external_id", flat=True)
        )
        archived = products_archive_external(merchant=merchant, source=connection.platform, external_ids=stale)
        now = timezone.now()
        SyncJob.objects.filter(id=job.id).update(
            state=SyncJob.State.DONE, archived_count=archived, finished_at=now, updated_at=now
        )
        PlatformConnection.objects.filter(id=connection.id).update(last_synced_at=now, last_error="")
    except Exception as exc:
        logger.warning("platform sync %s failed", job.id, exc_info=True)
        message = f"{type(exc).__name__}: {exc}"[:500]
        SyncJob.objects.filter(id=job.id).update(
            state=SyncJob.State.FAILED, message=message, finished_at=timezone.now()
        )
        PlatformConnection.objects.filter(id=connection.id).update(last_error=message)
    job.refresh_from_db()
    return job
