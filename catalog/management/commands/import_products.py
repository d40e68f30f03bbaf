import os

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.choices import ImportState
from catalog.imports import detect_format, import_run_stream
from catalog.management.commands._merchant import resolve_merchant
from catalog.models import ImportJob


class Command(BaseCommand):
    help = "Import products from a CSV / JSON / JSON Lines file into a merchant's catalog (same rules as the API)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("path")
        parser.add_argument("--merchant", required=True, help="merchant slug or id")
        parser.add_argument("--format", choices=["csv", "json", "jsonl"])
        parser.add_argument("--errors", type=int, default=20, help="how many row errors to print")

    def handle(self, *args: object, **options: object) -> None:
        path = str(options["path"])
        if not os.path.isfile(path):
            raise CommandError(f"No such file: {path}")
        merchant = resolve_merchant(str(options["merchant"]))
        size = os.path.getsize(path)
        with open(path, "rb") as raw:
            fmt = options["format"] or detect_format(path, raw.read(4096))
            raw.seek(0)
            job = ImportJob.objects.create(
                merchant=merchant,
                filename=os.path.basename(path)[:255],
                size_bytes=size,
                format=fmt,
                state=ImportState.RUNNING,
            )
            with tqdm(total=size, unit="B", unit_scale=True, desc="import") as bar:

                def progress(_job: ImportJob, rows: int) -> None:
                    try:
                        position = min(raw.tell(), size)
                    except ValueError:  # the reader closed the file: it was read to the end
                        position = size
                    bar.update(position - bar.n)
                    bar.set_postfix(rows=rows)

                job = import_run_stream(job=job, raw=raw, on_progress=progress)
        self.stdout.write(f"{job.state}: {job.message}")
        for error in job.errors[: int(options["errors"])]:
            self.stdout.write(f"  row {error['row']}: {error['sku'] or '-'}: {error['reason']}")
        if job.state == ImportState.FAILED:
            raise CommandError(job.message)
