# ruff: noqa: S608 - SQL fragments are fixed text chosen by code; every value is a parameter
"""GET /api/search on PostgreSQL: one statement for hits, total and every facet.

The matched rows (one per variant, text match and in-stock only) are materialised once, with one
boolean per other filter (brand, category, price, each attribute). Hits keep the rows where every
flag holds, grouped by product; each facet counts distinct products over the rows where every
flag but its own holds, so choosing "blue" still shows how many are red. Without facets all the
filters simply go into the WHERE clause.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.db import connection

from products.attributes import filter_key
from products.models import AttributeDefinition, Brand, Category
from search.base import (
    AttributeFacet,
    Facets,
    FacetValue,
    PriceBucket,
    ProductHit,
    SearchQuery,
    SearchResult,
    VariantHit,
)
from search.pg.indexer import CONFIG
from search.pg.terms import Analysis

PRICE_EDGES = [Decimal(n) for n in (25, 50, 100, 200, 500, 1000)]
# A, B, C, D weights for ts_rank_cd are given D first.
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
SKU_BONUS = 10

BRAND = Brand._meta.db_table
CATEGORY = Category._meta.db_table
DEFINITION = AttributeDefinition._meta.db_table

ORDER = {
    "relevance": "score DESC, product_id",
    "price_asc": "price_min, product_id",
    "price_desc": "price_min DESC, product_id",
    "newest": "created_at DESC, product_id DESC",
    "rating": "rating_avg DESC, rating_count DESC, product_id",
    "popularity": "sales_count DESC, product_id",
}


class _Sql:
    """Named parameters collected while the statement is put together."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def p(self, name: str, value: Any) -> str:
        self.params[name] = value
        return f"%({name})s"


def _json(text: str | None) -> Any:
    return json.loads(text, parse_float=Decimal) if text else None


