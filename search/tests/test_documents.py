"""search.documents: what both backends index, read in a bounded number of statements."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from products.models import Variant
from search.documents import product_documents, searchable_product_count, searchable_product_ids
from testing.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_documents_carry_the_product_its_path_and_active_variants(catalog):
    (doc,) = product_documents([catalog.runner.pk])
    assert doc.name == "Road Runner"
    assert doc.brand_slug == "acme"
    assert doc.category_path_slugs == ("apparel", "shoes", "running")
    assert doc.category_path_names == ("Apparel", "Shoes", "Running")
    assert doc.attributes == {"material": "mesh"}
    assert [(v.sku, v.price, v.in_stock) for v in doc.variants] == [
        ("RR-BLUE-42", Decimal("89.00"), True),
        ("RR-RED-43", Decimal("99.00"), False),
    ]
    assert doc.variants[0].attributes == {"color": "blue", "size": "42"}


def test_unsearchable_ids_are_absent(catalog):
    hidden = ProductFactory(is_active=False)
    no_variant = ProductFactory(default_variant=False)
    VariantFactory(product=no_variant, is_active=False)
    catalog.laptops.is_active = False
    catalog.laptops.save()
    ids = [catalog.runner.pk, catalog.laptop.pk, hidden.pk, no_variant.pk, 999_999]
    assert [d.id for d in product_documents(ids)] == [catalog.runner.pk]
    assert catalog.laptop.pk not in searchable_product_ids(limit=100)
    assert searchable_product_count() == 2  # runner and slipper


def test_inactive_variants_are_left_out(catalog):
    Variant.objects.filter(pk=catalog.runner_red.pk).update(is_active=False)
    (doc,) = product_documents([catalog.runner.pk])
    assert [v.sku for v in doc.variants] == ["RR-BLUE-42"]


def test_statements_are_bounded_whatever_the_count(catalog):
    extra = [ProductFactory().pk for _ in range(15)]
    ids = [catalog.runner.pk, catalog.slipper.pk, catalog.laptop.pk, *extra]
    with CaptureQueriesContext(connection) as one:
        product_documents([catalog.runner.pk])
    with CaptureQueriesContext(connection) as many:
        assert len(product_documents(ids)) == len(ids)
    assert len(one) == len(many) == 6


def test_searchable_ids_page_in_id_order(catalog):
    all_ids = searchable_product_ids(limit=100)
    assert all_ids == sorted(all_ids) and len(all_ids) == 3
    assert searchable_product_ids(after_id=all_ids[0], limit=1) == [all_ids[1]]
