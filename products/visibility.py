# ruff: noqa: S608 - SQL built at import from the models' table names, never from input
"""What the storefront shows: the one rule, in its two forms.

A product is visible when it is active and its category and every category above it are active:
hiding a category hides its whole branch. The catalog's raw SQL (products/catalog_sql.py),
search's documents (search/documents.py) and the querysets (reviews, benchmarks) all take the
rule from here, so the public list, the product page, search and reviews cannot disagree.

    f"SELECT p.id FROM {TABLES['product']} p JOIN {TABLES['category']} c ON c.id = p.category_id
      WHERE {VISIBLE_SQL}"                       # `p` the product, `c` its category
    visible_products().filter(slug=slug)         # the same rule as a queryset
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.lookups import StartsWith

from products.models import (
    AttributeDefinition,
    Brand,
    Category,
    Product,
    ProductAttributeValue,
    ProductImage,
    Review,
    Variant,
    VariantAttributeValue,
)

# The catalog's table names, for raw SQL built at import.
TABLES = {
    "product": Product._meta.db_table,
    "variant": Variant._meta.db_table,
    "category": Category._meta.db_table,
    "brand": Brand._meta.db_table,
    "image": ProductImage._meta.db_table,
    "definition": AttributeDefinition._meta.db_table,
    "pav": ProductAttributeValue._meta.db_table,
    "vav": VariantAttributeValue._meta.db_table,
    "review": Review._meta.db_table,
}

# Category paths hold only digits and slashes, so LIKE needs no escaping; `%%` for psycopg.
HIDDEN_BRANCH_SQL = (
    "NOT EXISTS (SELECT 1 FROM {category} h WHERE NOT h.is_active AND c.path LIKE h.path || '%%')"
).format(**TABLES)
VISIBLE_SQL = f"p.is_active AND {HIDDEN_BRANCH_SQL}"
# The same rule without joining the category: its id among the visible categories' (a count
# reads the product index alone, or adds up the categories' counts).
VISIBLE_CATEGORY_IDS_SQL = f"SELECT c.id FROM {TABLES['category']} c WHERE {HIDDEN_BRANCH_SQL}"
VISIBLE_BY_CATEGORY_SQL = f"p.is_active AND p.category_id = ANY(ARRAY({VISIBLE_CATEGORY_IDS_SQL}))"


def visible_products() -> QuerySet[Product]:
    """VISIBLE_SQL as a queryset."""
    return Product.objects.filter(is_active=True).exclude(hidden_branch(OuterRef("category__path")))


def hidden_branch(path: Any) -> Exists:
    """HIDDEN_BRANCH_SQL as an expression, for the category whose `path` is given (an OuterRef):
    true when it or a category above it is inactive. Content linking to categories (menus,
    featured categories) hides them by the same rule."""
    return Exists(Category.objects.filter(is_active=False).filter(StartsWith(path, F("path"))))