def run(query: SearchQuery, analysis: Analysis, *, any_group: bool = False) -> SearchResult:
    sql = _Sql()
    text_match = "TRUE"
    rank = "1"  # no text: the boost alone orders (in stock, featured, rating, sales)
    tq_from = ""
    if not analysis.empty:
        tsq = sql.p("tsq", analysis.tsquery(any_group=any_group))
        skus = sql.p("skus", analysis.raw_tokens)
        tq_from = f", (SELECT to_tsquery('{CONFIG}', {tsq}) AS query) tq"
        text_match = f"(e.tsv @@ tq.query OR e.sku = ANY({skus}))"
        rank = (
            f"ts_rank_cd('{RANK_WEIGHTS}', e.tsv, tq.query)"
            f" + CASE WHEN e.sku = ANY({skus}) THEN {SKU_BONUS} ELSE 0 END"
        )
    flags: dict[str, str] = {}  # facet name -> condition
    if query.brands:
        brands = sql.p("brands", list(query.brands))
        flags["brand"] = f"e.brand_id IN (SELECT id FROM {BRAND} WHERE slug = ANY({brands}))"
    if query.category:
        flags["category"] = (
            f"e.category_ids @> ARRAY[(SELECT id FROM {CATEGORY} "
            f"WHERE slug = {sql.p('category', query.category)})]::bigint[]"
        )
    price = []
    if query.price_min is not None:
        price.append(f"e.price >= {sql.p('price_min', query.price_min)}")
    if query.price_max is not None:
        price.append(f"e.price <= {sql.p('price_max', query.price_max)}")
    if price:
        flags["price"] = " AND ".join(price)
    attr_codes: list[str] = []
    for i, (code, values) in enumerate(sorted(query.attributes.items())):
        wanted = [f"{code}={filter_key(v)}" for v in values]
        flags[f"a{i}"] = f"e.attrs && {sql.p(f'attr{i}', wanted)}::text[]"
        attr_codes.append(code)
    where = [text_match]
    if query.in_stock:
        where.append("e.in_stock")
    elif query.in_stock is False:
        where.append("NOT e.in_stock")

    if query.facets:
        flag_columns = "".join(f", ({cond}) AS f_{name}" for name, cond in flags.items())
        all_flags = " AND ".join(f"f_{name}" for name in flags) or "TRUE"
    else:
        flag_columns = ""
        all_flags = "TRUE"
        where += [f"({cond})" for cond in flags.values()]
    score_cond = (
        " AND ".join(f"({cond})" for cond in flags.values()) if query.facets and flags else "TRUE"
    )
    order = ORDER[query.sort]
    statement = f"""
WITH m AS MATERIALIZED (
    SELECT e.variant_id, e.product_id, e.brand_id, e.category_ids, e.attrs, e.price,
           e.in_stock, e.is_featured, e.rating_avg, e.rating_count, e.sales_count, e.created_at,
           CASE WHEN {score_cond} THEN ({rank}) * e.boost END AS score{flag_columns}
    FROM search_pg_entry e{tq_from}
    WHERE {" AND ".join(where)}
), hit AS (
    SELECT product_id, max(score) AS score, min(price) AS price_min, max(price) AS price_max,
           bool_or(in_stock) AS in_stock, bool_or(is_featured) AS is_featured,
           max(rating_avg) AS rating_avg, max(rating_count) AS rating_count,
           max(sales_count) AS sales_count, max(created_at) AS created_at,
           array_agg(variant_id ORDER BY price, variant_id) AS variant_ids
    FROM m WHERE {all_flags} GROUP BY product_id
), page AS (
    SELECT * FROM hit ORDER BY {order}
    LIMIT {sql.p("limit", query.page_size)} OFFSET {sql.p("offset", query.offset)}
)
SELECT
    (SELECT count(*) FROM hit),
    (SELECT json_agg(json_build_object(
        'id', page.product_id, 'score', page.score, 'price_min', page.price_min,
        'price_max', page.price_max, 'in_stock', page.in_stock, 'product', sp.payload,
        'variants', (SELECT json_agg(json_build_array(v.variant_id, v.sku, v.variant_name,
                                                      v.price, v.compare_at_price, v.in_stock,
                                                      v.variant_attrs)
                                     ORDER BY v.price, v.variant_id)
                     FROM search_pg_entry v WHERE v.variant_id = ANY(page.variant_ids)))
        ORDER BY {order})::text
     FROM page JOIN search_pg_product sp USING (product_id))
    {_facet_columns(sql, query, flags, attr_codes) if query.facets else ""}
"""
    with connection.cursor() as cursor:
        cursor.execute(statement, sql.params)
        row = cursor.fetchone()
    total, hits = row[0], _hits(_json(row[1]) or [])
    facets = (
        _facets(query, attr_codes, *(_json(value) for value in row[2:])) if query.facets else None
    )
    return SearchResult(total=total, hits=hits, facets=facets)


def _facet_columns(sql: _Sql, query: SearchQuery, flags: dict[str, str], codes: list[str]) -> str:
    def but(name: str) -> str:
        return " AND ".join(f"f_{other}" for other in flags if other != name) or "TRUE"

    attr_names = [f"a{i}" for i in range(len(codes))]
    # An attribute value counts under every filter but its own code's.
    attr_filter = (
        " AND ".join(
            [f"f_{other}" for other in flags if other not in attr_names]
            + [
                f"(starts_with(a, {sql.p(f'code{i}', code + '=')}) OR f_a{i})"
                for i, code in enumerate(codes)
            ]
        )
        or "TRUE"
    )
    edges = sql.p("edges", PRICE_EDGES)
    return f""",
    (SELECT json_agg(json_build_array(b.slug, b.name, y.n))::text
     FROM (SELECT brand_id, count(*) AS n
           FROM (SELECT DISTINCT product_id, brand_id FROM m
                 WHERE brand_id IS NOT NULL AND {but("brand")}) x
           GROUP BY brand_id) y JOIN {BRAND} b ON b.id = y.brand_id),
    (SELECT json_agg(json_build_array(c.slug, c.name, y.n, c.depth))::text
     FROM (SELECT cid, count(*) AS n
           FROM (SELECT DISTINCT m.product_id, cid FROM m, unnest(m.category_ids) cid
                 WHERE {but("category")}) x
           GROUP BY cid) y JOIN {CATEGORY} c ON c.id = y.cid),
    (SELECT json_agg(json_build_array(bucket, n))::text
     FROM (SELECT bucket, count(*) AS n
           FROM (SELECT DISTINCT product_id, width_bucket(price, {edges}::numeric[]) AS bucket
                 FROM m WHERE {but("price")}) x
           GROUP BY bucket) y),
    (SELECT json_agg(json_build_array(a, n))::text
     FROM (SELECT a, count(*) AS n
           FROM (SELECT DISTINCT m.product_id, a FROM m, unnest(m.attrs) a
                 WHERE {attr_filter}) x
           GROUP BY a) y),
    (SELECT json_agg(json_build_array(code, name, type, choices, position))::text
     FROM (SELECT DISTINCT ON (code) code, name, type, choices, position FROM {DEFINITION}
           WHERE is_filterable ORDER BY code, id) d)
"""


