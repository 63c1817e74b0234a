"""Inventory CSV uploads: staff send counted levels or deltas, a task applies them once.

    sku,quantity,delta,note
    TEE-BLUE-M,40,,count of 3 March
    TEE-RED-L,,+12,delivery 4411

Each row has `quantity` (the counted level) or `delta` (+ received, - removed), not both. The
upload is stored as an InventoryUpload (its SHA-256 unique: the same file is applied once) and
the inventory.adjust task applies every valid row in one transaction that also marks the upload
done, so a redelivered task finds it done and changes nothing. Every change is a StockMovement
(reason import, reference `inventory-upload:<id>`) through products.services.stock_adjust_many;
rows that cannot apply (unknown SKU, not a number, stock below zero or past STOCK_MAX) are
reported, not applied.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from api.errors import InvalidInput
from api.uploads import upload_text
from orders import tasks
from orders.errors import InventoryUploadDuplicate, InventoryUploadNotFound
from orders.models import InventoryUpload
from products.models import STOCK_MAX, StockReason, Variant
from products.services import StockChange, stock_adjust_many

_INTEGER = re.compile(r"^[+-]?\d{1,9}$")


def digest(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def _invalid(message: str, code: str = "inventory_csv_invalid") -> InvalidInput:
    return InvalidInput.for_field("file", message, kind=code, code=code)


def read_upload(file: Any) -> str:
    """The uploaded file as text: at most INVENTORY_UPLOAD_MAX_BYTES, UTF-8 (a BOM is fine), no
    NUL; a refusal names the line (api/uploads.py)."""
    limit = settings.INVENTORY_UPLOAD_MAX_BYTES
    code = "inventory_csv_invalid"
    text = upload_text(file, limit=limit, code=code, kind=code)
    parse_rows(text)  # refuse a broken header or too many rows now, not in the task
    return text


def parse_rows(text: str) -> list[dict[str, str]]:
    """The data rows as dicts (header names lower-cased); 422 for a header without `sku` and
    `quantity` or `delta`, or more than INVENTORY_UPLOAD_MAX_ROWS rows."""
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [name.strip().lower() for name in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise _invalid(f"Not a CSV file: {exc}.") from None
    if "sku" not in header or not ({"quantity", "delta"} & set(header)):
        raise _invalid("The header needs `sku` and `quantity` or `delta` (and may have `note`).")
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            rows.append({k: (v or "").strip() for k, v in row.items() if isinstance(k, str)})
            if len(rows) > settings.INVENTORY_UPLOAD_MAX_ROWS:
                raise _invalid(f"At most {settings.INVENTORY_UPLOAD_MAX_ROWS} rows per file.")
    except csv.Error as exc:
        raise _invalid(f"Not a CSV file: {exc}.") from None
    if not rows:
        raise _invalid("The file has no data rows.")
    return rows


def inventory_upload_create(*, filename: str, content: str, actor: Any) -> InventoryUpload:
    """Store the upload and enqueue it (after commit); the same file again is a 409."""
    sha = digest(content)
    rows = parse_rows(content)
    try:
        with transaction.atomic():
            upload = InventoryUpload.objects.create(
                filename=filename[:255],
                sha256=sha,
                content=content,
                uploaded_by=actor if getattr(actor, "pk", None) else None,
                rows_total=len(rows),
            )
            tasks.inventory_upload_process_task.delay_on_commit(upload.pk)
    except IntegrityError:
        existing = InventoryUpload.objects.filter(sha256=sha).values_list("pk", flat=True).first()
        raise InventoryUploadDuplicate(details={"upload_id": existing}) from None
    return upload


def _row_change(row: dict[str, str]) -> tuple[str, int | None, int | None, str | None]:
    """(sku, quantity, delta, error) of one row."""
    sku = row.get("sku", "").upper()
    quantity, delta = row.get("quantity", ""), row.get("delta", "")
    if not sku:
        return sku, None, None, "No SKU."
    if bool(quantity) == bool(delta):
        return sku, None, None, "Give either quantity or delta."
    value = quantity or delta
    if not _INTEGER.match(value):
        return sku, None, None, f"{value!r} is not a whole number."
    number = int(value)
    if quantity and number < 0:
        return sku, None, None, "A counted quantity cannot be negative."
    return (sku, number, None, None) if quantity else (sku, None, number, None)


def inventory_upload_process(*, upload_id: int) -> InventoryUpload:
    """Apply the upload's valid rows, once; per-row results stored on the upload."""
    with transaction.atomic():
        upload = InventoryUpload.objects.select_for_update().get(pk=upload_id)
        if upload.status != InventoryUpload.Status.PENDING:
            return upload  # applied (or failed) before: a redelivered task changes nothing
        rows = parse_rows(upload.content)
        parsed = [_row_change(row) for row in rows]
        skus = sorted({sku for sku, _q, _d, error in parsed if sku and not error})
        # Locked in id order, like every stock change: no deadlock with a checkout.
        variants = {
            v.sku: v
            for v in Variant.objects.select_for_update().filter(sku__in=skus).order_by("pk")
        }
        levels = {v.pk: v.stock_quantity for v in variants.values()}
        results, changes = [], []
        for number, (sku, quantity, delta, error) in enumerate(parsed, start=2):
            result: dict[str, Any] = {"row": number, "sku": sku}
            variant = variants.get(sku)
            if error is None and variant is None:
                error = "Unknown SKU."
            if error is None:
                before = levels[variant.pk]
                after = quantity if quantity is not None else before + delta
                if after < 0:
                    error = f"Stock would go below zero ({before} {delta:+d})."
                elif after > STOCK_MAX:
                    error = f"Stock would pass {STOCK_MAX} units ({before} {delta:+d})."
                else:
                    levels[variant.pk] = after
                    result.update(before=before, after=after)
                    result["status"] = "unchanged" if after == before else "applied"
                    if after != before:
                        changes.append(StockChange(variant.pk, delta=after - before))
            if error is not None:
                result.update(status="error", error=error)
            results.append(result)
        if changes:
            stock_adjust_many(
                changes=changes,
                reason=StockReason.IMPORT,
                actor=upload.uploaded_by,
                reference=upload.reference,
                note=f"Inventory upload {upload.filename}"[:255],
            )
        upload.results = results
        upload.rows_total = len(results)
        upload.rows_applied = sum(r["status"] == "applied" for r in results)
        upload.rows_unchanged = sum(r["status"] == "unchanged" for r in results)
        upload.rows_failed = sum(r["status"] == "error" for r in results)
        upload.status = InventoryUpload.Status.DONE
        upload.processed_at = timezone.now()
        upload.save()
    return upload


def upload_list() -> QuerySet[InventoryUpload]:
    return InventoryUpload.objects.defer("content", "results").order_by("-created_at", "-id")


def upload_get(upload_id: int) -> InventoryUpload:
    upload = InventoryUpload.objects.filter(pk=upload_id).first()
    if upload is None:
        raise InventoryUploadNotFound()
    return upload
