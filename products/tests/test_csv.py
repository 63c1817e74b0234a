"""CSV export and import: round trip (the demo catalog's too), dry run, all-or-nothing and
valid-rows modes, stock left alone unless asked, the lock order."""

import csv
import io
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext

from api.errors import InvalidInput
from products import services
from products.csv_io import export_csv, import_csv
from products.models import (
    Product,
    ProductAttributeValue,
    StockMovement,
    Variant,
    VariantAttributeValue,
)
from products.seed import seed_catalog
from products.services import stock_decrement

pytestmark = pytest.mark.django_db


def exported() -> str:
    out = io.StringIO()
    export_csv(out)
    return out.getvalue()


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_has_one_row_per_variant_with_attribute_columns(catalog):
    rows = rows_of(exported())
    assert [r["sku"] for r in rows] == ["RR-BLUE-42", "RR-RED-43", rows[2]["sku"], "ZB-16", "ZB-32"]
    blue = rows[0]
    assert (blue["product_slug"], blue["category_slug"], blue["brand_slug"]) == (
        "road-runner",
        "running",
        "acme",
    )
    assert (blue["base_price"], blue["price"], blue["compare_at_price"]) == ("89.00", "", "120.00")
    assert (blue["attr:color"], blue["attr:size"], blue["attr:material"]) == ("Blue", "42", "Mesh")
    assert rows[4]["attr:ram"] == "32" and rows[4]["price"] == "1299.00"


def test_an_export_reimports_to_the_same_catalog(catalog):
    text = exported()
    Product.objects.all().delete()
    report = import_csv(io.StringIO(text), stock="set")
    assert report.errors == [] and report.applied
    assert (report.products_created, report.variants_created) == (3, 5)
    assert exported() == text
    # Into the catalog it came from: nothing changes, no stock is moved, no service is called.
    movements = StockMovement.objects.count()
    again = import_csv(io.StringIO(text), stock="set")
    assert (again.products_updated, again.variants_updated, again.stock_changes) == (0, 0, 0)
    assert (again.rows_unchanged, again.results) == (5, [])
    assert StockMovement.objects.count() == movements
    assert exported() == text


def edited(text: str, **changes_by_sku) -> str:
    rows = rows_of(text)
    for row in rows:
        row.update(changes_by_sku.get(row["sku"], {}))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_stock_and_prices_change_through_the_ledger(catalog):
    text = edited(exported(), **{"ZB-16": {"stock_quantity": "3", "price": "949.00"}})
    report = import_csv(io.StringIO(text), stock="set", reference="import prices.csv")
    assert report.applied and report.stock_changes == 1
    assert (report.variants_updated, report.rows_unchanged) == (1, 4)
    assert report.results == [{"line": 5, "sku": "ZB-16", "status": "updated"}]
    variant = Variant.objects.get(sku="ZB-16")
    assert (variant.stock_quantity, str(variant.price)) == (3, "949.00")
    movement = StockMovement.objects.get(variant=variant)
    assert (movement.reason, movement.quantity_delta, movement.reference) == (
        "import",
        -7,
        "import prices.csv",
    )
    assert str(Product.objects.get(slug="zen-book").price_min) == "949.00"


def broken(catalog) -> str:
    return edited(
        exported(),
        **{
            "RR-BLUE-42": {"price": "cheap"},
            "ZB-32": {"attr:ram": "lots", "stock_quantity": "-4"},
            "ZB-16": {"stock_quantity": "77"},
        },
    )


def test_dry_run_reports_every_row_error_and_changes_nothing(catalog):
    report = import_csv(io.StringIO(broken(catalog)), dry_run=True, mode="valid", stock="set")
    assert not report.applied
    assert sorted((e.line, e.field) for e in report.errors) == [
        (2, "price"),
        (6, "attr:ram"),
        (6, "stock_quantity"),
    ]
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 10
    assert not StockMovement.objects.exists()


def test_atomic_mode_applies_nothing_when_a_row_fails(catalog):
    report = import_csv(io.StringIO(broken(catalog)), mode="atomic", stock="set")
    assert report.errors and not report.applied
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 10


def test_valid_mode_applies_the_valid_rows(catalog):
    report = import_csv(io.StringIO(broken(catalog)), mode="valid", stock="set")
    assert report.applied
    assert {e.line for e in report.errors} == {2, 6}
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 77
    assert Variant.objects.get(sku="ZB-32").stock_quantity == 10
    assert Variant.objects.get(sku="RR-BLUE-42").price is None


