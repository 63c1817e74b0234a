# ruff: noqa: S608 - the SQL is built from the models' table names at import, never from input
"""What search indexes, read from the catalog: one ProductDocument per searchable product.

Searchable means what the public catalog shows (products/visibility.py): an active
product whose category and every category above it are active, with at least one active variant.
Both backends index these documents, so they read the same truth.

Reads are set-based and bounded: product_documents() runs at most six statements whatever the
number of ids (products, category paths, variants, variant values, product values, images), so a
bulk reindex costs the same per batch of 500 as an event costs for one product.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import connection

from products.media import image_url
from products.visibility import TABLES, VISIBLE_SQL
from promotions.models import PromotedPrice
from search.base import ProductDocument, VariantDocument

# A promoted variant is indexed at its promoted price, its regular price as the compare-at one
# (promotions/services.py keeps the table and reindexes at every promotion boundary).
T = {**TABLES, "promoted": PromotedPrice._meta.db_table}

# Visible in the catalog (products/visibility.py), with a variant to sell.
SEARCHABLE = f"""{VISIBLE_SQL}
    AND EXISTS (SELECT 1 FROM {T["variant"]} v WHERE v.product_id = p.id AND v.is_active)"""

_PRODUCTS = f"""
SELECT p.id, p.name, p.slug, p.description, p.base_price, p.is_featured, p.rating_avg,
       p.rating_count, p.sales_count, p.created_at, p.updated_at,
       b.id, b.name, b.slug, c.id, c.name, c.slug, c.path
FROM {{product}} p JOIN {{category}} c ON c.id = p.category_id
LEFT JOIN {{brand}} b ON b.id = p.brand_id
WHERE p.id = ANY(%s) AND {SEARCHABLE}
ORDER BY p.id
""".format(**T)

_CATEGORIES = "SELECT id, name, slug FROM {category} WHERE id = ANY(%s)".format(**T)

_VARIANTS = """
SELECT v.id, v.product_id, v.sku, v.name, coalesce(pv.price, v.price),
       coalesce(pv.regular_price, v.compare_at_price), v.stock_quantity
FROM {variant} v LEFT JOIN {promoted} pv ON pv.variant_id = v.id
WHERE v.product_id = ANY(%s) AND v.is_active
ORDER BY v.product_id, v.position, v.id
""".format(**T)

_VARIANT_VALUES = """
SELECT a.variant_id, d.code, a.value_key
FROM {vav} a JOIN {variant} v ON v.id = a.variant_id JOIN {definition} d ON d.id = a.definition_id
WHERE v.product_id = ANY(%s) AND v.is_active
ORDER BY d.position, d.code
""".format(**T)

_PRODUCT_VALUES = """
SELECT a.product_id, d.code, a.value_key
FROM {pav} a JOIN {definition} d ON d.id = a.definition_id
WHERE a.product_id = ANY(%s)
ORDER BY d.position, d.code
""".format(**T)

_IMAGES = """
SELECT DISTINCT ON (i.product_id) i.product_id, i.image
FROM {image} i WHERE i.product_id = ANY(%s)
ORDER BY i.product_id, i.position, i.id
""".format(**T)

_SEARCHABLE_IDS = f"""
SELECT p.id FROM {{product}} p JOIN {{category}} c ON c.id = p.category_id
WHERE p.id > %s AND {SEARCHABLE}
ORDER BY p.id LIMIT %s
""".format(**T)

_SEARCHABLE_COUNT = f"""
SELECT count(*) FROM {{product}} p JOIN {{category}} c ON c.id = p.category_id
WHERE {SEARCHABLE}
""".format(**T)


def _path_ids(path: str) -> list[int]:
    return [int(part) for part in path.strip("/").split("/") if part]


def product_documents(product_ids: list[int]) -> list[ProductDocument]:
    """The documents of the searchable products among these ids, in id order; ids that are
    gone, inactive, hidden or without an active variant are simply absent."""
    ids = sorted({int(pk) for pk in product_ids})
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_PRODUCTS, [ids])
        products = cursor.fetchall()
        if not products:
            return []
        ids = [row[0] for row in products]
        category_ids = sorted({pk for row in products for pk in _path_ids(row[17])})
        cursor.execute(_CATEGORIES, [category_ids])
        categories = {pk: (name, slug) for pk, name, slug in cursor.fetchall()}
        cursor.execute(_VARIANTS, [ids])
        variant_rows = cursor.fetchall()
        cursor.execute(_VARIANT_VALUES, [ids])
        variant_values: dict[int, dict[str, str]] = defaultdict(dict)
        for variant_id, code, key in cursor.fetchall():
            variant_values[variant_id][code] = key
        cursor.execute(_PRODUCT_VALUES, [ids])
        product_values: dict[int, dict[str, str]] = defaultdict(dict)
        for product_id, code, key in cursor.fetchall():
            product_values[product_id][code] = key
        cursor.execute(_IMAGES, [ids])
        images = dict(cursor.fetchall())

    base_prices: dict[int, Decimal] = {row[0]: row[4] for row in products}
    variants: dict[int, list[VariantDocument]] = defaultdict(list)
    for vid, product_id, sku, name, price, compare_at, stock in variant_rows:
        variants[product_id].append(
            VariantDocument(
                id=vid,
                sku=sku,
                name=name,
                price=price if price is not None else base_prices[product_id],
                compare_at_price=compare_at,
                in_stock=stock > 0,
                attributes=variant_values.get(vid, {}),
            )
        )
    documents = []
    for row in products:
        (pk, name, slug, description, _base, featured, rating_avg, rating_count, sales) = row[:9]
        created_at, updated_at, brand_id, brand_name, brand_slug = row[9:14]
        category_id, category_name, category_slug, path = row[14:18]
        path_ids = [c for c in _path_ids(path) if c in categories]
        documents.append(
            ProductDocument(
                id=pk,
                name=name,
                slug=slug,
                description=description,
                brand_id=brand_id,
                brand_name=brand_name or "",
                brand_slug=brand_slug or "",
                category_id=category_id,
                category_name=category_name,
                category_slug=category_slug,
                category_path_slugs=tuple(categories[c][1] for c in path_ids),
                category_path_names=tuple(categories[c][0] for c in path_ids),
                is_featured=featured,
                rating_avg=rating_avg,
                rating_count=rating_count,
                sales_count=sales,
                created_at=created_at,
                updated_at=updated_at,
                image_url=image_url(images.get(pk)),
                attributes=product_values.get(pk, {}),
                variants=tuple(variants[pk]),
            )
        )
    return documents


def searchable_product_ids(*, after_id: int = 0, limit: int) -> list[int]:
    """The next `limit` searchable product ids after `after_id`, in id order (bulk reindex)."""
    with connection.cursor() as cursor:
        cursor.execute(_SEARCHABLE_IDS, [after_id, limit])
        return [row[0] for row in cursor.fetchall()]


def searchable_product_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(_SEARCHABLE_COUNT)
        return cursor.fetchone()[0]
