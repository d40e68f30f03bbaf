#!/usr/bin/env python
"""Catalog sync throughput from the fake Shopify (issue 7).

A local HTTP server speaking Shopify's Admin GraphQL (integrations/tests/fakes.py) serves N products
in pages of 250 (Shopify's maximum, what the connector asks for); the sync job walks every page and
upserts each through catalog services — one transaction per page with its `product.changed` outbox
event, i.e. the indexing is enqueued (the embedding itself runs later in the relay/embeddings worker).
Measured: an initial import (creates), a reconcile of the unchanged catalog (compared, nothing written)
and a reconcile after every price changed (updates), end to end
including HTTP, JSON parsing, mapping, validation, writes and outbox rows. Also Salla (60 per page).

Target: ≥ 500 products/s.

    .venv/bin/python benchmarks/commerce_sync.py [--products 5000] [--database-url postgres://…]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="kaleem-sync-bench-")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="kaleem.settings.base",
        DATABASE_URL=args.database_url or f"sqlite:///{workdir}/bench.sqlite3",
        QDRANT_PATH=":memory:",
        CELERY_TASK_ALWAYS_EAGER="0",  # .delay() only enqueues: the relay/indexer is not part of the figure
        CELERY_BROKER_URL="memory://",
        LOG_LEVEL="ERROR",
        SSRF_ALLOW_PRIVATE="1",
        MEDIA_ROOT=f"{workdir}/media",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    from catalog.models import Product
    from integrations import services
    from integrations.commerce.sync import sync_job_run
    from integrations.models import SyncJob
    from integrations.tests.fakes import FakeSalla, FakeShopify, salla_product, shopify_node
    from kaleem.models import OutboxEvent
    from kaleem.testing.factories import MerchantFactory

    shopify = FakeShopify()
    shopify.products = [shopify_node(i) for i in range(1, args.products + 1)]
    merchant = MerchantFactory()
    connection = services.connection_upsert(
        merchant=merchant,
        platform="shopify",
        credentials={"access_token": shopify.token},
        shop_domain="bench.myshopify.com",
        base_url=shopify.url,
    )

    def run(conn, kind: str) -> tuple[float, float, SyncJob]:
        job = SyncJob.objects.create(merchant=merchant, connection=conn, kind=kind)
        started, cpu = time.perf_counter(), time.process_time()
        job = sync_job_run(job_id=job.id)
        return time.perf_counter() - started, time.process_time() - cpu, job

    load = os.getloadavg()[0]
    print(f"catalog sync from local fakes, {args.products} products, DB {os.environ['DATABASE_URL'].split(':')[0]}")
    print(f"machine load average {load:.1f} on {os.cpu_count()} cores (wall rates are shared-CPU figures;")
    print("per-CPU-second rates count this process only, the fake server's threads included)")
    for kind, label in (("full", "full"), ("reconcile", "unchanged"), ("reconcile", "all changed")):
        if label == "all changed":
            for node in shopify.products:
                node["variants"]["nodes"][0]["price"] = "24.99"
        seconds, cpu, job = run(connection, kind)
        assert job.state == "done", job.message
        print(
            f"shopify {label:11s} pages of 250: {job.processed} products in {seconds:6.2f} s = "
            f"{job.processed / seconds:6.0f} products/s wall, {job.processed / cpu:6.0f} per CPU-second "
            f"(created {job.created_count}, updated {job.updated_count}, pages {job.pages})"
        )
    events = OutboxEvent.objects.filter(merchant_id=merchant.pk, event_type="product.changed").count()
    print(f"indexing enqueued: {events} product.changed outbox events covering every product")
    assert Product.objects.for_merchant(merchant).count() == args.products

    salla = FakeSalla()
    salla.products = [salla_product(i) for i in range(1, min(args.products, 3000) + 1)]
    salla_merchant = MerchantFactory()
    salla_conn = services.connection_upsert(
        merchant=salla_merchant, platform="salla", credentials={"access_token": salla.token}, base_url=salla.url
    )
    job = SyncJob.objects.create(merchant=salla_merchant, connection=salla_conn)
    started, cpu = time.perf_counter(), time.process_time()
    job = sync_job_run(job_id=job.id)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"salla   full      pages of 60:  {job.processed} products in {seconds:6.2f} s = "
        f"{job.processed / seconds:6.0f} products/s wall, {job.processed / cpu:6.0f} per CPU-second"
    )
    shopify.close()
    salla.close()


if __name__ == "__main__":
    main()
