# ruff: noqa: S608 - the SQL is built from the models' table names at import, never from input
"""Hand-written SQL for the public product reads.

Why not the ORM here: building and compiling these querysets (subqueries, JSON aggregates) took
more Python time than the database took to run them, on every uncached request (measured with
bench/run.py). Each statement is built once at import from the models' table names; the
filters of the product list stay in the ORM (they vary per request) and only pick ids.

Every statement here reads, through api.db_router.read_cursor(): on the replica when the caller
marked the read safe (the public routes do, products/controllers/public.py), else the primary.
The fixed ones (a product page's, the variants of a page of cards) are prepared once per
connection (api/prepared.py): planning them took longer than running them. The list's filtered
statements vary per request and are planned for their values.
"""

from __future__ import annotations

from typing import Any

from api.db_router import read_cursor
from api.prepared import Prepared
from products.models import CategoryCount, ProductStock, ReviewStatus
from products.visibility import (
    TABLES,
    VISIBLE_BY_CATEGORY_SQL,
    VISIBLE_CATEGORY_IDS_SQL,
    VISIBLE_SQL,
)
from promotions.models import PromotedPrice, PromotedProductPrice

# The catalog promotions' prices, precomputed (promotions/services.py): a price shown here is
# the promoted one where a promotion is live, with the regular price as its compare-at price.
T = {
    **TABLES,
    "promoted": PromotedPrice._meta.db_table,
    "promoted_product": PromotedProductPrice._meta.db_table,
    "stock": ProductStock._meta.db_table,
    "category_count": CategoryCount._meta.db_table,
}

VISIBLE_ID_BY_SLUG = Prepared(
    "catalog_visible_id",
    f"""
SELECT p.id FROM {{product}} p JOIN {{category}} c ON c.id = p.category_id
WHERE p.slug = %(slug)s AND {VISIBLE_SQL}
""".format(**T),
    params={"slug": "text"},
)

_ATTRIBUTES = """(
    SELECT coalesce(json_agg(json_build_object(
        'code', d.code, 'name', d.name, 'type', d.type, 'unit', d.unit, 'value', a.value_text)
        ORDER BY d.position, d.code), '[]')
    FROM {table} a JOIN {definition} d ON d.id = a.definition_id WHERE a.{owner} = {owner_ref})"""

_PRODUCT_DETAIL = """
SELECT p.id, p.name, p.slug, p.description, p.base_price,
       coalesce(pp.price_min, p.price_min), coalesce(pp.price_max, p.price_max), p.is_featured,
       p.rating_avg, p.rating_count, p.created_at, p.updated_at,
       b.id, b.name, b.slug, c.id, c.name, c.slug,
       (SELECT json_agg(json_build_object('id', a.id, 'name', a.name, 'slug', a.slug)
                        ORDER BY a.depth)
          FROM {category} a
         WHERE a.id = ANY(string_to_array(trim(both '/' from c.path), '/')::bigint[])),
       (SELECT json_build_object(
                 '1', count(*) FILTER (WHERE r.rating = 1),
                 '2', count(*) FILTER (WHERE r.rating = 2),
                 '3', count(*) FILTER (WHERE r.rating = 3),
                 '4', count(*) FILTER (WHERE r.rating = 4),
                 '5', count(*) FILTER (WHERE r.rating = 5))
          FROM {review} r WHERE r.product_id = p.id AND r.status = '{published}'),
       (SELECT coalesce(json_agg(json_build_object(
                 'id', i.id, 'image', i.image, 'alt', i.alt, 'width', i.width,
                 'height', i.height, 'position', i.position) ORDER BY i.position, i.id), '[]')
          FROM {image} i WHERE i.product_id = p.id),
       {attributes}
FROM {product} p JOIN {category} c ON c.id = p.category_id LEFT JOIN {brand} b ON b.id = p.brand_id
LEFT JOIN {promoted_product} pp ON pp.product_id = p.id
WHERE p.id = %(product)s AND p.slug = %(slug)s AND p.is_active
""".format(
    **T,
    published=ReviewStatus.PUBLISHED.value,
    attributes=_ATTRIBUTES.format(
        table=T["pav"], definition=T["definition"], owner="product_id", owner_ref="p.id"
    ),
)
PRODUCT_DETAIL = Prepared(
    "catalog_product_detail", _PRODUCT_DETAIL, params={"product": "bigint", "slug": "text"}
)

