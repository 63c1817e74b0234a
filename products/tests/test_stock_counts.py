"""ProductStock: the triggers on the variant table keep each product's count of active variants
in stock, whatever writes the variants (migration 0004, docs/architecture.md §8)."""

import random
import threading

import pytest
from django.db import connection, transaction

from products import services
from products.errors import InsufficientStock
from products.models import Product, ProductStock, StockReason, Variant
from products.services.products import variants_bulk_create
from testing.factories import CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def counted(product) -> int:
    row = ProductStock.objects.filter(product_id=product.pk).first()
    return row.in_stock_variants if row else 0


def truth() -> dict[int, int]:
    """Every product's count, from the variants themselves."""
    counts = dict.fromkeys(Product.objects.values_list("pk", flat=True), 0)
    for product_id in Variant.objects.filter(is_active=True, stock_quantity__gt=0).values_list(
        "product_id", flat=True
    ):
        counts[product_id] += 1
    return counts


def kept() -> dict[int, int]:
    counts = dict.fromkeys(Product.objects.values_list("pk", flat=True), 0)
    counts.update(ProductStock.objects.values_list("product_id", "in_stock_variants"))
    return counts


def row_version(product) -> int:
    """The counter row's xmin: it moves only when the row is written."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT xmin::text FROM {ProductStock._meta.db_table} WHERE product_id = %s",  # noqa: S608
            [product.pk],
        )
        return int(cursor.fetchone()[0])


def test_every_way_a_variant_moves_in_or_out_of_stock_is_counted():
    product = ProductFactory(default_variant__stock=3)  # its default variant, in stock
    assert counted(product) == 1
    second = VariantFactory(product=product, stock_quantity=2)
    VariantFactory(product=product, stock_quantity=0)
    VariantFactory(product=product, stock_quantity=5, is_active=False)
    assert counted(product) == 2

    with transaction.atomic():
        services.stock_decrement(quantities={second.pk: 2})
    assert counted(product) == 1
    services.stock_adjust(variant_id=second.pk, delta=4, reason=StockReason.ADJUSTMENT)
    assert counted(product) == 2

    Variant.objects.filter(pk=second.pk).update(is_active=False)
    assert counted(product) == 1
    Variant.objects.filter(product=product, is_active=False).update(is_active=True)
    assert counted(product) == 3  # the second and the one created inactive

    other = ProductFactory(default_variant=False)
    Variant.objects.filter(pk=second.pk).update(product=other)
    assert (counted(product), counted(other)) == (2, 1)

    Variant.objects.filter(pk=second.pk).delete()
    assert counted(other) == 0
    product.delete()
    assert not ProductStock.objects.filter(product_id=product.pk).exists()
    assert kept() == truth()


def test_a_write_that_moves_nothing_in_or_out_leaves_the_counter_row_alone():
    product = ProductFactory(default_variant__stock=10)
    variant = product.variants.get()
    before = row_version(product)
    with transaction.atomic():
        services.stock_decrement(quantities={variant.pk: 3})
    Variant.objects.filter(pk=variant.pk).update(price="12.00", name="Blue")
    assert row_version(product) == before
    assert counted(product) == 1


def test_bulk_writes_count_per_product():
    category = CategoryFactory()
    products = [ProductFactory(category=category, default_variant=False) for _ in range(3)]
    variants = [
        Variant(product=p, sku=f"BULK-{p.pk}-{n}", position=n) for p in products for n in range(4)
    ]
    variants_bulk_create(variants, opening_stock=[0, 1, 2, 3] * 3, reference="test")
    assert [counted(p) for p in products] == [3, 3, 3]
    Variant.objects.filter(product__in=products).update(stock_quantity=0)
    assert [counted(p) for p in products] == [0, 0, 0]
    assert kept() == truth()


def test_a_failed_statement_or_a_rollback_leaves_the_counts_as_they_were():
    product = ProductFactory(default_variant__stock=1)
    variant = product.variants.get()
    with pytest.raises(InsufficientStock), transaction.atomic():
        services.stock_decrement(quantities={variant.pk: 2})
    with transaction.atomic():
        services.stock_decrement(quantities={variant.pk: 1})
        assert counted(product) == 0  # seen inside the transaction at once
        transaction.set_rollback(True)
    assert counted(product) == 1


def test_random_writes_keep_every_count_equal_to_the_variants():
    rng = random.Random(17)
    products = [ProductFactory(default_variant__stock=rng.randint(0, 2)) for _ in range(6)]
    for product in products:
        for _ in range(rng.randint(0, 3)):
            VariantFactory(product=product, stock_quantity=rng.randint(0, 2))
    for _ in range(60):
        variant = Variant.objects.order_by("?").first()
        action = rng.choice(["sell", "restock", "toggle", "move", "delete", "bulk"])
        if action == "sell" and variant.stock_quantity:
            with transaction.atomic():
                services.stock_decrement(quantities={variant.pk: variant.stock_quantity})
        elif action == "restock":
            services.stock_adjust(variant_id=variant.pk, delta=1, reason=StockReason.ADJUSTMENT)
        elif action == "toggle" and not variant.is_default:
            Variant.objects.filter(pk=variant.pk).update(is_active=not variant.is_active)
        elif action == "move" and not variant.is_default:
            Variant.objects.filter(pk=variant.pk).update(product=rng.choice(products))
        elif action == "delete" and not variant.is_default:
            variant.delete()
        elif action == "bulk":
            Variant.objects.filter(product=rng.choice(products)).update(
                stock_quantity=rng.randint(0, 1)
            )
    assert kept() == truth()


@pytest.mark.django_db(transaction=True)
def test_concurrent_sales_of_a_products_last_units_count_it_out_of_stock():
    """Each checkout sees the other's variant still in stock; the counter row serialises them."""
    product = ProductFactory(default_variant__stock=1)
    others = [VariantFactory(product=product, stock_quantity=1) for _ in range(5)]
    variants = [product.variants.get(is_default=True), *others]
    barrier = threading.Barrier(len(variants))
    errors = []

    def sell(variant):
        try:
            barrier.wait()
            with transaction.atomic():
                services.stock_decrement(quantities={variant.pk: 1})
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sell, args=(v,)) for v in variants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert counted(product) == 0
    assert kept() == truth()
