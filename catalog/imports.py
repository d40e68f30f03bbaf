"""Bulk import (CSV, JSON array, JSON Lines) and CSV export of products.

Files are streamed — never loaded whole: the CSV module reads a text wrapper over the binary file, JSON arrays
are decoded object by object. Every row is validated first; good rows are written in batches, each batch one
transaction (a batch that hits a conflict is replayed row by row, each row atomic), so a row is either fully
imported or reported with its row number and reason — never half-written.

Row numbers are what a spreadsheet shows: for CSV the header is row 1 and the first product row 2; for JSON
they count objects from 1."""

import codecs
import csv
import io
import json
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.db import IntegrityError
from django.utils import timezone
from django.utils.text import slugify

from catalog.choices import ImportFormat, ImportState, ProductSource, ProductStatus
from catalog.errors import CatalogError, ImportFileError
from catalog.models import Category, ImportJob, Product
from catalog.search.normalize import normalize_text
from catalog.services import category_create, parse_decimal, products_upsert_batch
from kaleem import metrics
from kaleem.db import on_commit

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
CSV_COLUMNS = [
    "sku",
    "title_ar",
    "title_en",
    "description_ar",
    "description_en",
    "price",
    "sale_price",
    "currency",
    "stock",
    "category",
    "tags",
    "attributes",
    "image_url",
    "status",
]
# Header aliases (normalised with normalize_text): Arabic or English headers, any order.
_ALIASES: dict[str, tuple[str, ...]] = {
    "sku": ("sku", "رمز المنتج", "الرمز", "رمز", "رقم المنتج", "كود", "الكود", "product code"),
    "title_ar": ("title_ar", "الاسم", "اسم المنتج", "العنوان", "الاسم بالعربي", "name_ar"),
    "title_en": ("title_en", "title", "name", "name_en", "product name", "الاسم بالانجليزي"),
    "description_ar": ("description_ar", "الوصف", "وصف المنتج", "الوصف بالعربي"),
    "description_en": ("description_en", "description", "الوصف بالانجليزي"),
    "price": ("price", "السعر", "سعر"),
    "sale_price": ("sale_price", "sale price", "سعر التخفيض", "السعر بعد الخصم", "سعر الخصم", "compare_price"),
    "currency": ("currency", "العمله"),
    "stock": ("stock", "quantity", "qty", "inventory", "الكميه", "المخزون", "الكمية"),
    "category": ("category", "التصنيف", "القسم", "الفئه"),
    "tags": ("tags", "الوسوم", "وسوم", "الكلمات المفتاحيه"),
    "attributes": ("attributes", "الخصائص", "المواصفات"),
    "image_url": ("image_url", "image", "images", "الصوره", "رابط الصوره"),
    "status": ("status", "الحاله"),
    "external_id": ("external_id", "المعرف الخارجي"),
}
_HEADER_MAP = {normalize_text(alias): field for field, aliases in _ALIASES.items() for alias in aliases}
_STATUS_WORDS = {
    "active": ProductStatus.ACTIVE,
    "نشط": ProductStatus.ACTIVE,
    "منشور": ProductStatus.ACTIVE,
    "": ProductStatus.ACTIVE,
    "draft": ProductStatus.DRAFT,
    "مسوده": ProductStatus.DRAFT,
    "archived": ProductStatus.ARCHIVED,
    "مؤرشف": ProductStatus.ARCHIVED,
    "مورشف": ProductStatus.ARCHIVED,
}
REQUIRED = ("sku", "price")


class RowError(Exception):
    pass


def _max_bytes() -> int:
    return int(getattr(settings, "CATALOG_IMPORT_MAX_BYTES", 20 * 1_048_576))


def _max_rows() -> int:
    return int(getattr(settings, "CATALOG_IMPORT_MAX_ROWS", 50_000))


