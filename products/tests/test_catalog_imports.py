"""Catalog imports as tasks (products/imports.py): progress and per-row results, a file applied
once, a retry resuming after the last committed batch, a failed import marked and taken again."""

from __future__ import annotations

import io
import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from api.errors import InvalidInput
from api.models import FailedTask
from products import imports, services
from products.errors import CatalogImportDuplicate
from products.imports import catalog_import_create, catalog_import_process
from products.models import CatalogImport, StockMovement, Variant
from products.tasks import catalog_import_process_task
from testing.factories import staff_user

pytestmark = pytest.mark.django_db

PRICES = (
    "product_slug,sku,price\n"
    "road-runner,RR-BLUE-42,cheap\n"
    "road-runner,RR-RED-43,99.00\n"
    "zen-book,ZB-16,949.00\n"
    "zen-book,ZB-32,1299.00\n"
)
RECEIVED = "product_slug,sku,stock_quantity\nroad-runner,RR-BLUE-42,+2\nzen-book,ZB-16,+3\n"


def upload(text: str, **options) -> CatalogImport:
    return catalog_import_create(filename="catalog.csv", content=text, actor=None, **options)


def test_an_import_runs_as_a_task_with_progress_and_per_row_results(
    catalog, run_tasks, settings, monkeypatch
):
    settings.CATALOG_IMPORT_BATCH_PRODUCTS = 1
    real, progress = services.variant_update, []

    def variant_update(**kwargs):  # what the admin page would show meanwhile
        progress.append(
            CatalogImport.objects.values_list("status", "stage", "rows_done", "batches_done").get()
        )
        return real(**kwargs)

    monkeypatch.setattr(services, "variant_update", variant_update)
    with run_tasks():
        job = upload(PRICES, mode="valid")
    job.refresh_from_db()
    assert progress == [("running", "applying", 2, 1)]  # road-runner's batch committed
    assert (job.status, job.stage, job.rows_total, job.rows_done, job.batches_done) == (
        "done",
        "applying",
        4,
        4,
        2,
    )
    assert (job.rows_failed, job.variants_updated, job.rows_unchanged, job.applied) == (
        1,
        1,
        2,
        True,
    )
    assert job.results == [
        {
            "line": 2,
            "sku": "RR-BLUE-42",
            "status": "error",
            "errors": [{"field": "price", "message": "Expected an amount, not 'cheap'."}],
        },
        {"line": 4, "sku": "ZB-16", "status": "updated"},
    ]
    assert job.summary.startswith("4 rows, 1 with errors; changed: 0 products created")
    assert str(Variant.objects.get(sku="ZB-16").price) == "949.00"


def test_a_dry_run_task_reports_and_changes_nothing(catalog, run_tasks):
    with run_tasks():
        job = upload(PRICES, dry_run=True)
    job.refresh_from_db()
    assert (job.status, job.stage, job.rows_done, job.applied) == ("done", "validating", 4, False)
    assert [r["status"] for r in job.results] == ["error", "updated"]
    assert job.summary.startswith("4 rows, 1 with errors; would change")
    assert Variant.objects.get(sku="ZB-16").price is None
    upload(PRICES, dry_run=True)  # a dry run may come again and again


def test_a_file_applies_once_unless_it_failed_or_changed_nothing(catalog, run_tasks):
    with run_tasks():
        job = upload(RECEIVED, stock="delta")
    assert CatalogImport.objects.get(pk=job.pk).applied
    with pytest.raises(CatalogImportDuplicate) as refused:
        upload(RECEIVED, stock="delta")
    assert refused.value.details == {"import_id": job.pk}
    # The same file that changed nothing (an unchanged export, say) may come again.
    unchanged = "product_slug,sku,price\nzen-book,ZB-32,1299.00\n"
    with run_tasks():
        first = upload(unchanged)
    assert not CatalogImport.objects.get(pk=first.pk).applied
    upload(unchanged)
    with pytest.raises(CatalogImportDuplicate):  # while queued, it is not taken twice
        upload(unchanged)


