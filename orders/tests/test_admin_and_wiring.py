"""The admin's order actions, coupon and inventory screens; task names, queues and schedules."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from api.celery import app, queue_for
from cart.models import Coupon
from orders import services
from orders.models import InventoryUpload, Order, OrderStatus
from orders.tests.fixtures import place
from payments.services import payment_record_manual
from products.models import Variant
from testing.factories import UserFactory, make_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def test_admin_actions_move_orders_through_the_services(admin_client, client):
    variant = make_variant(stock=10)
    first = place(client, lines=[(variant, 2)], key="1")
    second = place(client, lines=[(variant, 1)], key="2")
    changelist = reverse("admin:orders_order_changelist")
    response = admin_client.post(
        changelist, {"action": "mark_paid", "_selected_action": [first.pk]}, follow=True
    )
    assert response.status_code == 200
    assert Order.objects.get(pk=first.pk).status == OrderStatus.PAID
    ship_url = reverse("admin:orders_order_ship_one", args=[first.pk])
    assert admin_client.get(ship_url).status_code == 200
    admin_client.post(ship_url, {"tracking_number": "TRK-9", "carrier": "DHL"})
    first.refresh_from_db()
    assert (first.status, first.tracking_number, first.carrier) == ("shipped", "TRK-9", "DHL")
    # a refused transition is reported; the other order still moves
    response = admin_client.post(
        changelist,
        {"action": "cancel", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any(first.number in m for m in messages)
    assert Order.objects.get(pk=second.pk).status == OrderStatus.CANCELLED
    assert Order.objects.get(pk=first.pk).status == OrderStatus.SHIPPED
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 8
    page = admin_client.get(reverse("admin:orders_order_change", args=[first.pk]))
    assert page.status_code == 200 and "TRK-9" in page.content.decode()


@pytest.mark.parametrize(
    ("action", "prepare", "after"),
    [
        ("mark_paid_one", [], OrderStatus.PAID),
        ("deliver_one", ["mark-paid", "ship"], OrderStatus.DELIVERED),
        ("cancel_one", ["mark-paid"], OrderStatus.CANCELLED),
    ],
)
def test_a_link_to_an_order_action_changes_nothing_until_the_dialog_posts(
    admin_client, client, action, prepare, after, mailoutbox
):
    order = place(client, lines=[(make_variant(stock=5), 1)])
    if "mark-paid" in prepare:
        payment_record_manual(order=order, note="transfer arrived")
    if "ship" in prepare:
        services.order_ship(order_id=order.pk, tracking_number="T-1")
    order.refresh_from_db()
    before, sent = order.status, len(mailoutbox)
    url = reverse(f"admin:orders_order_{action}", args=[order.pk])

    # as a link in an email would open it: the question, and nothing changes
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"<form" in page.content and b"?" in page.content
    order.refresh_from_db()
    assert order.status == before
    assert len(mailoutbox) == sent

    answered = admin_client.post(url, {"_form_submitted": "on"})
    assert answered.status_code == 302
    order.refresh_from_db()
    assert order.status == after


def test_the_sales_report_rebuild_asks_before_it_writes(admin_client):
    from orders.models import SalesReport

    url = reverse("admin:orders_salesreport_regenerate")
    assert admin_client.get(url).status_code == 200
    assert not SalesReport.objects.exists()
    assert admin_client.post(url, {"_form_submitted": "on"}).status_code == 302
    assert SalesReport.objects.count() == 7


def test_coupons_are_managed_in_the_admin_with_their_rules(admin_client):
    url = reverse("admin:cart_coupon_add")
    data = {
        "code": "summer",
        "description": "",
        "kind": "percent",
        "value": "150",
        "min_subtotal": "0",
        "usage_limit": "",
        "per_customer_limit": "",
        "is_active": "on",
    }
    refused = admin_client.post(url, data)
    assert refused.status_code == 200 and not Coupon.objects.exists()  # 150 % is refused
    admin_client.post(url, {**data, "value": "15"})
    coupon = Coupon.objects.get()
    assert (coupon.code, coupon.value) == ("SUMMER", Decimal("15.00"))


def test_inventory_is_uploaded_in_the_admin(admin_client, run_tasks):
    variant = make_variant(stock=3, sku="ADM-1")
    url = reverse("admin:orders_inventoryupload_upload_csv")
    assert admin_client.get(url).status_code == 200
    with run_tasks():
        response = admin_client.post(
            url, {"file": SimpleUploadedFile("count.csv", b"sku,quantity\nADM-1,9\n")}
        )
    upload = InventoryUpload.objects.get()
    assert response.status_code == 302
    assert upload.status == "done" and upload.rows_applied == 1
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 9
    detail = admin_client.get(reverse("admin:orders_inventoryupload_change", args=[upload.pk]))
    assert detail.status_code == 200 and "ADM-1" in detail.content.decode()


@pytest.mark.parametrize(
    "task,queue",
    [
        ("email.send_order_confirmation", "email.send_order_confirmation"),
        ("email.send_payment_received", "email.send_payment_received"),
        ("email.send_order_shipped", "email.send_order_shipped"),
        ("email.send_order_cancelled", "email.send_order_cancelled"),
        ("email.send_order_refunded", "email.send_order_refunded"),
        ("email.send_low_stock_alert", "email.send_low_stock_alert"),
        ("email.send_refund_failed_alert", "email.send_refund_failed_alert"),
        ("inventory.adjust", "inventory.adjust"),
        ("reports.daily_sales", "reports"),
        ("maintenance.cancel_unpaid_orders", "default"),
        ("maintenance.purge_stale_carts", "default"),
        ("maintenance.payment_cancel", "default"),
        ("maintenance.payment_refund", "default"),
    ],
)
def test_every_task_is_registered_and_routed_by_its_name(task, queue):
    assert task in app.tasks
    assert queue_for(task) == queue


def test_the_default_schedules_name_registered_tasks(settings):
    ours = {
        name: entry
        for name, entry in settings.DEFAULT_BEAT_SCHEDULES.items()
        if entry["task"].split(".")[-1]
        in {"cancel_unpaid_orders", "send_low_stock_alert", "daily_sales", "purge_stale_carts"}
    }
    assert len(ours) == 4
    assert all(entry["task"] in app.tasks for entry in ours.values())
    assert ours["cancel unpaid orders"]["every_seconds"] == 60


def test_checkout_has_its_own_rate_limit_group(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "checkout": {"ip": "2/min", "user": "2/min"}}
    answers = [
        client.post("/api/checkout", {}, content_type="application/json").status_code
        for _ in range(3)
    ]
    assert answers[:2] != [429, 429] and answers[2] == 429