def detect_format(filename: str, head: bytes) -> str:
    name = (filename or "").lower()
    if name.endswith((".jsonl", ".ndjson")):
        return ImportFormat.JSONL
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if name.endswith(".json") or stripped[:1] in (b"[", b"{"):
        return ImportFormat.JSON if stripped[:1] != b"{" else ImportFormat.JSONL
    return ImportFormat.CSV


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as such, else Windows-1256 (Arabic Excel exports)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample.removeprefix(codecs.BOM_UTF8), final=False)  # a cut multi-byte char at the end is fine
    except UnicodeDecodeError:
        return "cp1256"
    return "utf-8-sig"


def import_job_create(
    *, merchant: Any, upload: Any, filename: str, fmt: str | None = None, user: Any = None
) -> ImportJob:
    """Store the uploaded file and queue its import. Empty or oversized files are refused right away."""
    size = int(getattr(upload, "size", 0) or 0)
    if size == 0:
        raise ImportFileError("The file is empty (0 bytes).", fields={"file": ["Empty file."]})
    if size > _max_bytes():
        raise ImportFileError(
            f"The file is {size:,} bytes; the limit is {_max_bytes():,}.",
            code="file_too_large",
            status_code=413,
            fields={"file": ["Too large."]},
        )
    head = upload.read(4096)
    upload.seek(0)
    job = ImportJob.objects.create(
        merchant=merchant,
        filename=(filename or "upload")[:255],
        size_bytes=size,
        created_by=user,
        format=fmt or detect_format(filename, head),
    )
    job.file.save(f"{job.id}-{slugify(filename)[:80] or 'upload'}", File(upload), save=True)
    job_id = str(job.id)

    def _enqueue() -> None:
        from catalog.tasks import import_products_task

        import_products_task.delay(job_id)

    on_commit(_enqueue)
    return job


# --- reading -------------------------------------------------------------------------------------------------


def _csv_rows(raw: IO[bytes], encoding: str) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    yield 1, {"__header__": header}, ""
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            yield number, None, f"row has {len(values)} values but the header has {len(header)} columns"
            continue
        yield number, dict(zip(header, values + [""] * (len(header) - len(values)), strict=True)), ""


def _json_array_objects(text: IO[str]) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """Objects of a top-level JSON array, decoded one at a time from a bounded buffer."""
    decoder = json.JSONDecoder()
    buffer, number, started = "", 0, False
    while True:
        chunk = text.read(65536)
        buffer += chunk
        while True:
            stripped = buffer.lstrip(" \t\r\n,\ufeff")
            if not started:
                if not stripped:
                    break
                if stripped[0] != "[":
                    raise ImportFileError("A JSON import must be an array of objects or JSON Lines.")
                started, stripped = True, stripped[1:]
            buffer = stripped
            if buffer.startswith("]"):
                return
            if not buffer:
                break
            try:
                obj, end = decoder.raw_decode(buffer)
            except json.JSONDecodeError:
                if not chunk or len(buffer) > 5 * 1_048_576:  # end of file, or one object larger than 5 MB
                    number += 1
                    yield number, None, "invalid JSON (stopped reading the file here)"
                    return
                break  # need more text
            number += 1
            buffer = buffer[end:]
            yield (number, obj, "") if isinstance(obj, dict) else (number, None, "item is not a JSON object")
        if not chunk:
            if started:
                return
            raise ImportFileError("The JSON file is empty.")


def _jsonl_objects(text: IO[str]) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, None, f"invalid JSON: {exc.msg}"
            continue
        yield (number, obj, "") if isinstance(obj, dict) else (number, None, "line is not a JSON object")


# --- row validation ------------------------------------------------------------------------------------------


