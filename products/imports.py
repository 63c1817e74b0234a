"""Catalog imports as jobs: a staff CSV stored as a CatalogImport and applied by the
catalog.import task, with progress and per-row results (the admin's import; the inventory
upload's pattern, orders/inventory.py).

1. catalog_import_create stores the file with its SHA-256 and options and enqueues the task with
   delay_on_commit, in one transaction. The same file with the same stock option is refused
   (409 catalog_import_duplicate) while one is pending or running, or once one changed the
   catalog: a file applies once. One that failed or changed nothing may be uploaded again.
2. catalog_import_process, the task's body, runs products.csv_io.import_csv under a session
   advisory lock (a second delivery of the message leaves a running import alone). Each
   committed batch records its progress, counters and results in its own transaction, so a
   retried or redelivered task resumes after the last committed batch and no batch applies
   twice (a stock delta would count twice). A batch that rolls back (a dry run, atomic mode's
   check) records the rows done after it.
3. At the end the import is done, with its summary; when the task's attempts run out,
   catalog_import_fail marks it failed with the error, the rows its committed batches applied
   still listed.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, JSONField, Value
from django.db.models.expressions import CombinedExpression
from django.utils import timezone

from api.errors import InvalidInput
from api.uploads import upload_text
from products import tasks
from products.csv_io import (
    APPLYING,
    COUNTERS,
    MODES,
    STOCK_MODES,
    BatchDone,
    ImportReport,
    import_csv,
)
from products.errors import CatalogImportDuplicate
from products.models import CatalogImport

# The advisory-lock namespace of catalog imports ("CIMP"); the second key is the import's id.
_LOCK_CLASS = 0x43494D50
# The code of a refused file (422), whichever check refused it.
CSV_INVALID = "catalog_csv_invalid"


def digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def _invalid(message: str) -> InvalidInput:
    return InvalidInput.for_field("file", message, code=CSV_INVALID)


def read_upload(file: Any) -> str:
    """The uploaded file as text: at most CATALOG_IMPORT_MAX_BYTES, UTF-8 (a BOM is fine), no
    NUL; a refusal names the line (api/uploads.py)."""
    return upload_text(file, limit=settings.CATALOG_IMPORT_MAX_BYTES, code=CSV_INVALID)


def data_rows(content: str) -> int:
    """The number of data rows (the header aside)."""
    try:
        return max(sum(1 for _row in csv.reader(io.StringIO(content))) - 1, 0)
    except csv.Error as exc:
        raise _invalid(f"Not a CSV file: {exc}.") from None


def catalog_import_create(
    *,
    filename: str,
    content: str,
    actor: Any,
    mode: str = "atomic",
    stock: str = "ignore",
    dry_run: bool = False,
) -> CatalogImport:
    """Store the import and enqueue it (after commit); the same file again is a 409 (see 1.)."""
    if mode not in MODES or stock not in STOCK_MODES:
        raise ValueError(f"mode must be one of {MODES} and stock one of {STOCK_MODES}")
    sha = digest(content)
    try:
        with transaction.atomic():
            job = CatalogImport.objects.create(
                filename=filename[:255],
                sha256=sha,
                content=content,
                mode=mode,
                stock=stock,
                dry_run=dry_run,
                created_by=actor if getattr(actor, "pk", None) else None,
                rows_total=data_rows(content),
            )
            tasks.catalog_import_process_task.delay_on_commit(job.pk)
    except IntegrityError:
        existing = (
            CatalogImport.objects.filter(sha256=sha, stock=stock, dry_run=False)
            .exclude(status=CatalogImport.Status.FAILED)
            .order_by("-pk")
            .values_list("pk", flat=True)
            .first()
        )
        raise CatalogImportDuplicate(details={"import_id": existing}) from None
    return job


@contextlib.contextmanager
def _running(import_id: int) -> Iterator[bool]:
    """Whether this process may run the import: a session advisory lock, released at the end
    (or with the connection, when a worker dies)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, import_id])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, import_id])