def _hits(rows: list[dict]) -> tuple[ProductHit, ...]:
    hits = []
    for row in rows:
        product = row["product"]
        hits.append(
            ProductHit(
                id=row["id"],
                name=product["name"],
                slug=product["slug"],
                brand=product["brand"],
                category=product["category"],
                price_min=Decimal(row["price_min"]),
                price_max=Decimal(row["price_max"]),
                in_stock=row["in_stock"],
                is_featured=product["is_featured"],
                image_url=product["image_url"],
                rating_avg=Decimal(product["rating_avg"]),
                rating_count=product["rating_count"],
                score=float(row["score"] or 0),
                variants=tuple(
                    VariantHit(
                        id=vid,
                        sku=sku,
                        name=name,
                        price=Decimal(price),
                        compare_at_price=None if compare is None else Decimal(compare),
                        in_stock=in_stock,
                        attributes=attrs,
                    )
                    for vid, sku, name, price, compare, in_stock, attrs in row["variants"] or []
                ),
            )
        )
    return tuple(hits)


def _label(kind: str, choices: list[str], value: str) -> str:
    if kind == "choice":
        for choice in choices or []:
            if choice.casefold() == value:
                return choice
    if kind == "boolean":
        return {"true": "Yes", "false": "No"}.get(value, value)
    return value


def _facets(query: SearchQuery, codes: list[str], brands, categories, prices, attrs, defs):
    brand_values = sorted(
        (
            FacetValue(value=slug, label=name, count=n, selected=slug in query.brands)
            for slug, name, n in brands or []
        ),
        key=lambda f: (-f.count, f.label),
    )
    category_values = sorted(
        (
            FacetValue(value=slug, label=name, count=n, selected=slug == query.category)
            for slug, name, n, _depth in categories or []
        ),
        key=lambda f: (-f.count, f.label),
    )
    bounds = [None, *PRICE_EDGES, None]
    buckets = sorted((int(bucket), n) for bucket, n in prices or [])
    price_values = tuple(
        PriceBucket(min=bounds[bucket], max=bounds[bucket + 1], count=n) for bucket, n in buckets
    )
    definitions = {
        code: (name, kind, choices, pos) for code, name, kind, choices, pos in defs or []
    }
    grouped: dict[str, list[FacetValue]] = {}
    for pair, n in attrs or []:
        code, _, value = pair.partition("=")
        if code not in definitions:
            continue
        _name, kind, choices, _pos = definitions[code]
        selected = {filter_key(v) for v in query.attributes.get(code, ())}
        grouped.setdefault(code, []).append(
            FacetValue(
                value=value,
                label=_label(kind, choices, value),
                count=n,
                selected=value in selected,
            )
        )
    attribute_facets = tuple(
        AttributeFacet(
            code=code,
            name=definitions[code][0],
            values=tuple(sorted(values, key=lambda f: (-f.count, f.label))),
        )
        for code, values in sorted(
            grouped.items(), key=lambda item: (definitions[item[0]][3], item[0])
        )
    )
    return Facets(
        brands=tuple(brand_values),
        categories=tuple(category_values),
        prices=price_values,
        attributes=attribute_facets,
    )
