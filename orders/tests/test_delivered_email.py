"""The order delivered email: sent once when an order becomes delivered, with what was delivered."""

from __future__ import annotations

import pytest

from orders import services, tasks
from orders.models import OrderStatus
from payments.services import payment_record_manual
from testing.factories import make_variant

pytestmark = pytest.mark.django_db


def test_the_customer_is_emailed_once_when_the_order_is_delivered(
    client, place, run_tasks, mailoutbox
):
    order = place(client, lines=[(make_variant(stock=5), 2)])
    payment_record_manual(order=order, note="transfer arrived")
    services.order_ship(order_id=order.pk, tracking_number="TRK-42", carrier="DHL")
    before = len(mailoutbox)
    with run_tasks():
        services.order_deliver(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED

    (email,) = mailoutbox[before:]
    assert email.to == ["guest@example.com"]
    assert email.subject == f"Order {order.number} has been delivered"
    assert "2 x " in email.body and "TRK-42" in email.body
    html = email.alternatives[0][0]
    assert order.number in html and "delivered" in html

    # The task run again (a redelivered message) sends nothing.
    assert tasks.order_delivered_send_task(order.pk) is False
    assert len(mailoutbox) == before + 1
