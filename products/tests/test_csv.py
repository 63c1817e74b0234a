"""CSV export and import: round trip, dry run, all-or-nothing and valid-rows modes."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from products.csv_io import export_csv, import_csv
from products.models import Product, StockMovement, Variant

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
    report = import_csv(io.StringIO(text))
    assert report.errors == [] and report.applied
    assert (report.products_created, report.variants_created) == (3, 5)
    assert exported() == text
    # Into the catalog it came from: nothing changes, no stock is moved.
    movements = StockMovement.objects.count()
    again = import_csv(io.StringIO(text))
    assert (again.products_updated, again.variants_updated, again.stock_changes) == (3, 5, 0)
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
    report = import_csv(io.StringIO(text), reference="import prices.csv")
    assert report.applied and report.stock_changes == 1
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
    report = import_csv(io.StringIO(broken(catalog)), dry_run=True, mode="valid")
    assert not report.applied
    assert sorted((e.line, e.field) for e in report.errors) == [
        (2, "price"),
        (6, "attr:ram"),
        (6, "stock_quantity"),
    ]
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 10
    assert not StockMovement.objects.exists()


def test_atomic_mode_applies_nothing_when_a_row_fails(catalog):
    report = import_csv(io.StringIO(broken(catalog)), mode="atomic")
    assert report.errors and not report.applied
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 10


def test_valid_mode_applies_the_valid_rows(catalog):
    report = import_csv(io.StringIO(broken(catalog)), mode="valid")
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
    call_command("catalog_import", str(path))
    assert Product.objects.count() == 3
    err = capsys.readouterr().err
    assert "import: 100%" in err and "export" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("product_slug,sku,price\nroad-runner,RR-BLUE-42,-1\n")
    with pytest.raises(CommandError):
        call_command("catalog_import", str(bad), "--no-progress")
