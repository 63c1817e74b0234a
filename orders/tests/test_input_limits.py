"""Staff order input that used to end in a 500 (issue 15, item 7): report and filter dates past
what date arithmetic holds, inventory rows past the integer stock column, a file that is not
UTF-8 or holds a NUL, multipart without a boundary. Each is a 4xx naming the field or the row."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from orders.models import InventoryUpload
from products.models import STOCK_MAX, StockMovement, Variant
from testing.factories import bearer, make_variant, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def reporter(db):
    return staff_user("orders.view_salesreport", "orders.view_order", email="reports@example.com")


@pytest.fixture
def stocker(db):
    return staff_user("products.adjust_stock", email="stock@example.com")


def fields_of(response) -> list[str]:
    return [error["field"] for error in response.json()["details"]["errors"]]


@pytest.mark.parametrize(
    "query,field",
    [
        ("from=9999-12-31&to=9999-12-31", "from"),  # before: 500 (date + 1 day overflows)
        ("from=2026-01-01&to=9999-12-31", "to"),
        ("from=0001-01-01&to=0001-01-02", "from"),
    ],
)
def test_a_sales_report_date_out_of_range_is_a_422_naming_it(client, reporter, query, field):
    response = client.get(f"/api/staff/reports/sales?{query}", **bearer(reporter))
    assert response.status_code == 422, response.content
    assert field in fields_of(response)
    assert response.json()["details"]["errors"][0]["type"] == "date_range"


def test_the_staff_order_filter_refuses_dates_out_of_range(client, reporter):
    response = client.get("/api/staff/orders?placed_to=9999-12-31", **bearer(reporter))
    assert response.status_code == 422, response.content  # before: 500
    assert fields_of(response) == ["placed_to"]
    within = client.get("/api/staff/orders?placed_to=9998-12-31", **bearer(reporter))
    assert within.status_code == 200


# -- inventory uploads ----------------------------------------------------------------------------


def upload(client, user, content: bytes, *, key="up-1"):
    return client.post(
        "/api/staff/inventory/uploads",
        {"file": SimpleUploadedFile("stock.csv", content, content_type="text/csv")},
        HTTP_IDEMPOTENCY_KEY=key,
        **bearer(user),
    )


def test_rows_past_the_integer_stock_are_reported_not_applied(client, stocker, run_tasks):
    variant = make_variant(stock=10, sku="BIG-1")
    csv = b"sku,quantity,delta\nBIG-1,999999999,\nBIG-1,,+999999999\nBIG-1,,+999999999\n"
    csv += b"BIG-1,,+999999999\n"
    with run_tasks():
        response = upload(client, stocker, csv)
    assert response.status_code == 202, response.content
    detail = InventoryUpload.objects.get(pk=response.json()["id"])
    # Before: the task failed on the whole file (integer out of range) and applied nothing.
    assert detail.status == InventoryUpload.Status.DONE
    assert [(r["row"], r["status"]) for r in detail.results] == [
        (2, "applied"),
        (3, "applied"),
        (4, "error"),
        (5, "error"),
    ]
    assert str(STOCK_MAX) in detail.results[2]["error"]
    variant.refresh_from_db()
    assert variant.stock_quantity == 1_999_999_998
    assert StockMovement.objects.filter(variant=variant).count() == 2


@pytest.mark.parametrize(
    "content,line,says",
    [
        (b"sku,quantity\nA,1\nB,\xff2\n", 3, "not UTF-8"),
        (b"\xef\xbb\xbfsku,quantity\nA,1\nB,2\nC,\x003\n", 4, "NUL"),
    ],
)
def test_a_file_not_utf8_or_with_a_nul_is_a_422_naming_the_line(
    client, stocker, content, line, says
):
    response = upload(client, stocker, content)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "inventory_csv_invalid"
    assert body["details"]["line"] == line and fields_of(response) == ["file"]
    assert f"Line {line}" in body["message"] and says in body["message"]
    assert not InventoryUpload.objects.exists()


def test_an_upload_without_a_multipart_boundary_is_a_400(client, stocker):
    response = client.generic(
        "POST",
        "/api/staff/inventory/uploads",
        b"--x\r\n",
        content_type="multipart/form-data",
        HTTP_IDEMPOTENCY_KEY="up-1",
        **bearer(stocker),
    )
    assert response.status_code == 400, response.content  # before: 500
    assert response.json()["code"] == "bad_request"
    assert not Variant.objects.exists() and not InventoryUpload.objects.exists()