_CARD_COLUMNS = """p.id, p.name, p.slug, p.base_price, coalesce(pp.price_min, p.price_min),
       coalesce(pp.price_max, p.price_max), p.is_featured,
       p.rating_avg, p.rating_count, b.id, b.name, b.slug, c.id, c.name, c.slug,
       img.image, img.alt"""
_CARD_FROM = """FROM {product} p
JOIN {category} c ON c.id = p.category_id
LEFT JOIN {brand} b ON b.id = p.brand_id
LEFT JOIN {promoted_product} pp ON pp.product_id = p.id
LEFT JOIN LATERAL (
    SELECT i.image, i.alt FROM {image} i WHERE i.product_id = p.id ORDER BY i.position, i.id LIMIT 1
) img ON true""".format(**T)

_VARIANTS = """
SELECT v.product_id, v.id, v.sku, v.name, coalesce(pv.price, v.price),
       coalesce(pv.regular_price, v.compare_at_price), v.stock_quantity,
       v.low_stock_threshold, v.is_default, {attributes}
FROM {variant} v LEFT JOIN {promoted} pv ON pv.variant_id = v.id
WHERE v.product_id = ANY(%(products)s) AND v.is_active
ORDER BY v.product_id, v.position, v.id
"""
VARIANTS_DETAILED = Prepared(
    "catalog_variants_detailed",
    _VARIANTS.format(
        **T,
        attributes=_ATTRIBUTES.format(
            table=T["vav"], definition=T["definition"], owner="variant_id", owner_ref="v.id"
        ),
    ),
    params={"products": "bigint[]"},
)
# "code=value" strings (codes never hold "="): cheaper to build and read than JSON here.
VARIANTS_COMPACT = Prepared(
    "catalog_variants_compact",
    _VARIANTS.format(
        **T,
        attributes="""array(
    SELECT d.code || '=' || a.value_text
    FROM {vav} a JOIN {definition} d ON d.id = a.definition_id WHERE a.variant_id = v.id
    ORDER BY d.position, d.code)""".format(**T),
    ),
    params={"products": "bigint[]"},
)

PRODUCT_CARD_FIELDS = (
    "id",
    "name",
    "slug",
    "base_price",
    "price_min",
    "price_max",
    "is_featured",
    "rating_avg",
    "rating_count",
    "brand_id",
    "brand_name",
    "brand_slug",
    "category_id",
    "category_name",
    "category_slug",
    "image",
    "image_alt",
)
PRODUCT_DETAIL_FIELDS = (
    "id",
    "name",
    "slug",
    "description",
    "base_price",
    "price_min",
    "price_max",
    "is_featured",
    "rating_avg",
    "rating_count",
    "created_at",
    "updated_at",
    "brand_id",
    "brand_name",
    "brand_slug",
    "category_id",
    "category_name",
    "category_slug",
    "breadcrumbs",
    "ratings",
    "images",
    "attributes",
)
VARIANT_FIELDS = (
    "product_id",
    "id",
    "sku",
    "name",
    "price",
    "compare_at_price",
    "stock_quantity",
    "low_stock_threshold",
    "is_default",
    "attributes",
)


