"""Orders after checkout: who sees them, the status machine, stock returns, emails, expiry."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cart.models import Coupon, CouponRedemption
from core.models import SentEmail
from orders import tasks
from orders.models import Order, OrderEvent, OrderStatus
from orders.services import (
    order_deliver,
    order_mark_paid,
    order_refund,
    order_refund_failed,
    order_ship,
    orders_cancel_unpaid,
)
from orders.tests.fixtures import place
from payments.models import Payment, PaymentStatus
from products.models import StockMovement, Variant
from products.services import review_is_verified_purchase
from testing.factories import (
    CouponFactory,
    UserFactory,
    bearer,
    make_variant,
    refunds_confirm_due,
    staff_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return staff_user("orders.view_order", "orders.change_order", email="ops@example.com")


# -- who may see an order -------------------------------------------------------------------------


def test_a_customer_sees_their_orders_and_nobody_elses(client):
    ada, grace = UserFactory(), UserFactory()
    mine = place(client, ada, key="a")
    theirs = place(client, grace, key="g")
    listed = client.get("/api/orders", **bearer(ada)).json()
    assert [o["number"] for o in listed["results"]] == [mine.number]
    assert listed["results"][0]["item_count"] == 2
    assert client.get(f"/api/orders/{mine.number}", **bearer(ada)).status_code == 200
    other = client.get(f"/api/orders/{theirs.number}", **bearer(ada))
    assert other.status_code == 404 and other.json()["code"] == "order_not_found"
    cancel = client.post(
        f"/api/orders/{theirs.number}/cancel", {}, content_type="application/json", **bearer(ada)
    )
    assert cancel.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == OrderStatus.PENDING_PAYMENT


def test_a_guest_opens_the_order_with_its_number_and_token_only(client):
    order = place(client)
    url = f"/api/orders/{order.number}"
    assert client.get(url).status_code == 404  # the number alone
    assert (
        client.get(url, HTTP_X_ORDER_TOKEN="00000000-0000-0000-0000-000000000000").status_code
        == 404
    )
    response = client.get(url, HTTP_X_ORDER_TOKEN=str(order.token))
    assert response.status_code == 200
    assert response.json()["number"] == order.number
    # another order's token does not open this one
    other = place(client, key="other")
    assert client.get(url, HTTP_X_ORDER_TOKEN=str(other.token)).status_code == 404
    # a signed-in stranger with no token: 404
    assert client.get(url, **bearer(UserFactory())).status_code == 404
    # the list is for accounts
    assert client.get("/api/orders").status_code == 401


def test_the_order_list_filters_by_status_and_pages(client):
    user = UserFactory()
    orders = [place(client, user, key=f"k{n}") for n in range(3)]
    order_mark_paid(order_id=orders[0].pk)
    paid = client.get("/api/orders?status=paid", **bearer(user)).json()
    assert [o["number"] for o in paid["results"]] == [orders[0].number]
    page = client.get("/api/orders?page_size=2&page=2", **bearer(user)).json()
    assert page["count"] == 3 and len(page["results"]) == 1
    assert client.get("/api/orders?status=lost", **bearer(user)).status_code == 422


@pytest.mark.parametrize("page_size", [1, 20, 100])
def test_order_lists_run_a_bounded_number_of_queries(client, staff, page_size):
    user = UserFactory()
    for n in range(12):
        place(
            client,
            user,
            key=f"k{n}",
            lines=[(make_variant(stock=5), 1), (make_variant(stock=5), 2)],
        )
    for url, headers, bound in (
        (f"/api/orders?page_size={page_size}", bearer(user), 3),  # user, count, page
        (f"/api/staff/orders?page_size={page_size}", bearer(staff), 5),  # + permissions
    ):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, **headers)
        assert response.status_code == 200
        assert len(response.json()["results"]) == min(page_size, 12)
        assert len(queries) <= bound, [q["sql"][:90] for q in queries]


def test_an_order_page_runs_a_bounded_number_of_queries(client):
    user = UserFactory()
    order = place(client, user, lines=[(make_variant(stock=5), 1) for _ in range(8)])
    headers = bearer(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/orders/{order.number}", **headers)
    assert response.status_code == 200 and len(response.json()["lines"]) == 8
    # 7: + the order's discounts (one query for every line's and the order's own)
    assert len(queries) <= 7, [q["sql"][:90] for q in queries]


# -- cancel: stock back exactly once --------------------------------------------------------------


def test_cancelling_returns_the_stock_once_and_releases_the_coupon(client, run_tasks):
    variant = make_variant(price="25.00", stock=10, sku="BACK-1")
    coupon = CouponFactory(code="TEN", usage_limit=5)
    user = UserFactory()
    order = place(client, user, lines=[(variant, 3)], coupon=coupon)
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 7
    assert Coupon.objects.get(pk=coupon.pk).times_used == 1
    mail.outbox.clear()

    with run_tasks():
        response = client.post(
            f"/api/orders/{order.number}/cancel",
            {"reason": "Changed my mind"},
            content_type="application/json",
            **bearer(user),
        )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled" and response.json()["can_cancel"] is False
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 10
    back = StockMovement.objects.get(reason="cancellation")
    assert (back.sku, back.quantity_delta, back.quantity_after, back.reference) == (
        "BACK-1",
        3,
        10,
        order.number,
    )
    assert Coupon.objects.get(pk=coupon.pk).times_used == 0
    assert CouponRedemption.objects.get().released_at is not None
    event = OrderEvent.objects.get(order=order, kind="status")
    assert (event.from_status, event.to_status, event.actor, event.note) == (
        "pending_payment",
        "cancelled",
        user,
        "Changed my mind",
    )
    assert order.payments.get().status == PaymentStatus.CANCELLED
    assert [m.subject for m in mail.outbox] == [f"Order {order.number} was cancelled"]

    again = client.post(
        f"/api/orders/{order.number}/cancel", {}, content_type="application/json", **bearer(user)
    )
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 10
    assert StockMovement.objects.filter(reason="cancellation").count() == 1


def test_a_guest_cancels_with_the_token(client):
    order = place(client)
    denied = client.post(f"/api/orders/{order.number}/cancel", {}, content_type="application/json")
    assert denied.status_code == 404
    response = client.post(
        f"/api/orders/{order.number}/cancel",
        {},
        content_type="application/json",
        HTTP_X_ORDER_TOKEN=str(order.token),
    )
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_a_shipped_order_cannot_be_cancelled_by_its_customer(client):
    user = UserFactory()
    order = place(client, user)
    order_mark_paid(order_id=order.pk)
    order_ship(order_id=order.pk, tracking_number="TRK1")
    response = client.post(
        f"/api/orders/{order.number}/cancel", {}, content_type="application/json", **bearer(user)
    )
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


# -- staff ----------------------------------------------------------------------------------------


def staff_post(client, staff, order, action, body=None, key=None):
    """A staff action on the order, with a fresh Idempotency-Key unless `key` is given."""
    return client.post(
        f"/api/staff/orders/{order.number}/{action}",
        body or {},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=key or uuid.uuid4().hex,
        **bearer(staff),
    )


def test_staff_walk_an_order_through_its_life_with_one_email_per_step(client, staff, run_tasks):
    order = place(client)
    mail.outbox.clear()
    with run_tasks():
        paid = staff_post(client, staff, order, "mark-paid", {"note": "Transfer 4411 arrived"})
    assert paid.status_code == 200, paid.json()
    assert paid.json()["status"] == "paid" and paid.json()["paid_at"]
    assert paid.json()["payments"][0]["status"] == "succeeded"
    with run_tasks():
        no_tracking = staff_post(client, staff, order, "ship", {})
        assert no_tracking.status_code == 422
        shipped = staff_post(
            client, staff, order, "ship", {"tracking_number": "1Z999AA1", "carrier": "UPS"}
        )
    assert shipped.json()["status"] == "shipped"
    assert (shipped.json()["tracking_number"], shipped.json()["carrier"]) == ("1Z999AA1", "UPS")
    with run_tasks():
        delivered = staff_post(client, staff, order, "deliver")
    assert delivered.json()["status"] == "delivered"
    events = delivered.json()["events"]
    assert [(e["from_status"], e["to_status"], e["actor_email"]) for e in events] == [
        (None, "pending_payment", None),
        ("pending_payment", "paid", "ops@example.com"),
        ("paid", "shipped", "ops@example.com"),
        ("shipped", "delivered", "ops@example.com"),
    ]
    assert events[1]["note"].startswith("Payment")
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        f"Payment received for order {order.number}",
        f"Order {order.number} has shipped",
        f"Order {order.number} has been delivered",
    ]
    assert "1Z999AA1" in mail.outbox[1].body and "1Z999AA1" in mail.outbox[1].alternatives[0][0]
    # each email task run again sends nothing more
    for task in (
        tasks.payment_received_send_task,
        tasks.order_shipped_send_task,
        tasks.order_delivered_send_task,
    ):
        assert task(order.pk) is False
    assert SentEmail.objects.filter(event_key__endswith=f":{order.pk}").count() == 3
    assert len(mail.outbox) == 3


@pytest.mark.parametrize(
    "steps,action,body",
    [
        ([], "deliver", {}),
        ([], "ship", {"tracking_number": "T"}),
        ([], "refund", {}),
        (["paid"], "mark-paid", {}),
        (["paid", "shipped"], "cancel", {}),
        (["paid", "shipped", "delivered"], "ship", {"tracking_number": "T"}),
        (["cancelled"], "mark-paid", {}),
        (["cancelled"], "deliver", {}),
        (["paid", "part-refunded"], "deliver", {}),
        (["paid", "part-refunded"], "cancel", {}),
        (["paid", "shipped", "part-refunded"], "ship", {"tracking_number": "T"}),
        (["paid", "shipped", "delivered", "part-refunded"], "deliver", {}),
    ],
)
def test_transitions_outside_the_machine_are_409(client, staff, steps, action, body):
    order = place(client)
    for step in steps:
        {
            "paid": lambda: order_mark_paid(order_id=order.pk),
            "shipped": lambda: order_ship(order_id=order.pk, tracking_number="T1"),
            "delivered": lambda: order_deliver(order_id=order.pk),
            "cancelled": lambda: staff_post(client, staff, order, "cancel"),
            "part-refunded": lambda: order_refund(order_id=order.pk, amount=Decimal("5.00")),
        }[step]()
    before = Order.objects.get(pk=order.pk).status
    response = staff_post(client, staff, order, action, body)
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "invalid_transition"
    assert Order.objects.get(pk=order.pk).status == before


def test_cancelling_a_paid_order_refunds_it_and_returns_the_stock(client, staff, run_tasks):
    variant = make_variant(price="25.00", stock=10)
    order = place(client, lines=[(variant, 2)])
    staff_post(client, staff, order, "mark-paid")
    with run_tasks():
        response = staff_post(client, staff, order, "cancel", {"note": "Out of the country"})
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["refunded_total"] == body["grand_total"] == "50.00"
    payment = order.payments.get()  # the refund task ran after the commit
    # A bank transfer is given back by staff: due until they confirm it.
    assert (payment.status, payment.refunded_amount) == ("succeeded", Decimal("0.00"))
    assert refunds_confirm_due(staff) == 1
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("50.00"))
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 10


def test_refunds_partial_then_the_rest(client, staff, run_tasks):
    order = place(client)  # 50.00
    staff_post(client, staff, order, "mark-paid")
    with run_tasks():
        partial = staff_post(client, staff, order, "refund", {"amount": "20.00", "note": "Scratch"})
    assert partial.json()["status"] == "partially_refunded"
    assert partial.json()["refunded_total"] == "20.00"
    assert refunds_confirm_due(staff) == 1  # a bank transfer is given back by staff
    payment = order.payments.get()
    assert (payment.status, payment.refunded_amount) == ("partially_refunded", Decimal("20.00"))
    too_much = staff_post(client, staff, order, "refund", {"amount": "40.00"})
    assert too_much.status_code == 409 and too_much.json()["code"] == "refund_exceeds_total"
    with run_tasks():
        rest = staff_post(client, staff, order, "refund")
    assert (rest.json()["status"], rest.json()["refunded_total"]) == ("refunded", "50.00")
    assert refunds_confirm_due(staff) == 1
    payment.refresh_from_db()
    assert (payment.status, payment.refunded_amount) == ("refunded", Decimal("50.00"))
    assert staff_post(client, staff, order, "refund").status_code == 422  # nothing left


def test_a_partially_refunded_order_still_ships_and_is_delivered(client, staff, run_tasks):
    """A line refunded before the rest ships: the order goes on, then the rest can be refunded."""
    order = place(client)  # 50.00
    staff_post(client, staff, order, "mark-paid")
    with run_tasks():
        partial = staff_post(client, staff, order, "refund", {"amount": "15.00"})
        shipped = staff_post(client, staff, order, "ship", {"tracking_number": "1Z1"})
        delivered = staff_post(client, staff, order, "deliver")
        again = staff_post(client, staff, order, "refund", {"amount": "5.00"})
        rest = staff_post(client, staff, order, "refund")
    statuses = [r.json()["status"] for r in (partial, shipped, delivered, again, rest)]
    assert statuses == [
        "partially_refunded",
        "shipped",
        "delivered",
        "partially_refunded",
        "refunded",
    ]
    assert rest.json()["refunded_total"] == "50.00"
    assert refunds_confirm_due(staff) == 3  # a bank transfer is given back by staff
    assert order.payments.get().refunded_amount == Decimal("50.00")
    refund_mails = [m for m in mail.outbox if "refunded" in m.subject]
    assert [m.subject for m in refund_mails] == [
        f"Part of order {order.number} was refunded",
        f"Part of order {order.number} was refunded",
        f"Order {order.number} was refunded",
    ]
    assert "15.00 USD" in refund_mails[0].body and "30.00 USD" in refund_mails[2].body
    # a refund email task run again sends nothing more
    event = order.events.filter(data__refund="30.00").get()
    assert tasks.order_refunded_send_task(order.pk, event.pk) is False


def test_staff_routes_need_the_permissions(client):
    order = place(client)
    customer = UserFactory()
    viewer = staff_user("orders.view_order", email="viewer@example.com")
    assert client.get("/api/staff/orders").status_code == 401
    assert client.get("/api/staff/orders", **bearer(customer)).status_code == 403
    assert client.get(f"/api/staff/orders/{order.number}", **bearer(viewer)).status_code == 200
    assert staff_post(client, viewer, order, "mark-paid").status_code == 403
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PENDING_PAYMENT


def test_staff_list_filters(client, staff):
    ada = UserFactory(email="ada@example.com")
    first = place(client, ada, key="1")
    place(client, key="2")
    order_mark_paid(order_id=first.pk)
    today = timezone.localdate().isoformat()

    def numbers(query):
        return [
            o["number"]
            for o in client.get(f"/api/staff/orders?{query}", **bearer(staff)).json()["results"]
        ]

    assert numbers("status=paid") == [first.number]
    assert numbers("q=ada@") == [first.number]
    assert numbers(f"q={first.number}") == [first.number]
    assert numbers("email=ADA@example.com") == [first.number]
    assert len(numbers(f"placed_from={today}&placed_to={today}")) == 2
    assert numbers("placed_to=2000-01-01") == []


# -- payments flagged for staff -------------------------------------------------------------------

REVIEW_REASON = "refund 12.00 failed at stripe: expired_or_canceled_card"


def flag(order: Order, reason: str = REVIEW_REASON) -> None:
    Payment.objects.filter(order=order).update(needs_review=True, review_reason=reason)


def test_staff_see_and_filter_the_orders_whose_payment_needs_review(client, staff):
    flagged = place(client, key="1")
    other = place(client, key="2")
    flag(flagged)

    def listed(query):
        response = client.get(f"/api/staff/orders?{query}", **bearer(staff))
        assert response.status_code == 200, response.json()
        return [
            (o["number"], o["needs_review"], o["review_reason"]) for o in response.json()["results"]
        ]

    assert listed("needs_review=true") == [(flagged.number, True, REVIEW_REASON)]
    assert listed("needs_review=false") == [(other.number, False, "")]
    assert len(listed("")) == 2
    assert listed("needs_review=true&status=paid") == []
    bad = client.get("/api/staff/orders?needs_review=maybe", **bearer(staff))
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"

    detail = client.get(f"/api/staff/orders/{flagged.number}", **bearer(staff)).json()
    assert (detail["needs_review"], detail["review_reason"]) == (True, REVIEW_REASON)
    assert [(p["needs_review"], p["review_reason"]) for p in detail["payments"]] == [
        (True, REVIEW_REASON)
    ]
    clean = client.get(f"/api/staff/orders/{other.number}", **bearer(staff)).json()
    assert (clean["needs_review"], clean["review_reason"]) == (False, "")


def test_staff_resolve_a_review_and_the_order_log_keeps_the_reasons(client, staff):
    customer = UserFactory()
    flagged = place(client, customer, key="1")
    flag(flagged)
    url = f"/api/staff/orders/{flagged.number}/review-resolved"

    def post(body, **headers):
        key = uuid.uuid4().hex
        return client.post(
            url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key, **headers
        )

    assert post({"note": "x"}).status_code == 401
    assert post({"note": "x"}, **bearer(customer)).status_code == 403
    assert post({"note": ""}, **bearer(staff)).status_code == 422

    done = post({"note": "settled with the customer by phone"}, **bearer(staff))
    assert done.status_code == 200, done.json()
    assert (done.json()["needs_review"], done.json()["review_reason"]) == (False, "")
    payment = Payment.objects.get(order=flagged)
    assert (payment.needs_review, payment.review_reason) == (False, "")
    event = OrderEvent.objects.filter(order=flagged, kind="payment").latest("pk")
    assert event.note == "Review resolved: settled with the customer by phone"
    assert event.data["reasons"] == [REVIEW_REASON] and event.actor == staff
    listed = client.get("/api/staff/orders?needs_review=true", **bearer(staff)).json()
    assert listed["results"] == []

    again = post({"note": "again"}, **bearer(staff))
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_review"
    # The customer's own view of the order shows none of it.
    mine = client.get(f"/api/orders/{flagged.number}", **bearer(customer)).content.decode()
    assert "review" not in mine.lower()
    assert "by phone" not in mine


@pytest.mark.parametrize("page_size", [1, 20, 100])
def test_the_needs_review_filter_runs_a_bounded_number_of_queries(client, staff, page_size):
    for n in range(12):
        order = place(
            client, key=f"k{n}", lines=[(make_variant(stock=5), 1), (make_variant(stock=5), 2)]
        )
        if n % 2:
            flag(order, f"reason {n}")
    url, headers = f"/api/staff/orders?needs_review=true&page_size={page_size}", bearer(staff)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == min(page_size, 6) and response.json()["count"] == 6
    assert all(o["needs_review"] and o["review_reason"].startswith("reason ") for o in results)
    assert len(queries) <= 5, [q["sql"][:90] for q in queries]  # as the unfiltered list


def test_customers_never_see_review_flags_or_failed_refund_notes(client):
    user = UserFactory()
    order = place(client, user)
    order_mark_paid(order_id=order.pk)
    flag(order)
    order_refund_failed(
        order_id=order.pk,
        amount=Decimal("12.00"),
        reason="expired_or_canceled_card",
        note="Refund 12.00 failed at stripe: expired_or_canceled_card.",
    )
    guest = place(client, key="guest")
    flag(guest)
    for url, headers in (
        (f"/api/orders/{order.number}", bearer(user)),
        ("/api/orders", bearer(user)),
        (f"/api/orders/{order.number}/payment", bearer(user)),
        (f"/api/orders/{guest.number}", {"HTTP_X_ORDER_TOKEN": str(guest.token)}),
        (f"/api/orders/{guest.number}/payment", {"HTTP_X_ORDER_TOKEN": str(guest.token)}),
    ):
        response = client.get(url, **headers)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "review" not in body and "expired_or_canceled_card" not in body, url
    history = client.get(f"/api/orders/{order.number}", **bearer(user)).json()["history"]
    assert [h["status"] for h in history] == ["pending_payment", "paid"]


# -- expiry ---------------------------------------------------------------------------------------


def test_unpaid_orders_expire_once_and_paid_ones_stay(client, settings, run_tasks):
    settings.PAYMENT_HOLD_MINUTES = {**settings.PAYMENT_HOLD_MINUTES, "manual": 30}
    variant = make_variant(stock=10)
    late = place(client, lines=[(variant, 4)], key="late")
    paid = place(client, lines=[(variant, 1)], key="paid")
    fresh = place(client, lines=[(variant, 1)], key="fresh")
    order_mark_paid(order_id=paid.pk)
    Order.objects.filter(pk__in=[late.pk, paid.pk]).update(
        placed_at=timezone.now() - timedelta(minutes=31)
    )
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 4
    mail.outbox.clear()

    with run_tasks():
        assert tasks.orders_cancel_unpaid_task() == 1
        assert tasks.orders_cancel_unpaid_task() == 0
    assert Order.objects.get(pk=late.pk).status == OrderStatus.CANCELLED
    assert Order.objects.get(pk=paid.pk).status == OrderStatus.PAID
    assert Order.objects.get(pk=fresh.pk).status == OrderStatus.PENDING_PAYMENT
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 8
    assert StockMovement.objects.filter(reason="cancellation").count() == 1
    assert late.events.get(kind="status").actor_type == "system"
    assert [m.subject for m in mail.outbox] == [f"Order {late.number} was cancelled"]


def test_the_expiry_rechecks_each_order_under_its_lock(client):
    order = place(client)
    Order.objects.filter(pk=order.pk).update(placed_at=timezone.now() - timedelta(hours=2))
    # paid between the scan and the lock: the scan's candidate is skipped, not cancelled
    order_mark_paid(order_id=order.pk)
    assert orders_cancel_unpaid() == []
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID


# -- reviews: verified purchase -------------------------------------------------------------------


def test_a_review_is_a_verified_purchase_once_the_order_was_delivered(client):
    user = UserFactory()
    variant = make_variant(stock=5)
    order = place(client, user, lines=[(variant, 1)])
    assert review_is_verified_purchase(user, variant.product) is False
    order_mark_paid(order_id=order.pk)
    order_ship(order_id=order.pk, tracking_number="T")
    order_deliver(order_id=order.pk)
    assert review_is_verified_purchase(user, variant.product) is True
    assert review_is_verified_purchase(UserFactory(), variant.product) is False


def test_order_emails_are_sent_once_even_when_the_task_runs_twice(client, run_tasks):
    with run_tasks():
        order = place(client)
    assert len(mail.outbox) == 1
    assert tasks.order_confirmation_send_task(order.pk) is False
    assert len(mail.outbox) == 1
    html = mail.outbox[0].alternatives[0][0]
    assert order.number in html and str(order.token) in html  # the guest's link
    assert Decimal(order.grand_total) == Decimal("50.00")
