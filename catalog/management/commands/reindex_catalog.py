from django.core.management.base import BaseCommand
from tqdm import tqdm

from catalog.choices import ProductStatus
from catalog.management.commands._merchant import resolve_merchant
from catalog.models import Product
from catalog.search import backend
from catalog.search.indexing import KIND, IndexingError, index_products
from merchants.models import Merchant


class Command(BaseCommand):
    help = "Rebuild the vector index from the database (all merchants, or one with --merchant)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--merchant", help="merchant slug or id")
        parser.add_argument("--batch", type=int, default=256)
        parser.add_argument("--only-failed", action="store_true", help="only products pending or failed")

    def handle(self, *args: object, **options: object) -> None:
        merchants = (
            [resolve_merchant(str(options["merchant"]))] if options["merchant"] else list(Merchant.objects.all())
        )
        batch = int(options["batch"])
        failures = 0
        for merchant in merchants:
            qs = Product.objects.for_merchant(merchant)
            if options["only_failed"]:
                qs = qs.filter(index_state__in=["pending", "failed"])
            ids = [str(pk) for pk in qs.order_by("id").values_list("id", flat=True)]
            # Vectors whose product no longer exists or is not active are removed too.
            active = set(map(str, qs.filter(status=ProductStatus.ACTIVE).values_list("id", flat=True)))
            stale = [pid for pid in backend.vector_ids(kind=KIND, merchant_id=merchant.pk) if pid not in active]
            if stale and not options["only_failed"]:
                backend.vector_delete(kind=KIND, merchant_id=merchant.pk, ids=stale)
            with tqdm(total=len(ids), unit="product", desc=merchant.slug) as bar:
                for start in range(0, len(ids), batch):
                    chunk = ids[start : start + batch]
                    try:
                        index_products(merchant_id=merchant.pk, product_ids=chunk)
                    except IndexingError as exc:
                        failures += len(chunk)
                        self.stderr.write(f"batch failed: {exc}")
                    bar.update(len(chunk))
        self.stdout.write(f"done; {failures} products could not be indexed (marked failed)")