def _rows(
    sql: str | Prepared, params: list[Any] | dict[str, Any], fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    with read_cursor() as cursor:
        if isinstance(sql, Prepared):
            sql.execute(cursor, params)
        else:
            cursor.execute(sql, params)
        return [dict(zip(fields, row, strict=True)) for row in cursor.fetchall()]


def visible_product_id(slug: str) -> int | None:
    with read_cursor() as cursor:
        VISIBLE_ID_BY_SLUG.execute(cursor, {"slug": slug})
        row = cursor.fetchone()
    return row[0] if row else None


def product_detail_row(product_id: int, slug: str) -> dict[str, Any] | None:
    rows = _rows(PRODUCT_DETAIL, {"product": product_id, "slug": slug}, PRODUCT_DETAIL_FIELDS)
    return rows[0] if rows else None


def variant_rows(product_ids: list[int], *, detailed: bool) -> dict[int, list[dict[str, Any]]]:
    """Active variants per product, in order, each with its attribute values."""
    grouped: dict[int, list[dict[str, Any]]] = {}
    sql = VARIANTS_DETAILED if detailed else VARIANTS_COMPACT
    for row in _rows(sql, {"products": product_ids}, VARIANT_FIELDS):
        if not detailed:
            row["attributes"] = dict(pair.split("=", 1) for pair in row["attributes"])
        grouped.setdefault(row["product_id"], []).append(row)
    return grouped


# -- the product list ---------------------------------------------------------------------------

SORTS = {
    "newest": "p.created_at DESC, p.id DESC",
    "price": "coalesce(pp.price_min, p.price_min) ASC NULLS LAST, p.id ASC",
    "-price": "coalesce(pp.price_min, p.price_min) DESC NULLS LAST, p.id DESC",
    "rating": "p.rating_avg DESC, p.rating_count DESC, p.id DESC",
    "popularity": "p.sales_count DESC, p.id DESC",
    "name": "p.name ASC, p.id ASC",
    "-name": "p.name DESC, p.id DESC",
}
# The price sorts' direction: ListQuery._price_page reads them without a full sort.
_PRICE_ORDER = {"price": "ASC", "-price": "DESC"}
_FROM = "FROM {product} p JOIN {category} c ON c.id = p.category_id".format(**T)
_ACTIVE_VARIANT = "SELECT 1 FROM {variant} v WHERE v.product_id = p.id AND v.is_active".format(**T)
_VARIANT_PRICE = (
    "coalesce((SELECT pv.price FROM {promoted} pv WHERE pv.variant_id = v.id),"
    " v.price, p.base_price)"
).format(**T)
_IN_STOCK = (
    "EXISTS (SELECT 1 FROM {stock} s WHERE s.product_id = p.id AND s.in_stock_variants > 0)"
).format(**T)
_VALUE_MATCH = (
    "EXISTS (SELECT 1 FROM {table} a JOIN {definition} d ON d.id = a.definition_id "
    "WHERE a.{owner} = {owner_ref} AND d.code = %s AND a.value_key = ANY(%s))"
)


# A category and every category below it, by slug (none if it is inactive).
_SUBTREE = (
    "ARRAY(SELECT c.id FROM {category} c WHERE c.path LIKE ("
    "SELECT s.path FROM {category} s WHERE s.slug = %s AND s.is_active) || '%%')"
).format(**T)
# A list filtered by categories only counts its products by adding up the visible categories'
# counts (products.models.CategoryCount): 32 rows instead of every product.
_CATEGORY_COUNT = (
    "SELECT coalesce(sum(n.active_products), 0) FROM {category_count} n "
    f"WHERE n.category_id = ANY(ARRAY({VISIBLE_CATEGORY_IDS_SQL}))"
).format(**T)


class ListQuery:
    """The WHERE clause of a product list, built from parsed filters; values are parameters,
    the SQL text only ever comes from the constants above."""

    def __init__(self) -> None:
        self.where: list[str] = []  # the filters; visibility is added by each statement
        self.params: list[Any] = []
        self.categories: list[str] = []  # the category filters' slugs

    def category(self, slug: str) -> None:
        """The category named by its slug and every category below it (none if inactive)."""
        self.where.append(f"p.category_id = ANY({_SUBTREE})")
        self.params.append(slug)
        self.categories.append(slug)

    def brands(self, slugs: list[str]) -> None:
        self.where.append(
            "p.brand_id IN (SELECT b.id FROM {brand} b WHERE b.slug = ANY(%s))".format(**T)
        )
        self.params.append(slugs)

    def products(self, product_ids: list[int]) -> None:
        """Only these products (a hand-picked list)."""
        self.where.append("p.id = ANY(%s)")
        self.params.append(product_ids)

    def featured(self, value: bool) -> None:
        self.where.append("p.is_featured = %s")
        self.params.append(value)

    def price_range(self, low: Any, high: Any) -> None:
        conditions = [_ACTIVE_VARIANT]
        if low is not None:
            conditions.append(f"{_VARIANT_PRICE} >= %s")
            self.params.append(low)
        if high is not None:
            conditions.append(f"{_VARIANT_PRICE} <= %s")
            self.params.append(high)
        self.where.append(f"EXISTS ({' AND '.join(conditions)})")

    def in_stock(self, value: bool) -> None:
        """Products with an active variant in stock (or none): the triggers' count of them
        (products.models.ProductStock), an index read where checking variants read them all."""
        self.where.append(f"{'' if value else 'NOT '}{_IN_STOCK}")

    def attributes(
        self, product_level: dict[str, list[str]], variant_level: dict[str, list[str]]
    ) -> None:
        """Product attributes match on the product; variant attributes all on one variant."""
        for code, values in product_level.items():
            self.where.append(
                _VALUE_MATCH.format(
                    table=T["pav"], definition=T["definition"], owner="product_id", owner_ref="p.id"
                )
            )
            self.params += [code, values]
        if variant_level:
            matches = []
            for code, values in variant_level.items():
                matches.append(
                    _VALUE_MATCH.format(
                        table=T["vav"],
                        definition=T["definition"],
                        owner="variant_id",
                        owner_ref="v.id",
                    )
                )
                self.params += [code, values]
            self.where.append(f"EXISTS ({_ACTIVE_VARIANT} AND {' AND '.join(matches)})")

    def _where(self) -> str:
        return " AND ".join([VISIBLE_SQL, *self.where])

    def count(self) -> int:
        """The matching products: the categories' counts added up when only categories filter
        the list, else an index scan of the visible categories' active products (without
        joining the category) with the filters."""
        if len(self.where) == len(self.categories):
            sql = " AND ".join(
                [_CATEGORY_COUNT, *(f"n.category_id = ANY({_SUBTREE})" for _ in self.categories)]
            )
            params = self.categories
        else:
            where = " AND ".join([VISIBLE_BY_CATEGORY_SQL, *self.where])
            sql, params = f"SELECT count(*) FROM {T['product']} p WHERE {where}", self.params
        with read_cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

    def page(self, sort: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """The page's product cards, in order (one query)."""
        if sort in _PRICE_ORDER:
            return self._price_page(_PRICE_ORDER[sort], offset, limit)
        sql = (
            f"SELECT {_CARD_COLUMNS} {_CARD_FROM} WHERE {self._where()} "
            f"ORDER BY {SORTS[sort]} LIMIT %s OFFSET %s"
        )
        return _rows(sql, [*self.params, limit, offset], PRODUCT_CARD_FIELDS)

    def _price_page(self, direction: str, offset: int, limit: int) -> list[dict[str, Any]]:
        """SORTS' price order without sorting every matching product: the first offset + limit
        products without a live promotion, read in order from an index on their own price
        (product_price for price, product_price_nulls_first backwards for -price), merged with
        the first offset + limit promoted ones, ordered on their precomputed price."""
        where, enough = self._where(), offset + limit
        sql = f"""SELECT {_CARD_COLUMNS} {_CARD_FROM} JOIN (
            (SELECT p.id, p.price_min AS price {_FROM} WHERE {where} AND NOT EXISTS (
                SELECT 1 FROM {T["promoted_product"]} x WHERE x.product_id = p.id)
             ORDER BY p.price_min {direction} NULLS LAST, p.id {direction} LIMIT %s)
            UNION ALL
            (SELECT p.id, x.price_min {_FROM} JOIN {T["promoted_product"]} x
                ON x.product_id = p.id WHERE {where}
             ORDER BY x.price_min {direction}, p.id {direction} LIMIT %s)
        ) top ON top.id = p.id
        ORDER BY top.price {direction} NULLS LAST, p.id {direction} LIMIT %s OFFSET %s"""
        params = [*self.params, enough, *self.params, enough, limit, offset]
        return _rows(sql, params, PRODUCT_CARD_FIELDS)


def list_heads(lists: list[tuple[ListQuery, str, int]]) -> list[list[dict[str, Any]]]:
    """The first `limit` product cards of each (query, sort, limit), in its order: one statement
    for them all (one capped SELECT per list, UNION ALL), for a page that shows several short
    lists (the content homepage's carousels, cms/selectors.py)."""
    if not lists:
        return []
    parts, params = [], []
    for index, (query, sort, limit) in enumerate(lists):
        order = SORTS[sort]
        parts.append(
            f"(SELECT {index:d}, row_number() OVER (ORDER BY {order}), {_CARD_COLUMNS} "
            f"{_CARD_FROM} WHERE {query._where()} ORDER BY {order} LIMIT %s)"
        )
        params += [*query.params, limit]
    heads: list[list[dict[str, Any]]] = [[] for _ in lists]
    rows = _rows(" UNION ALL ".join(parts), params, ("list", "rank", *PRODUCT_CARD_FIELDS))
    # UNION ALL keeps no order of its own: each row says where it belongs.
    for row in sorted(rows, key=lambda r: (r["list"], r["rank"])):
        heads[row.pop("list")].append(row)
        del row["rank"]
    return heads
