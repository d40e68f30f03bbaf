from django.core.management.base import BaseCommand, CommandError

from catalog.management.commands._merchant import resolve_merchant
from catalog.search.drift import index_drift
from merchants.models import Merchant


class Command(BaseCommand):
    help = "Report drift between the database and the vector index; exit code 1 when any is found."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--merchant", help="merchant slug or id")
        parser.add_argument("--show", type=int, default=10, help="ids to print per problem")

    def handle(self, *args: object, **options: object) -> None:
        merchants = (
            [resolve_merchant(str(options["merchant"]))] if options["merchant"] else list(Merchant.objects.all())
        )
        drifted = False
        for merchant in merchants:
            report = index_drift(merchant_id=merchant.pk)
            self.stdout.write(
                f"{merchant.slug}: {report.db_active} active in DB, {report.indexed} in index, "
                f"{len(report.missing)} missing, {len(report.stale)} stale, {len(report.outdated)} outdated"
            )
            for label, ids in (("missing", report.missing), ("stale", report.stale), ("outdated", report.outdated)):
                for pid in ids[: int(options["show"])]:
                    self.stdout.write(f"  {label}: {pid}")
            drifted = drifted or not report.ok
        if drifted:
            raise CommandError("index drift found: run `manage.py reindex_catalog`")
        self.stdout.write(self.style.SUCCESS("index in sync"))