def test_new_products_need_their_fields_and_known_references(catalog):
    text = (
        "product_slug,product_name,category_slug,base_price,brand_slug,sku,attr:color\n"
        "new-shoe,New Shoe,running,50.00,acme,NS-1,Blue\n"
        "bad-shoe,,running,50.00,,BS-1,\n"
        "odd-shoe,Odd,nowhere,50.00,nobrand,OS-1,\n"
        "other-shoe,Other,running,50.00,,RR-BLUE-42,Red\n"
    )
    report = import_csv(io.StringIO(text), mode="valid")
    assert sorted((e.line, e.field) for e in report.errors) == [
        (3, "product_name"),
        (4, "brand_slug"),
        (4, "category_slug"),
        (5, "product_slug"),
        (5, "sku"),
    ]
    new = Product.objects.get(slug="new-shoe")
    assert new.variants.get().is_default
    assert not Product.objects.filter(slug__in=["bad-shoe", "odd-shoe", "other-shoe"]).exists()


def test_unknown_columns_are_refused_before_any_row(catalog):
    report = import_csv(io.StringIO("product_slug,sku,colour\nx,Y,z\n"))
    assert [(e.line, e.field, e.message) for e in report.errors] == [
        (1, "colour", "Unknown column.")
    ]


def test_commands_round_trip_with_a_progress_bar(catalog, tmp_path, capsys):
    path = tmp_path / "catalog.csv"
    call_command("catalog_export", "-o", str(path))
    Product.objects.all().delete()
    call_command("catalog_import", str(path), "--dry-run")
    assert not Product.objects.exists()
    call_command("catalog_import", str(path), "--stock", "set")
    assert Product.objects.count() == 3
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 10
    err = capsys.readouterr().err
    assert "import: 100%" in err and "export" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("product_slug,sku,price\nroad-runner,RR-BLUE-42,-1\n")
    with pytest.raises(CommandError):
        call_command("catalog_import", str(bad), "--no-progress")


# -- the demo catalog's own export ----------------------------------------------------------------


def catalog_state() -> tuple:
    """Every figure an import could move, besides the export itself."""
    return (
        StockMovement.objects.count(),
        Product.objects.aggregate(Max("updated_at"))["updated_at__max"],
        Variant.objects.aggregate(Max("updated_at"))["updated_at__max"],
        ProductAttributeValue.objects.count(),
        VariantAttributeValue.objects.count(),
    )


def test_the_seeded_demo_catalog_exports_and_imports_back_changing_nothing(local_media):
    seed_catalog(products=300, seed=42, progress=False)
    text = exported()
    state = catalog_state()
    started = time.monotonic()
    report = import_csv(io.StringIO(text))
    elapsed = time.monotonic() - started
    assert [str(error) for error in report.errors] == []
    assert report.applied and report.results == []
    assert (report.products_updated, report.variants_updated, report.stock_changes) == (0, 0, 0)
    assert report.rows_unchanged == report.rows == Variant.objects.count()
    assert exported() == text  # byte for byte
    assert catalog_state() == state  # nothing written, no stock moved
    # Asking for the file's stock changes nothing either: the levels are the file's.
    again = import_csv(io.StringIO(text), stock="set")
    assert (again.errors, again.stock_changes, again.rows_unchanged) == ([], 0, again.rows)
    assert catalog_state() == state
    print(f"{report.rows} unchanged rows imported in {elapsed:.2f} s")


# -- stock ----------------------------------------------------------------------------------------


def test_an_export_from_before_a_sale_does_not_undo_it(catalog):
    text = exported()
    variant = Variant.objects.get(sku="ZB-16")
    with transaction.atomic():
        stock_decrement(quantities={variant.pk: 4}, reference="EM-000001")
    report = import_csv(io.StringIO(text))
    assert report.errors == [] and report.stock_changes == 0
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 6
    assert not StockMovement.objects.filter(reason="import").exists()


def test_stock_is_not_read_unless_asked(catalog):
    text = "product_slug,sku,stock_quantity,price\nzen-book,ZB-16,lots,949.00\n"
    report = import_csv(io.StringIO(text))
    assert report.errors == [] and report.variants_updated == 1
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 10
    refused = import_csv(io.StringIO(text), stock="set")
    assert [(e.line, e.field) for e in refused.errors] == [(2, "stock_quantity")]


