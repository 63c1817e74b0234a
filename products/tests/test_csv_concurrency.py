"""A catalog import beside checkouts, on committed data with real threads: locks in primary-key
order (no deadlock with a checkout holding the same variants), one short transaction per batch."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from orders.models import Order
from products import services
from products.csv_io import import_csv
from products.models import Variant
from testing.factories import ADDRESS, guest_cart, make_variant

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start `call` in a thread of its own (its own database connection); its outcome."""
    outcome: dict[str, Any] = {}

    def run():
        try:
            outcome["value"] = call()
        except Exception as exc:  # the test reads it
            outcome["error"] = repr(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def someone_waits_for_a_lock(seconds: float = 10) -> bool:
    """Whether another session of the test database is waiting for a row lock."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # a fresh view each time
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def test_an_import_and_a_checkout_of_the_same_variants_do_not_deadlock(monkeypatch):
    """The file lists the higher variant first. The checkout (both variants in its cart) starts
    while the import is between its two products and waits for the import's locks; the import
    then goes on. Locking in file order, the import held the higher variant and waited for the
    lower one, which the checkout held while waiting for the higher: PostgreSQL broke the
    deadlock by failing one of them (the checkout's 500)."""
    low, high = make_variant(sku="LOW-1", stock=5), make_variant(sku="HIGH-1", stock=5)
    assert low.pk < high.pk
    _cart, token = guest_cart((low, 1), (high, 1))

    def checkout():
        response = Client().post(
            "/api/checkout",
            {"email": "race@example.com", "shipping_address": ADDRESS},
            content_type="application/json",
            HTTP_X_CART_TOKEN=token,
            HTTP_IDEMPOTENCY_KEY="import-race",
        )
        return response.status_code

    real = services.variant_update
    race: list = []

    def variant_update(**kwargs):
        variant = real(**kwargs)
        if not race:  # between the two products: a customer checks out
            race.append(in_thread(checkout))
            race.append(someone_waits_for_a_lock())
        return variant

    monkeypatch.setattr(services, "variant_update", variant_update)
    text = (
        "product_slug,sku,variant_name\n"
        f"{high.product.slug},HIGH-1,High\n"
        f"{low.product.slug},LOW-1,Low\n"
    )
    try:
        report = import_csv(io.StringIO(text), mode="valid")
        import_error = None
    except Exception as exc:  # a deadlock victim
        report, import_error = None, repr(exc)
    (thread, outcome), checkout_waited = race
    thread.join(timeout=60)

    assert checkout_waited  # the checkout did meet the import's locks
    assert import_error is None
    assert outcome == {"value": 201}
    assert report.errors == [] and report.variants_updated == 2
    assert set(Variant.objects.values_list("name", "stock_quantity")) == {("Low", 4), ("High", 4)}
    assert Order.objects.count() == 1


def test_an_import_commits_each_batch_before_the_next(settings, monkeypatch):
    """One short transaction per batch: while the second product is imported, another
    connection already sees the first one's change, and the first one's locks are gone."""
    settings.CATALOG_IMPORT_BATCH_PRODUCTS = 1
    first, second = make_variant(sku="BATCH-1"), make_variant(sku="BATCH-2")
    real = services.variant_update
    seen = []

    def variant_update(**kwargs):
        if kwargs["variant_id"] == second.pk:

            def look():
                with transaction.atomic():
                    locked = Variant.objects.select_for_update(nowait=True).filter(pk=first.pk)
                    return locked.get().name, len(locked)

            thread, outcome = in_thread(look)
            thread.join(timeout=30)
            seen.append(outcome)
        return real(**kwargs)

    monkeypatch.setattr(services, "variant_update", variant_update)
    text = (
        "product_slug,sku,variant_name\n"
        f"{first.product.slug},BATCH-1,One\n"
        f"{second.product.slug},BATCH-2,Two\n"
    )
    report = import_csv(io.StringIO(text), mode="valid")
    assert report.errors == [] and report.variants_updated == 2
    assert seen == [{"value": ("One", 1)}]