def _counters(source: Any) -> dict[str, int]:
    return {name: getattr(source, name) for name in COUNTERS}


def _changed(totals: dict[str, int]) -> bool:
    """Whether these counters changed the catalog (unchanged rows do not)."""
    return any(value for name, value in totals.items() if name != "rows_unchanged")


def catalog_import_process(*, import_id: int) -> CatalogImport:
    """Run the import (or the rest of it); a done or failed one is left as it is."""
    with _running(import_id) as held:
        if not held:  # another delivery of the message is running it
            return CatalogImport.objects.get(pk=import_id)
        with transaction.atomic():
            job = CatalogImport.objects.select_for_update().get(pk=import_id)
            if job.status in (CatalogImport.Status.DONE, CatalogImport.Status.FAILED):
                return job
            if job.status == CatalogImport.Status.PENDING:
                job.status = CatalogImport.Status.RUNNING
                job.started_at = timezone.now()
                job.save(update_fields=["status", "started_at"])
        resumed = job.stage == CatalogImport.Stage.APPLYING
        base = _counters(job) if resumed else dict.fromkeys(COUNTERS, 0)
        recorded: set[int] = set()

        def record(report: ImportReport, done: BatchDone) -> None:
            fields: dict[str, Any] = {"stage": done.stage, "rows_done": done.rows_done}
            if done.committed:  # in the batch's transaction: committed with it
                recorded.update(result["line"] for result in done.results)
                totals = {name: base[name] + value for name, value in _counters(report).items()}
                fields.update(
                    totals,
                    batches_done=done.number,
                    applied=_changed(totals),
                    results=_appended(done.results),
                )
            CatalogImport.objects.filter(pk=import_id).update(**fields)

        report = import_csv(
            io.StringIO(job.content),
            dry_run=job.dry_run,
            mode=job.mode,
            stock=job.stock,
            actor=job.created_by,
            reference=job.reference,
            on_batch=record,
            skip_batches=job.batches_done if resumed else 0,
            checked=resumed,
        )
        with transaction.atomic():
            job = CatalogImport.objects.select_for_update().get(pk=import_id)
            if report.stage == APPLYING:
                totals = {name: base[name] + value for name, value in _counters(report).items()}
                job.results += [r for r in report.results if r["line"] not in recorded]
            else:  # nothing committed: the report is the whole story
                totals = _counters(report)
                job.results = report.results
            for name, value in totals.items():
                setattr(job, name, value)
            job.rows_failed = len({r["line"] for r in job.results if r["status"] == "error"})
            job.applied = report.stage == APPLYING and _changed(totals)
            job.stopped_at = report.stopped_at
            job.summary = _summary(job, report)[:500]
            job.status = CatalogImport.Status.DONE
            job.processed_at = timezone.now()
            job.save()
    return job


def _appended(results: list[dict[str, Any]]) -> CombinedExpression:
    """results || the batch's results, in the UPDATE: the stored list is not read back."""
    return CombinedExpression(F("results"), "||", Value(results, output_field=JSONField()))


def _summary(job: CatalogImport, report: ImportReport) -> str:
    """The report's summary with the import's totals (a resumed run's report holds only its
    own batches)."""
    totals = ImportReport(
        rows=report.rows,
        dry_run=report.dry_run,
        applied=job.applied,
        stopped_at=job.stopped_at,
        **_counters(job),
    )
    return totals.summary(rows_failed=job.rows_failed)


def catalog_import_fail(*, import_id: int, error: str) -> None:
    """The task gave up: the import is failed (and its file may be uploaded again)."""
    CatalogImport.objects.filter(
        pk=import_id, status__in=[CatalogImport.Status.PENDING, CatalogImport.Status.RUNNING]
    ).update(status=CatalogImport.Status.FAILED, error=error[:5000], processed_at=timezone.now())