def test_stock_set_and_delta_go_through_the_ledger(catalog):
    counted = "product_slug,sku,stock_quantity\nzen-book,ZB-16,3\nzen-book,ZB-32,10\n"
    report = import_csv(io.StringIO(counted), stock="set", reference="count.csv")
    assert (report.stock_changes, report.rows_unchanged) == (1, 1)
    movement = StockMovement.objects.get()
    assert (movement.sku, movement.reason, movement.quantity_delta, movement.reference) == (
        "ZB-16",
        "import",
        -7,
        "count.csv",
    )
    received = "product_slug,sku,stock_quantity\nzen-book,ZB-16,+5\nzen-book,ZB-32,-11\n"
    report = import_csv(io.StringIO(received), stock="delta", mode="valid")
    assert [str(e) for e in report.errors] == [
        "line 3 [stock_quantity]: Stock would go below zero (10 -11)."
    ]
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 8
    assert Variant.objects.get(sku="ZB-32").stock_quantity == 10
    assert StockMovement.objects.filter(reason="import").count() == 2


def test_the_command_takes_the_stock_option(catalog, tmp_path):
    path = tmp_path / "received.csv"
    path.write_text("product_slug,sku,stock_quantity\nzen-book,ZB-16,4\n")
    call_command("catalog_import", str(path), "--no-progress")
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 10
    call_command("catalog_import", str(path), "--no-progress", "--stock", "delta")
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 14
    call_command("catalog_import", str(path), "--no-progress", "--stock", "set")
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 4


# -- attributes: only the columns the file has ----------------------------------------------------


def test_an_attribute_without_a_column_keeps_its_values(catalog):
    report = import_csv(io.StringIO("product_slug,sku,price\nzen-book,ZB-16,949.00\n"))
    assert report.errors == [] and report.variants_updated == 1
    assert Variant.objects.get(sku="ZB-16").attribute_values.get().value_text == "16"
    blanked = import_csv(io.StringIO("product_slug,sku,attr:material\nroad-runner,RR-BLUE-42,\n"))
    assert blanked.errors == [] and blanked.products_updated == 1
    assert not Product.objects.get(slug="road-runner").attribute_values.exists()


# -- locks ----------------------------------------------------------------------------------------


def test_an_import_locks_variants_then_products_in_primary_key_order(catalog):
    """Variants first, in one statement ordered by id, as a checkout takes them; the file lists
    the products in the other order."""
    rows = [
        "product_slug,sku,variant_name",
        "zen-book,ZB-32,Big",
        "zen-book,ZB-16,Small",
        "road-runner,RR-RED-43,Red one",
        "road-runner,RR-BLUE-42,Blue one",
    ]
    with CaptureQueriesContext(connection) as queries:
        report = import_csv(io.StringIO("\n".join(rows) + "\n"), mode="valid")
    assert report.errors == [] and report.variants_updated == 4
    locks = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert 'FROM "products_variant"' in locks[0]
    assert locks[0].index('ORDER BY "products_variant"."id" ASC') < locks[0].index("FOR UPDATE")
    assert 'FROM "products_product"' in locks[1] and 'ORDER BY "products_product"."id"' in locks[1]


def test_atomic_mode_checks_every_row_then_applies_batch_by_batch(catalog, settings, monkeypatch):
    """No long transaction for all or nothing: every batch is tried and rolled back first, then
    applied in its own transaction. A row that fails only then (the catalog changed between the
    two passes) rolls its batch back and stops the import there, saying so."""
    settings.CATALOG_IMPORT_BATCH_PRODUCTS = 1
    real, calls = services.variant_update, []

    def variant_update(**kwargs):
        calls.append(kwargs["variant_id"])
        if len(calls) == 4:  # the check: 1, 2; applying: 3, then someone took the name
            raise InvalidInput.for_field("name", "Taken meanwhile.")
        return real(**kwargs)

    monkeypatch.setattr(services, "variant_update", variant_update)
    text = "product_slug,sku,variant_name\nroad-runner,RR-BLUE-42,Blue\nzen-book,ZB-16,Small\n"
    report = import_csv(io.StringIO(text))
    assert [str(e) for e in report.errors] == ["line 3 [variant_name]: Taken meanwhile."]
    assert (report.applied, report.stopped_at, report.variants_updated) == (True, 3, 1)
    assert report.summary().endswith("stopped at line 3: it and the rows after it not imported")
    assert Variant.objects.get(sku="RR-BLUE-42").name == "Blue"
    assert Variant.objects.get(sku="ZB-16").name == ""
