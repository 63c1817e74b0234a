"""Where events come from: each family is recorded in one place, in the transaction of its change
(orders/webhooks.py, products/services/events.py, products/services/stock.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from orders.services import order_cancel, order_mark_paid, order_refund
from products.models import StockReason
from products.services import (
    product_create,
    product_delete,
    product_update,
    products_changes_batched,
    stock_adjust,
    variant_update,
)
from testing.factories import CategoryFactory, UserFactory, make_variant
from webhooks.models import Endpoint, Event, EventType

pytestmark = pytest.mark.django_db


def subscribe(*types: str):
    """An endpoint wanting these types (nothing is sent: these tests read the recorded events)."""
    return Endpoint.objects.create(
        url="https://hooks.example.com/in", events=list(types), secret="whsec_0123456789abcdef"
    )


def recorded() -> list[tuple[str, str]]:
    return list(Event.objects.order_by("id").values_list("type", "subject"))


def test_order_events_from_checkout_payment_refund_and_cancel(client, place):
    subscribe(*[t for t in EventType.values if t.startswith("order.")])
    paid = place(client, UserFactory(), key="a")
    order_mark_paid(order_id=paid.pk)
    line = paid.lines.get()
    order_refund(order_id=paid.pk, lines={line.pk: 1})
    order_refund(order_id=paid.pk, amount=Decimal("1.00"))  # a further partial refund
    cancelled = place(client, UserFactory(), key="b")
    order_cancel(order_id=cancelled.pk)

    assert recorded() == [
        ("order.created", paid.number),
        ("order.paid", paid.number),
        ("order.refunded", paid.number),
        ("order.refunded", paid.number),
        ("order.created", cancelled.number),
        ("order.cancelled", cancelled.number),
    ]
    refunds = Event.objects.filter(type="order.refunded").order_by("id")
    assert [e.payload["refund_amount"] for e in refunds][1] == "1.00"
    assert refunds[0].payload["status"] == "partially_refunded"
    assert refunds[0].payload["lines"][0]["quantity_refunded"] == 1


def test_product_created_updated_and_deleted():
    subscribe(EventType.PRODUCT_CREATED, EventType.PRODUCT_UPDATED, EventType.PRODUCT_DELETED)
    category = CategoryFactory()
    product = product_create(
        name="Lamp", category_id=category.pk, base_price=Decimal("30.00"), sku="LAMP-1"
    )
    product_update(product_id=product.pk, name="Desk lamp")
    variant_update(variant_id=product.variants.get().pk, price=Decimal("25.00"))
    product_delete(product_id=product.pk)
    subject = str(product.pk)
    assert recorded() == [
        ("product.created", subject),
        ("product.updated", subject),
        ("product.updated", subject),
        ("product.deleted", subject),
    ]
    created, renamed, repriced, deleted = Event.objects.order_by("id")
    assert created.payload["name"] == "Lamp" and created.payload["variants"][0]["sku"] == "LAMP-1"
    assert renamed.payload["name"] == "Desk lamp"
    assert repriced.payload["variants"][0]["price"] == "25.00"
    assert deleted.payload == {"id": product.pk}


def test_a_batch_announces_each_product_once_with_the_event_that_says_most():
    subscribe(EventType.PRODUCT_CREATED, EventType.PRODUCT_UPDATED)
    category = CategoryFactory()
    existing = make_variant().product
    with transaction.atomic(), products_changes_batched():
        new = product_create(name="Mug", category_id=category.pk, base_price=Decimal("9.00"))
        product_update(product_id=new.pk, name="Big mug")
        product_update(product_id=existing.pk, name="Renamed")
        product_update(product_id=existing.pk, is_featured=True)
    assert sorted(recorded()) == [
        ("product.created", str(new.pk)),
        ("product.updated", str(existing.pk)),
    ]
    assert Event.objects.get(type="product.created").payload["name"] == "Big mug"


def test_stock_low_and_out_are_sent_once_per_crossing(client, place):
    subscribe(EventType.STOCK_LOW, EventType.STOCK_OUT)
    variant = make_variant(stock=8)  # threshold 5
    place(client, lines=[(variant, 2)], key="a")  # 8 -> 6: nothing
    place(client, lines=[(variant, 2)], key="b")  # 6 -> 4: low
    place(client, lines=[(variant, 1)], key="c")  # 4 -> 3: still low, nothing
    stock_adjust(variant_id=variant.pk, quantity=0, reason=StockReason.ADJUSTMENT)  # out
    stock_adjust(variant_id=variant.pk, delta=10, reason=StockReason.ADJUSTMENT)  # back
    stock_adjust(variant_id=variant.pk, quantity=0, reason=StockReason.ADJUSTMENT)  # both
    assert recorded() == [
        ("stock.low", variant.sku),
        ("stock.out", variant.sku),
        ("stock.low", variant.sku),
        ("stock.out", variant.sku),
    ]
    low = Event.objects.filter(type="stock.low").order_by("id").first().payload
    assert low == {
        "variant_id": variant.pk,
        "product_id": variant.product_id,
        "sku": variant.sku,
        "stock_quantity": 4,
        "previous_quantity": 6,
        "low_stock_threshold": 5,
    }


def test_no_endpoint_no_event(client, place):
    place(client)
    assert Event.objects.count() == 0