def test_a_failed_import_is_marked_failed_and_the_file_can_come_again(catalog, monkeypatch):
    job = upload(RECEIVED, stock="delta")
    with pytest.raises(CatalogImportDuplicate):
        upload(RECEIVED, stock="delta")
    attempts = []

    def broken(*args, **kwargs):
        attempts.append(1)
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(imports, "import_csv", broken)
    result = catalog_import_process_task.apply(args=[job.pk])
    assert result.failed() and len(attempts) == 3  # every attempt, then given up
    job.refresh_from_db()
    assert (job.status, job.error) == ("failed", "RuntimeError: the disk is full")
    assert FailedTask.objects.filter(task_name="catalog.import").exists()
    monkeypatch.undo()
    again = upload(RECEIVED, stock="delta")
    catalog_import_process(import_id=again.pk)
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 13


def test_a_retried_import_resumes_after_its_last_committed_batch(catalog, settings, monkeypatch):
    """Atomic mode: the check passes, the first batch commits, the second fails once; the retry
    applies the second batch only, so no stock delta counts twice."""
    settings.CATALOG_IMPORT_BATCH_PRODUCTS = 1
    job = upload(RECEIVED, stock="delta")
    real, calls = services.stock_adjust_many, []

    def stock_adjust_many(**kwargs):
        calls.append(kwargs["changes"][0].variant_id)
        if len(calls) == 4:  # check: 1, 2; apply: 3, then the worker loses the database
            raise ConnectionError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(services, "stock_adjust_many", stock_adjust_many)
    result = catalog_import_process_task.apply(args=[job.pk])
    assert result.successful()
    assert (Variant.objects.get(sku="RR-BLUE-42").stock_quantity, catalog.laptop_16.pk) == (
        7,
        calls[4],
    )
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 13
    assert StockMovement.objects.filter(reference=job.reference).count() == 2
    job.refresh_from_db()
    assert (job.status, job.batches_done, job.stock_changes, job.rows_failed) == ("done", 2, 2, 0)
    assert [(r["line"], r["status"]) for r in job.results] == [(2, "updated"), (3, "updated")]
    # A message delivered again changes nothing.
    assert catalog_import_process(import_id=job.pk).status == "done"
    assert StockMovement.objects.filter(reference=job.reference).count() == 2


def test_an_import_another_worker_runs_is_left_alone(catalog):
    job = upload(RECEIVED, stock="delta")
    held, release = threading.Event(), threading.Event()

    def other_worker():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", [imports._LOCK_CLASS, job.pk])
                held.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(timeout=30)
        assert catalog_import_process(import_id=job.pk).status == "pending"
    finally:
        release.set()
        thread.join(timeout=30)
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 10


def test_uploads_are_checked_before_they_are_stored(settings):
    settings.CATALOG_IMPORT_MAX_BYTES = 10

    class Upload:
        size = None

        def __init__(self, raw: bytes):
            self.raw = raw

        def read(self, limit: int) -> bytes:
            return self.raw[:limit]

    with pytest.raises(InvalidInput):
        imports.read_upload(Upload(b"\xff\xfe"))
    assert imports.read_upload(Upload(b"\xef\xbb\xbfsku\n")) == "sku\n"
    with pytest.raises(Exception, match="larger than 10 bytes"):
        imports.read_upload(Upload(b"x" * 11))


def test_the_admin_lists_imports_and_shows_one_running(admin_client, catalog):
    job = upload(PRICES)
    CatalogImport.objects.filter(pk=job.pk).update(
        status="running", stage="applying", rows_done=2, started_at=job.created_at
    )
    listing = admin_client.get(reverse("admin:products_catalogimport_changelist"))
    assert listing.status_code == 200 and "catalog.csv" in listing.content.decode()
    page = admin_client.get(reverse("admin:products_catalogimport_change", args=[job.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Applying: 2 of 4 rows" in body and 'http-equiv="refresh"' in body
    assert admin_client.get(reverse("admin:products_catalogimport_add")).status_code == 403


def test_changing_stock_from_the_admin_needs_the_stock_permission(client, catalog):
    client.force_login(
        staff_user("products.add_product", "products.change_product", "products.view_product")
    )
    url = reverse("admin:products_product_import_csv")

    def send(stock: str):
        upload = io.BytesIO(RECEIVED.encode())
        upload.name = "received.csv"
        return client.post(url, {"file": upload, "mode": "atomic", "stock": stock})

    refused = send("delta")
    assert refused.status_code == 200 and "You may not change stock levels." in (
        refused.content.decode()
    )
    assert not CatalogImport.objects.exists()
    assert send("ignore").status_code == 302
    assert CatalogImport.objects.get().stock == "ignore"