def _map_keys(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    known: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            continue
        field = _HEADER_MAP.get(normalize_text(str(key)).replace("-", "_"))
        if field:
            known[field] = value
        elif value not in (None, "", [], {}):
            extra[str(key).strip()[:60]] = value  # unknown columns are kept as attributes
    return known, extra


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    return str(value).strip()[:limit]


class _CategoryResolver:
    def __init__(self, merchant: Any) -> None:
        self.merchant = merchant
        self.by_key: dict[str, Category] = {}
        for category in Category.objects.for_merchant(merchant):
            for key in (category.slug, category.name_ar, category.name_en):
                if key:
                    self.by_key.setdefault(normalize_text(key), category)

    def get(self, value: str) -> Category | None:
        value = value.strip()
        if not value:
            return None
        key = normalize_text(value)
        if key not in self.by_key:
            from catalog.search.normalize import detect_language

            arabic = detect_language(value) == "ar"
            try:
                category = category_create(
                    merchant=self.merchant,
                    name_ar=value[:200] if arabic else "",
                    name_en="" if arabic else value[:200],
                    slug=slugify(value, allow_unicode=True)[:120] or "category",
                )
            except CatalogError:
                category = (
                    Category.objects.for_merchant(self.merchant)
                    .filter(slug=slugify(value, allow_unicode=True)[:120])
                    .first()
                )
                if category is None:
                    raise RowError(f"category {value!r} could not be created") from None
            self.by_key[key] = category
        return self.by_key[key]


def row_to_fields(row: dict[str, Any], categories: _CategoryResolver) -> dict[str, Any]:
    """One raw row → validated product field values, or RowError with a reason a merchant understands."""
    known, extra = _map_keys(row)
    sku = _text(known.get("sku"), 101)
    if not sku:
        raise RowError("missing SKU")
    if len(sku) > 100:
        raise RowError("SKU longer than 100 characters")
    fields: dict[str, Any] = {"sku": sku}
    for key, limit in (("title_ar", 300), ("title_en", 300), ("description_ar", 20000), ("description_en", 20000)):
        if key in known:
            fields[key] = _text(known[key], limit)
    if not (fields.get("title_ar") or fields.get("title_en")):
        raise RowError("missing title (title_ar or title_en)")
    if _text(known.get("price"), 40) == "":
        raise RowError("missing price")
    try:
        fields["price"] = parse_decimal(known["price"], field="price")
        if _text(known.get("sale_price"), 40):
            fields["sale_price"] = parse_decimal(known["sale_price"], field="sale_price")
            if fields["sale_price"] > fields["price"]:
                raise RowError("sale_price is higher than price")
        elif "sale_price" in known:
            fields["sale_price"] = None
    except CatalogError as exc:
        raise RowError(exc.message) from exc
    currency = _text(known.get("currency"), 10).upper() or "SAR"
    currency = {"ريال": "SAR", "ر.س": "SAR", "رس": "SAR", "SR": "SAR"}.get(currency, currency)
    if len(currency) != 3 or not currency.isalpha():
        raise RowError(f"unknown currency {currency!r}")
    fields["currency"] = currency
    stock_raw = _text(known.get("stock"), 20)
    if stock_raw:
        try:
            stock = parse_decimal(stock_raw, field="stock")
        except CatalogError as exc:
            raise RowError("stock is not a whole number") from exc
        if stock != stock.to_integral_value():
            raise RowError("stock is not a whole number")
        fields["stock"] = int(stock)
    status_raw = normalize_text(_text(known.get("status"), 20))
    if status_raw not in _STATUS_WORDS:
        raise RowError(f"unknown status {status_raw!r} (active, draft, archived)")
    fields["status"] = _STATUS_WORDS[status_raw]
    category_raw = known.get("category")
    if isinstance(category_raw, dict):
        category_raw = category_raw.get("name") or category_raw.get("slug") or ""
    if _text(category_raw, 200):
        fields["category"] = categories.get(_text(category_raw, 200))
    tags = known.get("tags")
    if tags not in (None, ""):
        fields["tags"] = tags if isinstance(tags, list) else [t for p in str(tags).split("|") for t in p.split(",")]
    attributes = known.get("attributes")
    if isinstance(attributes, str) and attributes.strip():
        try:
            attributes = json.loads(attributes)
        except json.JSONDecodeError:
            # "colour=black; size=42" is how people write it in spreadsheets.
            parsed = {}
            for part in attributes.replace("؛", ";").split(";"):
                if "=" in part or ":" in part:
                    key, _, value = part.replace(":", "=", 1).partition("=")
                    parsed[key.strip()] = value.strip()
            if not parsed:
                raise RowError("attributes must be JSON or 'key=value; key=value'") from None
            attributes = parsed
    if attributes in (None, ""):
        attributes = {}
    if not isinstance(attributes, dict):
        raise RowError("attributes must be an object")
    fields["attributes"] = {**{k: v for k, v in extra.items()}, **attributes}
    images = known.get("image_url")
    if images not in (None, ""):
        urls = images if isinstance(images, list) else [u.strip() for u in str(images).replace("|", ",").split(",")]
        urls = [str(u) for u in urls if str(u).strip()]
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            raise RowError(f"image_url is not an http(s) URL: {bad[0][:60]!r}")
        fields["images"] = urls[:20]
    external = _text(known.get("external_id"), 200)
    if external:
        fields["external_id"] = external
    return fields


# --- running ---------------------------------------------------------------------------------------------------


class _Progress:
    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.errors: list[dict[str, Any]] = []
        self.error_count = self.processed = self.created = self.updated = 0

    def error(self, row: int, sku: str, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < ImportJob.MAX_STORED_ERRORS:
            self.errors.append({"row": row, "sku": sku[:100], "reason": reason[:300]})

    def save(self, **extra: Any) -> None:
        ImportJob.objects.filter(id=self.job.id).update(
            processed_rows=self.processed,
            created_count=self.created,
            updated_count=self.updated,
            error_count=self.error_count,
            errors=self.errors,
            **extra,
        )


def _write_batch(job: ImportJob, progress: _Progress, batch: list[tuple[int, dict[str, Any]]]) -> None:
    if not batch:
        return
    try:
        created, updated = products_upsert_batch(
            merchant=job.merchant, rows=[fields for _, fields in batch], source=ProductSource.IMPORT
        )
        progress.created += created
        progress.updated += updated
    except (CatalogError, IntegrityError):
        # Something in this batch conflicts (e.g. an external id already used): isolate it row by row.
        for number, fields in batch:
            try:
                created, updated = products_upsert_batch(
                    merchant=job.merchant, rows=[fields], source=ProductSource.IMPORT
                )
                progress.created += created
                progress.updated += updated
            except CatalogError as exc:
                progress.error(number, fields.get("sku", ""), exc.message)
            except IntegrityError:
                progress.error(number, fields.get("sku", ""), "conflicts with an existing product")
    metrics.IMPORT_ROWS.labels(source="file", outcome="ok").inc(len(batch))


def import_run_stream(
    *, job: ImportJob, raw: IO[bytes], on_progress: Callable[[ImportJob, int], None] | None = None
) -> ImportJob:
    """Import a binary stream into the job's merchant, updating the job's counters after every batch."""
    progress = _Progress(job)
    sample = raw.read(1_048_576)
    raw.seek(0)
    if not sample:
        progress.save(state=ImportState.FAILED, message="The file is empty (0 bytes).", finished_at=timezone.now())
        job.refresh_from_db()
        return job
    encoding = detect_encoding(sample)
    ImportJob.objects.filter(id=job.id).update(encoding=encoding)
    categories = _CategoryResolver(job.merchant)
    seen_skus: dict[str, int] = {}
    batch: list[tuple[int, dict[str, Any]]] = []
    max_rows = _max_rows()
    message = ""
    try:
        if job.format == ImportFormat.CSV:
            rows: Iterator = _csv_rows(raw, encoding)
            first = next(rows, None)
            if first is None:
                raise ImportFileError("The CSV file has no header row.")
            header_fields = {_HEADER_MAP.get(normalize_text(h).replace("-", "_")) for h in first[1]["__header__"]}
            missing = [c for c in REQUIRED if c not in header_fields]
            if "title_ar" not in header_fields and "title_en" not in header_fields:
                missing.append("title_ar or title_en")
            if missing:
                raise ImportFileError(f"Missing required column(s): {', '.join(missing)}. Nothing was imported.")
        else:
            text = io.TextIOWrapper(raw, encoding=encoding, errors="replace")
            rows = _json_array_objects(text) if job.format == ImportFormat.JSON else _jsonl_objects(text)
        for number, row, problem in rows:
            if progress.processed >= max_rows:
                message = f"The file has more than {max_rows:,} rows; the rest was not imported."
                progress.error(number, "", "row limit reached")
                break
            progress.processed += 1
            if row is None:
                progress.error(number, "", problem)
                continue
            try:
                fields = row_to_fields(row, categories)
            except RowError as exc:
                progress.error(number, _text(_map_keys(row)[0].get("sku"), 100), str(exc))
                continue
            first_row = seen_skus.get(fields["sku"])
            if first_row is not None:
                progress.error(number, fields["sku"], f"duplicate SKU in this file (first seen at row {first_row})")
                continue
            seen_skus[fields["sku"]] = number
            batch.append((number, fields))
            if len(batch) >= BATCH_SIZE:
                _write_batch(job, progress, batch)
                batch = []
                progress.save()
                if on_progress:
                    on_progress(job, progress.processed)
        _write_batch(job, progress, batch)
    except ImportFileError as exc:
        progress.save(state=ImportState.FAILED, message=exc.message[:500], finished_at=timezone.now())
        metrics.IMPORT_ROWS.labels(source="file", outcome="failed_file").inc()
        job.refresh_from_db()
        return job
    if progress.error_count:
        metrics.IMPORT_ROWS.labels(source="file", outcome="error").inc(progress.error_count)
    ok = progress.created + progress.updated
    summary = (
        message
        or f"{ok:,} products imported ({progress.created:,} new, {progress.updated:,} updated), {progress.error_count:,} rows with errors."
    )
    progress.save(state=ImportState.DONE, message=summary[:500], finished_at=timezone.now())
    if on_progress:
        on_progress(job, progress.processed)
    job.refresh_from_db()
    return job


def import_job_run(*, job_id: Any) -> ImportJob | None:
    """Run a pending job (idempotent: a job already claimed by another worker is left alone)."""
    claimed = ImportJob.objects.filter(id=job_id, state=ImportState.PENDING).update(
        state=ImportState.RUNNING, started_at=timezone.now()
    )
    job = ImportJob.objects.filter(id=job_id).select_related("merchant").first()
    if not claimed or job is None:
        return job
    try:
        with job.file.open("rb") as raw:
            return import_run_stream(job=job, raw=raw)
    except Exception as exc:
        logger.exception("import job %s crashed", job_id)
        ImportJob.objects.filter(id=job_id).update(
            state=ImportState.FAILED, message=f"Import failed: {type(exc).__name__}"[:500], finished_at=timezone.now()
        )
        raise


def export_rows(*, merchant: Any) -> Iterator[list[str]]:
    """CSV rows (header first) of every product of the merchant, streamed in chunks."""
    yield [*CSV_COLUMNS, "external_id"]
    categories = {c.id: c.slug for c in Category.objects.for_merchant(merchant)}
    for p in Product.objects.for_merchant(merchant).order_by("sku").iterator(chunk_size=1000):
        yield [
            p.sku,
            p.title_ar,
            p.title_en,
            p.description_ar,
            p.description_en,
            _money(p.price),
            _money(p.sale_price),
            p.currency,
            str(p.stock),
            categories.get(p.category_id, ""),
            "|".join(p.tags or []),
            json.dumps(p.attributes or {}, ensure_ascii=False),
            "|".join(p.images or []),
            p.status,
            p.external_id or "",
        ]


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"
