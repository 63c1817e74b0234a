"""Database constraints, attribute checks, the category tree, stock under concurrency."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from api.cache import versions_get
from api.errors import InvalidInput
from products import services
from products.attribute_values import coerce, filter_key
from products.errors import InsufficientStock
from products.models import (
    AttributeType,
    Category,
    Product,
    ProductAttributeValue,
    StockMovement,
    StockReason,
    Variant,
)
from products.services.events import LISTS_VERSION, product_version
from products.tests.fixtures import ReviewFactory
from testing.factories import (
    AttributeDefinitionFactory,
    CategoryFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def violates(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_database_constraints_hold_whatever_the_code_does():
    product = ProductFactory()
    variant = product.variants.get()
    violates(lambda: Variant.objects.filter(pk=variant.pk).update(stock_quantity=-1))
    violates(lambda: Variant.objects.filter(pk=variant.pk).update(price=Decimal("-0.01")))
    violates(lambda: VariantFactory(product=product, sku=variant.sku))
    violates(lambda: VariantFactory(product=product, is_default=True))
    violates(lambda: Product.objects.filter(pk=product.pk).update(base_price=Decimal("-1")))
    violates(lambda: ProductFactory(slug=product.slug))
    review = ReviewFactory(product=product)
    violates(lambda: ReviewFactory(product=product, user=review.user))
    violates(lambda: type(review).objects.filter(pk=review.pk).update(rating=6))
    violates(lambda: Variant.objects.filter(pk=variant.pk).update(sku="lower-case"))


def test_category_paths_follow_moves_of_a_subtree():
    root = CategoryFactory(slug="a")
    child = CategoryFactory(slug="b", parent=root)
    grandchild = CategoryFactory(slug="c", parent=child)
    other = CategoryFactory(slug="d")
    assert grandchild.path == f"/{root.pk}/{child.pk}/{grandchild.pk}/"
    assert grandchild.ancestor_ids == [root.pk, child.pk]
    child.parent = other
    child.save()
    grandchild.refresh_from_db()
    assert grandchild.path == f"/{other.pk}/{child.pk}/{grandchild.pk}/"
    assert grandchild.depth == 2
    child.parent = grandchild
    with pytest.raises(ValidationError):
        child.full_clean()


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        (AttributeType.NUMBER, "42.50", ("42.5", Decimal("42.5000"), None)),
        (AttributeType.NUMBER, 16, ("16", Decimal("16.0000"), None)),
        (AttributeType.BOOLEAN, "yes", ("true", None, True)),
        (AttributeType.BOOLEAN, False, ("false", None, False)),
        (AttributeType.TEXT, "  Merino wool ", ("Merino wool", None, None)),
        (AttributeType.CHOICE, "xl", ("XL", None, None)),
    ],
)
def test_values_are_coerced_to_their_type(kind, raw, expected):
    definition = AttributeDefinitionFactory.build(type=kind, choices=["S", "XL"])
    assert coerce(definition, raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        (AttributeType.NUMBER, "many"),
        (AttributeType.NUMBER, True),
        (AttributeType.NUMBER, "NaN"),
        (AttributeType.BOOLEAN, "maybe"),
        (AttributeType.CHOICE, "XXL"),
        (AttributeType.TEXT, ""),
        (AttributeType.TEXT, "a\x00b"),
        (AttributeType.TEXT, "x" * 256),
    ],
)
def test_values_that_do_not_fit_are_refused(kind, raw):
    definition = AttributeDefinitionFactory.build(type=kind, choices=["S", "XL"])
    with pytest.raises(ValidationError):
        coerce(definition, raw)


def test_filter_keys_spell_numbers_one_way():
    assert filter_key("42.0") == filter_key("42") == filter_key("4.2e1") == "42"
    assert filter_key(" Blue ") == "blue"


def test_attributes_are_inherited_down_the_tree_only():
    apparel = CategoryFactory(slug="apparel")
    shoes = CategoryFactory(slug="shoes", parent=apparel)
    toys = CategoryFactory(slug="toys")
    AttributeDefinitionFactory(code="fabric", category=apparel)
    AttributeDefinitionFactory(code="warranty", category=None, type=AttributeType.NUMBER)
    product = services.product_create(
        name="Boot",
        category_id=shoes.pk,
        base_price=Decimal("50"),
        attributes={"fabric": "Leather", "warranty": 2},
    )
    assert dict(product.attribute_values.values_list("definition__code", "value_text")) == {
        "fabric": "Leather",
        "warranty": "2",
    }
    with pytest.raises(InvalidInput):
        services.product_create(
            name="Ball",
            category_id=toys.pk,
            base_price=Decimal("5"),
            attributes={"fabric": "Rubber"},
        )


def test_a_product_always_keeps_one_default_variant():
    category = CategoryFactory()
    product = services.product_create(
        name="Mug", category_id=category.pk, base_price=Decimal("8.00")
    )
    (default,) = product.variants.all()
    assert default.is_default and default.sku == f"MUG-{product.pk}"
    second = services.variant_create(product_id=product.pk, sku="MUG-BLUE", price=Decimal("9.00"))
    assert not second.is_default
    services.variant_delete(variant_id=default.pk)
    assert Variant.objects.get(pk=second.pk).is_default
    product.refresh_from_db()
    assert (product.price_min, product.price_max) == (Decimal("9.00"), Decimal("9.00"))


def test_changes_bump_the_versions_after_commit_only(django_capture_on_commit_callbacks):
    product = ProductFactory()
    before = versions_get([LISTS_VERSION, product_version(product.pk)])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.product_update(product_id=product.pk, name="Renamed")
    assert versions_get([LISTS_VERSION, product_version(product.pk)]) == before
    for callback in callbacks:
        callback()
    after = versions_get([LISTS_VERSION, product_version(product.pk)])
    assert after[0] != before[0] and after[1] != before[1]


def test_stock_movements_record_every_change():
    variant = ProductFactory().variants.get()  # 10 in stock
    services.stock_adjust_many(
        changes=[
            services.StockChange(variant.pk, delta=-3),
            services.StockChange(variant.pk, delta=-2),
        ],
        reason=StockReason.SALE,
        reference="EM-000001",
    )
    variant.refresh_from_db()
    assert variant.stock_quantity == 5
    ledger = list(
        StockMovement.objects.order_by("id").values_list(
            "quantity_delta", "quantity_after", "reason", "reference"
        )
    )
    assert ledger == [(-3, 7, "sale", "EM-000001"), (-2, 5, "sale", "EM-000001")]
    with pytest.raises(InsufficientStock):
        services.stock_adjust(variant_id=variant.pk, delta=-6, reason=StockReason.SALE)
    with pytest.raises(InvalidInput):
        services.stock_adjust(variant_id=variant.pk, delta=1, reason="theft")


@pytest.mark.django_db(transaction=True)
def test_concurrent_sales_never_oversell():
    variant = ProductFactory().variants.get()
    Variant.objects.filter(pk=variant.pk).update(stock_quantity=5)
    barrier = threading.Barrier(8)
    sold, refused, errors = [], [], []

    def buy():
        try:
            barrier.wait()
            services.stock_adjust(variant_id=variant.pk, delta=-1, reason=StockReason.SALE)
            sold.append(1)
        except InsufficientStock:
            refused.append(1)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (len(sold), len(refused)) == (5, 3)
    assert Variant.objects.get(pk=variant.pk).stock_quantity == 0
    assert StockMovement.objects.filter(variant=variant).count() == 5


def test_category_move_is_refused_when_it_would_orphan_values():
    category = CategoryFactory()
    other = CategoryFactory()
    definition = AttributeDefinitionFactory(code="fit", category=category)
    product = services.product_create(
        name="Coat", category_id=category.pk, base_price=Decimal("70"), attributes={"fit": "Slim"}
    )
    with pytest.raises(InvalidInput):
        services.product_update(product_id=product.pk, category_id=other.pk)
    services.product_update(product_id=product.pk, category_id=other.pk, attributes={})
    assert not ProductAttributeValue.objects.filter(definition=definition).exists()
    assert Category.objects.count() == 2


def test_absurd_numbers_stay_text_in_filters():
    assert filter_key("1e-1000000") == "1e-1000000"
    assert filter_key("1.5E+2") == "150"
