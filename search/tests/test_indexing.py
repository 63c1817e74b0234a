"""Indexing: catalog changes reach the index after commit, the commands, resume, the
consistency check and its repairs, routing and the beat entry (PostgreSQL backend)."""

from __future__ import annotations

import math
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from api.celery import queue_for
from products import services
from products.models import Product
from search.base import SearchQuery
from search.models import (
    ReindexCheckpoint,
    SearchEntry,
    SearchProduct,
    SearchSuggestion,
    Synonym,
)
from search.pg.backend import PostgresBackend
from testing.factories import BrandFactory, CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(catalog):
    """The small catalog (testing/fixtures.py), indexed."""
    PostgresBackend().reindex()
    return catalog


def found(q: str, **filters) -> list[str]:
    return [
        h.name for h in PostgresBackend().search(SearchQuery(q=q, facets=False, **filters)).hits
    ]


def test_product_changes_reach_the_index_after_commit(
    catalog, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.product_update(product_id=catalog.runner.pk, name="Trail Blazer")
    assert found("blazer") == ["Trail Blazer"]
    assert found("road runner") == []
    # Stock: the sold-out red variant comes back in stock.
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_adjust(variant_id=catalog.runner_red.pk, delta=3)
    hit = PostgresBackend().search(SearchQuery(q="blazer", in_stock=True, facets=False)).hits[0]
    assert {v.sku for v in hit.variants} == {"RR-BLUE-42", "RR-RED-43"}


def test_deleted_and_deactivated_products_leave_the_index(
    catalog, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.product_update(product_id=catalog.slipper.pk, is_active=False)
    assert found("slipper") == []
    with django_capture_on_commit_callbacks(execute=True):
        services.product_delete(product_id=catalog.laptop.pk)
    assert found("zen book") == []
    assert not SearchEntry.objects.filter(product_id=catalog.laptop.pk).exists()
    assert not SearchProduct.objects.filter(product_id=catalog.laptop.pk).exists()


def test_a_category_rename_rebuilds_the_index(
    catalog, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.category_update(category_id=catalog.laptops.pk, name="Notebooks")
    assert found("notebooks") == ["Zen Book"]
    assert [s.text for s in PostgresBackend().autocomplete("noteb")] == ["Notebooks"]


def test_a_new_brand_and_category_are_suggested_with_their_first_product_and_leave_with_the_last(
    catalog,
):
    backend = PostgresBackend()

    def offered() -> set[tuple[str, str]]:
        return {
            (s.kind, s.text) for q in ("kestrel", "gravel bikes") for s in backend.autocomplete(q)
        }

    kestrel = BrandFactory(name="Kestrel", slug="kestrel")
    gravel = CategoryFactory(name="Gravel Bikes", slug="gravel-bikes", parent=catalog.apparel)
    new = {("brand", "Kestrel"), ("category", "Gravel Bikes")}
    assert not offered() & new
    bike = ProductFactory(name="Kite", slug="kite", brand=kestrel, category=gravel)
    backend.index_products([bike.pk])  # no structure rebuild
    assert offered() >= new
    brand = SearchSuggestion.objects.get(kind="brand", ref_id=kestrel.pk)
    assert brand.weight == pytest.approx(math.log(1 + 1))
    Product.objects.filter(pk=bike.pk).update(is_active=False)
    backend.index_products([bike.pk])
    assert not offered() & new
    # Apparel still holds the runner and the slipper: kept, its weight recounted at rebuilds.
    assert SearchSuggestion.objects.filter(kind="category", ref_id=catalog.apparel.pk).exists()


def test_a_broker_outage_delays_indexing_and_loses_nothing(
    catalog, monkeypatch, django_capture_on_commit_callbacks
):
    """The indexing message is an outbox row written with the change: a broker that refuses it
    leaves the row waiting (the write stands), and the next relay sends it, once."""
    from api import outbox
    from api.models import OutboxMessage
    from products.services import products_changed_on_commit

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(outbox.app, "send_task", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        products_changed_on_commit([catalog.runner.pk])
    row = OutboxMessage.objects.get(task_name="search.index_product")
    assert (row.args, row.sent_at, row.attempts) == ([[catalog.runner.pk]], None, 1)
    assert "broker down" in row.last_error

    published = []
    monkeypatch.setattr(outbox.app, "send_task", lambda name, **kw: published.append((name, kw)))
    OutboxMessage.objects.filter(pk=row.pk).update(available_at=row.created_at)
    assert outbox.outbox_relay().sent == 1
    assert outbox.outbox_relay().sent == 0  # sent rows are never published again
    assert [(name, kw["args"], kw["task_id"]) for name, kw in published] == [
        ("search.index_product", [[catalog.runner.pk]], f"outbox-{row.pk}")
    ]


def test_synonyms_apply_at_once_and_backends_are_told(
    catalog, monkeypatch, admin_client, django_capture_on_commit_callbacks
):
    told = []
    monkeypatch.setattr(PostgresBackend, "synonyms_changed", lambda self: told.append(1))
    assert found("ultrabook") == []
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/search/synonym/add/", {"terms": " Ultrabook ,LAPTOP ", "is_active": "on"}
        )
    assert response.status_code == 302
    assert Synonym.objects.get().terms == "ultrabook, laptop"
    assert found("ultrabook") == ["Zen Book"]
    assert told == [1]


def test_consistency_check_finds_and_repairs_drift(catalog):
    backend = PostgresBackend()
    assert backend.check_consistency().consistent
    extra = ProductFactory(name="Ghost")
    backend.index_products([extra.pk])
    with connection.cursor() as cursor:
        # Missing: the runner's rows gone; stale: the slipper's checksum off; extra: a product
        # deleted behind the indexer's back.
        cursor.execute("DELETE FROM search_pg_entry WHERE product_id = %s", [catalog.runner.pk])
        cursor.execute("DELETE FROM search_pg_product WHERE product_id = %s", [catalog.runner.pk])
        cursor.execute(
            "UPDATE search_pg_product SET checksum = 'x' WHERE product_id = %s",
            [catalog.slipper.pk],
        )
        cursor.execute("UPDATE products_product SET is_active = false WHERE id = %s", [extra.pk])
    report = backend.check_consistency(sample=100, repair=True)
    assert report.missing == (catalog.runner.pk,)
    assert report.extra == (extra.pk,)
    assert report.stale == (catalog.slipper.pk,)
    assert report.repaired and not report.consistent
    assert backend.check_consistency().consistent
    assert found("road runner") == ["Road Runner"]


def test_reindex_resumes_from_its_checkpoint(catalog):
    ids = sorted([catalog.runner.pk, catalog.slipper.pk, catalog.laptop.pk])
    SearchEntry.objects.all().delete()
    SearchProduct.objects.all().delete()
    ReindexCheckpoint.objects.update_or_create(
        backend="postgres",
        defaults={"status": "running", "last_product_id": ids[0], "processed": 1},
    )
    seen = []
    report = PostgresBackend().reindex(batch_size=1, resume=True, progress=seen.append)
    assert report.indexed == 2 and seen == [1, 1]
    assert set(SearchProduct.objects.values_list("product_id", flat=True)) == set(ids[1:])
    checkpoint = ReindexCheckpoint.objects.get(backend="postgres")
    assert (checkpoint.status, checkpoint.processed) == ("done", 3)


def test_commands(catalog):
    out = StringIO()
    call_command("init_search", stdout=out)
    call_command("search_reindex", "--batch-size", "2", "--no-progress", stdout=out)
    assert "indexed 3 products" in out.getvalue()
    call_command("search_reindex", "--resume", "--no-progress", stdout=out)
    assert PostgresBackend().check_consistency().consistent


def test_tasks_route_to_the_search_queue_and_the_beat_checks_hourly():
    assert queue_for("search.index_product") == "search.index_product"
    assert queue_for("search.index_product.consistency") == "search.index_product"
    assert queue_for("search.index_product.structure") == "search.index_product"
    entry = settings.DEFAULT_BEAT_SCHEDULES["search index consistency"]
    assert entry["task"] == "search.index_product.consistency"


def test_consistency_task_logs_its_report(catalog, eager_tasks):
    from search.tasks import search_consistency_task

    summary = search_consistency_task.delay(sample=10).get()
    assert summary["indexed"] == summary["expected"] == 3


def test_in_stock_and_featured_items_are_boosted_and_ties_are_stable(db):
    from products.models import Variant

    sold_out = ProductFactory(name="Twin Shoe")
    Variant.objects.filter(product=sold_out).update(stock_quantity=0)
    in_stock = ProductFactory(name="Twin Shoe")
    featured = ProductFactory(name="Twin Shoe", is_featured=True)
    also_in_stock = ProductFactory(name="Twin Shoe")
    PostgresBackend().reindex()
    hits = PostgresBackend().search(SearchQuery(q="twin shoe", facets=False)).hits
    assert [h.id for h in hits] == [featured.pk, in_stock.pk, also_in_stock.pk, sold_out.pk]
