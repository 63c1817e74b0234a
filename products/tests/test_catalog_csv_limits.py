"""Catalog CSVs the importer must refuse by line (issue 15, item 7): bytes that are not UTF-8, a
NUL character, a stock delta past the integer column. Through the admin, the command and
products.imports alike; nothing is written."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from api.errors import InvalidInput
from products import imports
from products.csv_io import import_csv
from products.models import STOCK_MAX, CatalogImport, Product, StockMovement, Variant

pytestmark = pytest.mark.django_db

NOT_UTF8 = b"product_slug,sku,price\nzen-book,ZB-16,949.00\nzen-book,ZB-32,\xe912.00\n"
WITH_NUL = b"\xef\xbb\xbfproduct_slug,sku,price\nzen-book,ZB-16\x00,949.00\n"


class Upload:
    size = None

    def __init__(self, raw: bytes):
        self.raw = raw

    def read(self, limit: int) -> bytes:
        return self.raw[:limit]


@pytest.mark.parametrize(
    "raw,line,says", [(NOT_UTF8, 3, "is not UTF-8 text (byte 0xe9)"), (WITH_NUL, 2, "NUL")]
)
def test_an_upload_is_refused_naming_the_line(raw, line, says):
    with pytest.raises(InvalidInput) as refused:
        imports.read_upload(Upload(raw))
    assert refused.value.code == "catalog_csv_invalid"
    assert refused.value.message.startswith(f"Line {line} ") and says in refused.value.message
    assert refused.value.details["line"] == line
    assert refused.value.details["errors"][0]["field"] == "file"


def test_the_admin_page_names_the_line_and_stores_nothing(admin_client, catalog):
    upload = io.BytesIO(NOT_UTF8)
    upload.name = "catalog.csv"
    page = admin_client.post(
        reverse("admin:products_product_import_csv"),
        {"file": upload, "mode": "atomic", "stock": "ignore"},
    )
    assert "Line 3 is not UTF-8 text" in page.content.decode()
    assert not CatalogImport.objects.exists()


@pytest.mark.parametrize("raw,line", [(NOT_UTF8, 3), (WITH_NUL, 2)])
def test_the_command_names_the_line(catalog, tmp_path, raw, line):
    path = tmp_path / "catalog.csv"
    path.write_bytes(raw)
    # Before: a UnicodeDecodeError traceback, or the NUL reaching PostgreSQL.
    with pytest.raises(CommandError, match=f"Line {line} "):
        call_command("catalog_import", str(path), "--no-progress")
    assert Variant.objects.get(sku="ZB-16").price is None


def test_a_stock_delta_past_the_integer_column_is_a_row_error(catalog):
    Variant.objects.filter(sku="ZB-16").update(stock_quantity=2_000_000_000)
    text = "product_slug,sku,stock_quantity\nzen-book,ZB-16,+1000000000\nzen-book,ZB-32,+5\n"
    # Before: 500 in the admin's dry run (integer out of range), a failed task otherwise.
    report = import_csv(io.StringIO(text), mode="valid", stock="delta")
    assert [(e.line, e.field) for e in report.errors] == [(2, "stock_quantity")]
    assert str(STOCK_MAX) in report.errors[0].message
    levels = dict(Variant.objects.values_list("sku", "stock_quantity"))
    assert (levels["ZB-16"], levels["ZB-32"]) == (2_000_000_000, 15)
    assert StockMovement.objects.filter(variant__sku="ZB-16").count() == 0
    assert Product.objects.count() == 3
