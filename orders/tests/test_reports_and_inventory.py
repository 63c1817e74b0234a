"""Sales reports (API, CSV, SalesReport rows, dashboard), low-stock alerts, inventory uploads."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import tasks
from orders.models import InventoryUpload, LowStockAlert, Order, SalesReport
from orders.services import order_cancel, order_mark_paid, order_refund
from orders.tests.fixtures import place
from products.models import Product, StockMovement, Variant
from testing.factories import UserFactory, bearer, make_variant, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def reporter(db):
    return staff_user("orders.view_salesreport", email="reports@example.com")


@pytest.fixture
def sales(client):
    """Today: two paid orders (50.00 and 30.00, 3 units), one pending, one cancelled, one
    paid then refunded 10.00; yesterday: one paid order of 20.00."""
    tee = make_variant(price="25.00", stock=100, name="Tee")
    mug = make_variant(price="10.00", stock=100, name="Mug")
    paid_1 = place(client, lines=[(tee, 2)], key="p1")  # 50.00
    paid_2 = place(client, lines=[(mug, 3)], key="p2")  # 30.00 + 5.00 shipping
    place(client, lines=[(mug, 1)], key="pending")
    cancelled = place(client, lines=[(tee, 1)], key="c")
    refunded = place(client, lines=[(tee, 2)], key="r")  # 50.00
    old = place(client, lines=[(mug, 2)], key="old")  # 20.00 + 5.00
    for order in (paid_1, paid_2, refunded, old):
        order_mark_paid(order_id=order.pk)
    order_cancel(order_id=cancelled.pk)
    order_refund(order_id=refunded.pk, amount=Decimal("10.00"))
    Order.objects.filter(pk=old.pk).update(placed_at=timezone.now() - timedelta(days=1))
    return {"tee": tee, "mug": mug}


def test_the_sales_report_adds_up(client, reporter, sales):
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    response = client.get(
        f"/api/staff/reports/sales?from={yesterday}&to={today}", **bearer(reporter)
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["days"] == [
        {
            "date": str(yesterday),
            "orders": 1,
            "paid_orders": 1,
            "revenue": "25.00",
            "promotion_discount": "0.00",
            "revenue_before_promotions": "25.00",
            "orders_with_promotions": 0,
            "units": 2,
            "average_order_value": "25.00",
        },
        {
            "date": str(today),
            "orders": 4,  # the cancelled one is not counted
            "paid_orders": 3,
            "revenue": "125.00",  # 50 + 35 + (50 - 10)
            "promotion_discount": "0.00",
            "revenue_before_promotions": "125.00",
            "orders_with_promotions": 0,
            "units": 7,
            "average_order_value": "41.67",
        },
    ]
    assert body["totals"] == {
        "orders": 5,
        "paid_orders": 4,
        "revenue": "150.00",
        "promotion_discount": "0.00",  # promotions' figures: promotions/tests
        "revenue_before_promotions": "150.00",
        "orders_with_promotions": 0,
        "units": 9,
        "average_order_value": "37.50",
    }
    assert [(p["product_name"], p["units"], p["revenue"]) for p in body["top_products"]] == [
        ("Mug", 5, "50.00"),
        ("Tee", 4, "100.00"),
    ]


def test_the_sales_report_as_csv(client, reporter, sales):
    today = timezone.localdate()
    for extra in ({"format": "csv"}, {}):
        headers = bearer(reporter)
        if not extra:
            headers["HTTP_ACCEPT"] = "text/csv"
        response = client.get(
            "/api/staff/reports/sales", {"from": str(today), "to": str(today), **extra}, **headers
        )
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = response.content.decode().splitlines()
        assert rows == [
            "date,orders,paid_orders,revenue,promotion_discount,revenue_before_promotions,"
            "orders_with_promotions,units,average_order_value,currency",
            f"{today},4,3,125.00,0.00,125.00,0,7,41.67,USD",
            "total,4,3,125.00,0.00,125.00,0,7,41.67,USD",
        ]


def test_the_sales_report_refuses_bad_ranges_and_strangers(client, reporter):
    def get(query, user=reporter):
        return client.get(f"/api/staff/reports/sales?{query}", **bearer(user))

    assert get("from=2026-02-01&to=2026-01-01").json()["code"] == "invalid_date_range"
    assert get("from=2024-01-01&to=2026-01-01").status_code == 422
    assert get("from=nope&to=2026-01-01").status_code == 422
    assert get("from=2026-01-01&to=2026-01-02", UserFactory()).status_code == 403


def test_a_years_report_runs_a_bounded_number_of_queries(client, reporter, sales):
    today = timezone.localdate()
    headers = bearer(reporter)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            f"/api/staff/reports/sales?from={today - timedelta(days=364)}&to={today}", **headers
        )
    assert response.status_code == 200 and len(response.json()["days"]) == 365
    assert len(queries) <= 6  # user, permissions x2, days, units, top products


def test_the_daily_task_writes_the_report_and_rewrites_it_the_same(sales):
    yesterday = timezone.localdate() - timedelta(days=1)
    assert tasks.sales_report_daily_task(days=2) == [
        str(yesterday - timedelta(days=1)),
        str(yesterday),
    ]
    report = SalesReport.objects.get(date=yesterday)
    assert (report.orders, report.paid_orders, report.revenue, report.units) == (
        1,
        1,
        Decimal("25.00"),
        2,
    )
    assert report.top_products == [
        {
            "product_id": sales["mug"].product_id,
            "product_name": "Mug",
            "units": 2,
            "revenue": "20.00",
        }
    ]
    tasks.sales_report_daily_task(day=str(yesterday))
    assert SalesReport.objects.count() == 2
    assert SalesReport.objects.get(date=yesterday).revenue == Decimal("25.00")
    # the popularity sort's counts: units in paid orders (the cancelled tee is not one)
    counts = dict(
        Product.objects.filter(
            pk__in=[sales["tee"].product_id, sales["mug"].product_id]
        ).values_list("name", "sales_count")
    )
    assert counts == {"Tee": 4, "Mug": 5}


def test_the_admin_dashboard_shows_the_chart_today_low_stock_and_recent_orders(client, sales):
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    Variant.objects.filter(pk=sales["mug"].pk).update(stock_quantity=2)
    client.force_login(admin)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-type="bar"' in page and "Revenue and orders, last 30 days" in page
    assert "Orders today" in page and "125.00 USD" in page
    assert sales["mug"].sku in page  # low stock
    assert Order.objects.order_by("-placed_at").first().number in page  # recent orders
    assert len(queries) < 30


# -- low-stock alerts -----------------------------------------------------------------------------


def test_low_stock_alerts_go_once_per_crossing(settings):
    settings.LOW_STOCK_ALERT_EMAILS = ["stock@example.com", "ops@example.com"]
    low = make_variant(stock=3, sku="LOW-1")
    make_variant(stock=50, sku="FINE-1")
    assert tasks.low_stock_alert_send_task() == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["ops@example.com", "stock@example.com"]
    assert "LOW-1" in mail.outbox[0].body and "FINE-1" not in mail.outbox[0].body
    assert tasks.low_stock_alert_send_task() == 0  # still low: no second email
    assert len(mail.outbox) == 2
    Variant.objects.filter(pk=low.pk).update(stock_quantity=20)  # back above
    assert tasks.low_stock_alert_send_task() == 0
    assert not LowStockAlert.objects.exists()
    Variant.objects.filter(pk=low.pk).update(stock_quantity=1)  # the next crossing
    assert tasks.low_stock_alert_send_task() == 1
    assert len(mail.outbox) == 4


def test_a_checkout_that_crosses_the_threshold_triggers_the_alert(client, run_tasks):
    staff_user(email="boss@example.com")
    variant = make_variant(stock=7, sku="HOT-1")  # threshold 5
    with run_tasks():
        place(client, lines=[(variant, 3)])
    alert = LowStockAlert.objects.get()
    assert (alert.variant_id, alert.stock_at_alert) == (variant.pk, 4)
    assert any(m.to == ["boss@example.com"] and "HOT-1" in m.body for m in mail.outbox)


# -- inventory uploads ----------------------------------------------------------------------------


@pytest.fixture
def stocker(db):
    return staff_user("products.adjust_stock", email="stock@example.com")


def upload(client, user, content: str, *, key="up-1", name="stock.csv"):
    return client.post(
        "/api/staff/inventory/uploads",
        {"file": SimpleUploadedFile(name, content.encode(), content_type="text/csv")},
        HTTP_IDEMPOTENCY_KEY=key,
        **bearer(user),
    )


def test_an_inventory_upload_is_applied_once_with_per_row_results(client, stocker, run_tasks):
    a = make_variant(stock=10, sku="INV-A")
    b = make_variant(stock=5, sku="INV-B")
    c = make_variant(stock=2, sku="INV-C")
    csv = (
        "sku,quantity,delta,note\n"
        "inv-a,40,,counted\n"  # absolute, lower-case sku
        "INV-B,,+7,delivery\n"
        "INV-C,,-5,broken\n"  # below zero: refused
        "NOPE,3,,\n"
        "INV-B,,-2,\n"  # rows apply in order
        "INV-A,40,,\n"  # unchanged
        "INV-C,1,2,\n"  # both: refused
    )
    with run_tasks():
        response = upload(client, stocker, csv)
    assert response.status_code == 202, response.json()
    upload_id = response.json()["id"]
    detail = client.get(f"/api/staff/inventory/uploads/{upload_id}", **bearer(stocker)).json()
    assert detail["status"] == "done"
    assert (detail["rows_total"], detail["rows_applied"], detail["rows_unchanged"]) == (7, 3, 1)
    assert detail["rows_failed"] == 3
    assert [(r["row"], r["sku"], r["status"], r.get("after")) for r in detail["results"]] == [
        (2, "INV-A", "applied", 40),
        (3, "INV-B", "applied", 12),
        (4, "INV-C", "error", None),
        (5, "NOPE", "error", None),
        (6, "INV-B", "applied", 10),
        (7, "INV-A", "unchanged", 40),
        (8, "INV-C", "error", None),
    ]
    assert "below zero" in detail["results"][2]["error"]
    stock = dict(
        Variant.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("sku", "stock_quantity")
    )
    assert stock == {"INV-A": 40, "INV-B": 10, "INV-C": 2}
    moves = StockMovement.objects.filter(reference=f"inventory-upload:{upload_id}").order_by("id")
    assert [(m.sku, m.quantity_delta, m.reason, m.actor) for m in moves] == [
        ("INV-A", 30, "import", stocker),
        ("INV-B", 7, "import", stocker),
        ("INV-B", -2, "import", stocker),
    ]
    # the task again, the same key again, the same file under another key: nothing more
    tasks.inventory_upload_process_task(upload_id)
    assert upload(client, stocker, csv).json()["id"] == upload_id
    duplicate = upload(client, stocker, csv, key="up-2")
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "inventory_upload_duplicate"
    assert duplicate.json()["details"]["upload_id"] == upload_id
    assert StockMovement.objects.filter(reference=f"inventory-upload:{upload_id}").count() == 3
    assert InventoryUpload.objects.count() == 1
    listed = client.get("/api/staff/inventory/uploads", **bearer(stocker)).json()
    assert [u["id"] for u in listed["results"]] == [upload_id]


@pytest.mark.parametrize(
    "content,code",
    [
        ("name,amount\nA,1\n", "inventory_csv_invalid"),
        ("sku,quantity\n", "inventory_csv_invalid"),
        ("sku,quantity\nA,1\n\x00", "inventory_csv_invalid"),
    ],
)
def test_a_broken_file_is_refused_at_once(client, stocker, content, code):
    response = upload(client, stocker, content)
    assert response.status_code == 422 and response.json()["code"] == code
    assert not InventoryUpload.objects.exists()


def test_uploads_need_a_key_the_permission_and_a_small_file(client, stocker, settings):
    customer = UserFactory()
    assert upload(client, customer, "sku,quantity\nA,1\n").status_code == 403
    missing = client.post(
        "/api/staff/inventory/uploads",
        {"file": SimpleUploadedFile("s.csv", b"sku,quantity\nA,1\n")},
        **bearer(stocker),
    )
    assert missing.status_code == 400 and missing.json()["code"] == "idempotency_key_required"
    settings.INVENTORY_UPLOAD_MAX_BYTES = 10
    assert upload(client, stocker, "sku,quantity\nABCDEF,1\n").status_code == 413


@pytest.mark.parametrize("page_size", [1, 50])
def test_the_upload_list_runs_a_bounded_number_of_queries(client, stocker, page_size):
    InventoryUpload.objects.bulk_create(
        InventoryUpload(filename=f"{n}.csv", sha256=f"{n:064d}", content="sku,delta\nA,1\n")
        for n in range(60)
    )
    headers = bearer(stocker)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/staff/inventory/uploads?page_size={page_size}", **headers)
    assert response.status_code == 200 and len(response.json()["results"]) == page_size
    assert len(queries) <= 5  # user, permissions x2, count, page
