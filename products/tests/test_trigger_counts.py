"""Counts kept by triggers, whatever writes the rows (docs/architecture.md §8): ProductStock,
each product's active variants in stock (migration 0004), CategoryCount and BrandCount, each
category's own and each brand's active products (migrations 0005 and 0006)."""

import random

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet

from products import services
from products.errors import InsufficientStock
from products.models import (
    Brand,
    BrandCount,
    Category,
    CategoryCount,
    Product,
    ProductStock,
    StockReason,
    Variant,
)
from products.services.products import variants_bulk_create
from testing.concurrency import concurrently
from testing.factories import BrandFactory, CategoryFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def counted(product) -> int:
    row = ProductStock.objects.filter(product_id=product.pk).first()
    return row.in_stock_variants if row else 0


def tally(keys: QuerySet, counted_keys: QuerySet) -> dict[int, int]:
    """How many times each of `keys` appears in `counted_keys` (0 for none)."""
    counts = dict.fromkeys(keys.values_list("pk", flat=True), 0)
    for key in counted_keys:
        counts[key] += 1
    return counts


def counters(keys: QuerySet, model, column: str) -> dict[int, int]:
    """What the triggers keep in `model.column` for each of `keys` (0 without a row)."""
    counts = dict.fromkeys(keys.values_list("pk", flat=True), 0)
    counts.update(model.objects.values_list(model._meta.pk.attname, column))
    return counts


def truth() -> dict[int, int]:
    """Every product's count, from the variants themselves."""
    in_stock = Variant.objects.filter(is_active=True, stock_quantity__gt=0)
    return tally(Product.objects.all(), in_stock.values_list("product_id", flat=True))


def kept() -> dict[int, int]:
    return counters(Product.objects.all(), ProductStock, "in_stock_variants")


def row_version(model, pk) -> int:
    """A counter row's xmin: it moves only when the row is written."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT xmin::text FROM {model._meta.db_table} WHERE {model._meta.pk.column} = %s",  # noqa: S608
            [pk],
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
    before = row_version(ProductStock, product.pk), row_version(CategoryCount, product.category_id)
    with transaction.atomic():
        services.stock_decrement(quantities={variant.pk: 3})
    Variant.objects.filter(pk=variant.pk).update(price="12.00", name="Blue")
    Product.objects.filter(pk=product.pk).update(name="Renamed", is_featured=True)
    after = row_version(ProductStock, product.pk), row_version(CategoryCount, product.category_id)
    assert after == before
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

    def sell(variant):
        def call():
            with transaction.atomic():
                services.stock_decrement(quantities={variant.pk: 1})

        return call

    concurrently([sell(variant) for variant in variants])  # raises what any of them raised
    assert counted(product) == 0
    assert kept() == truth()


def in_category() -> dict[int, int]:
    active = Product.objects.filter(is_active=True).values_list("category_id", flat=True)
    return tally(Category.objects.all(), active)


def category_counts() -> dict[int, int]:
    return counters(Category.objects.all(), CategoryCount, "active_products")


def by_brand() -> dict[int, int]:
    active = Product.objects.filter(is_active=True, brand__isnull=False)
    return tally(Brand.objects.all(), active.values_list("brand_id", flat=True))


def brand_counts() -> dict[int, int]:
    return counters(Brand.objects.all(), BrandCount, "active_products")


def test_every_way_a_product_enters_or_leaves_a_category_is_counted():
    shoes, shirts = CategoryFactory(), CategoryFactory()
    products = [ProductFactory(category=shoes) for _ in range(3)]
    ProductFactory(category=shoes, is_active=False)
    assert category_counts()[shoes.pk] == 3

    Product.objects.filter(pk=products[0].pk).update(is_active=False)
    Product.objects.filter(pk=products[1].pk).update(category=shirts)
    assert (category_counts()[shoes.pk], category_counts()[shirts.pk]) == (1, 1)
    Product.objects.filter(category=shoes).update(is_active=True)
    assert category_counts()[shoes.pk] == 3

    Product.objects.bulk_create(
        [
            Product(name=f"Bulk {n}", slug=f"bulk-{n}", category=shirts, base_price=1)
            for n in range(5)
        ]
    )
    assert category_counts()[shirts.pk] == 6
    Product.objects.get(pk=products[2].pk).delete()
    assert category_counts() == in_category()
    assert brand_counts() == by_brand()


def test_random_product_writes_keep_every_category_and_brand_count():
    rng = random.Random(5)
    categories = [CategoryFactory() for _ in range(4)]
    brands = list(Brand.objects.all()) or [BrandFactory()]
    for _ in range(12):
        ProductFactory(category=rng.choice(categories), is_active=rng.random() < 0.8)
    for _ in range(50):
        product = Product.objects.order_by("?").first()
        action = rng.choice(["toggle", "move", "rebrand", "delete", "create", "bulk"])
        if action == "toggle":
            Product.objects.filter(pk=product.pk).update(is_active=not product.is_active)
        elif action == "move":
            Product.objects.filter(pk=product.pk).update(category=rng.choice(categories))
        elif action == "rebrand":  # another brand, or none
            Product.objects.filter(pk=product.pk).update(brand=rng.choice([*brands, None]))
        elif action == "delete" and Product.objects.count() > 3:
            product.delete()
        elif action == "create":
            ProductFactory(category=rng.choice(categories))
        else:
            Product.objects.filter(category=rng.choice(categories)).update(
                is_active=rng.random() < 0.5
            )
    assert category_counts() == in_category()
    assert brand_counts() == by_brand()
