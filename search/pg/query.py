# ruff: noqa: S608 - SQL fragments are fixed text chosen by code; every value is a parameter
"""GET /api/search on PostgreSQL: one statement for hits, total and every facet.

The matched rows (one per variant, text match and in-stock only) are materialised once, with one
boolean per other filter (brand, category, price, each attribute). Hits keep the rows where every
flag holds, grouped by product; each facet counts distinct products over the rows where every
flag but its own holds, so choosing "blue" still shows how many are red. Without facets all the
filters simply go into the WHERE clause.

Every statement reads: on the replica when the route marked its reads safe (api.db_router
.read_cursor(), sql_read_alias()), else the primary.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.db import connections, transaction

from api.db_router import read_cursor, sql_read_alias
from products.attribute_values import filter_key
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
from search.pg.indexer import CONFIG, PRICE_EDGES
from search.pg.terms import Analysis

# A, B, C, D weights for ts_rank are given D first. ts_rank rather than ts_rank_cd: a third
# cheaper per matched row, and the documents are short enough that cover density adds little.
RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
SKU_BONUS = 10
SET_WORK_MEM = "SET LOCAL work_mem = '64MB'"

BRAND = Brand._meta.db_table
CATEGORY = Category._meta.db_table
DEFINITION = AttributeDefinition._meta.db_table

ORDER = {
    "relevance": "score DESC, product_id",
    "price_asc": "price_min, product_id",
    # Highest matched price first: what Elasticsearch's collapse sorts a product by (its top
    # variant under the sort), so both backends order alike; price_asc is the lowest one.
    "price_desc": "price_max DESC, product_id",
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


# Is any word of the query (its corrections and synonyms included) a variant's own word (SKU,
# name, option value), or any typed token a whole SKU? Primary-key and SKU index probes.
_VARIANT_WORDS = f"""
SELECT EXISTS (SELECT 1 FROM search_pg_entry WHERE sku = ANY(%(skus)s))
    OR EXISTS (SELECT 1 FROM search_pg_variant_word
               WHERE lexeme = ANY(tsvector_to_array(to_tsvector('{CONFIG}', %(words)s))))
"""


def _variant_free(query: SearchQuery) -> bool:
    """No filter that depends on the variant (price, attributes, "out of stock")."""
    return (
        query.price_min is None
        and query.price_max is None
        and not query.attributes
        and query.in_stock in (True, None)
    )


def product_level(query: SearchQuery, analysis: Analysis) -> bool:
    """No condition that depends on the variant (words, price, attributes, "out of stock"):
    every variant of a product matches, or (in stock) every in-stock one, so the per-product
    cards answer the same as the per-variant rows."""
    return analysis.empty and _variant_free(query)


def product_words(query: SearchQuery, analysis: Analysis) -> bool:
    """Words, but none that a variant has of its own and no variant filter: a product's variants
    all match or none does, so the cards answer as the variant rows do ("electronics": 6,700
    products instead of 27,000 variant rows). One more statement, for queries of that shape."""
    if analysis.empty or not _variant_free(query):
        return False
    with read_cursor() as cursor:
        cursor.execute(_VARIANT_WORDS, {"skus": analysis.raw_tokens, "words": analysis.all_words()})
        (variant_words,) = cursor.fetchone()
    return not variant_words


def run(query: SearchQuery, analysis: Analysis, *, any_group: bool = False) -> SearchResult:
    if product_level(query, analysis) or product_words(query, analysis):
        return run_cards(query, analysis, any_group=any_group)
    return run_variants(query, analysis, any_group=any_group)


def run_cards(
    query: SearchQuery, analysis: Analysis | None = None, *, any_group: bool = False
) -> SearchResult:
    """SearchCard (one row per product) instead of the variant rows, for a query whose every
    condition holds for all of a product's variants or none (product_level, product_words):
    the same hits, total and facets as run_variants, counted over 24k products instead of
    100k variants. Words match the card's tsv (its lowest variant's)."""
    sql = _Sql()
    stock = "stock_" if query.in_stock else ""
    score, tq_from, where_text = f"c.{stock}boost", "", ""
    if analysis is not None and not analysis.empty:
        # The rank of run_variants: no word is a variant's, so every variant ranks alike.
        tq_from = _tsquery_from(sql, analysis, any_group=any_group)
        where_text = " AND c.tsv @@ tq.query"
        score = f"ts_rank('{RANK_WEIGHTS}', c.tsv, tq.query) * c.{stock}boost"
    conds = {"brand": "TRUE", "category": "TRUE"}
    if query.brands:
        brands = sql.p("brands", list(query.brands))
        conds["brand"] = f"c.brand_id IN (SELECT id FROM {BRAND} WHERE slug = ANY({brands}))"
    if query.category:
        conds["category"] = (
            f"c.category_ids @> ARRAY[(SELECT id FROM {CATEGORY} "
            f"WHERE slug = {sql.p('category', query.category)})]::bigint[]"
        )
    order = ORDER[query.sort]
    where = "c.in_stock" if query.in_stock else "TRUE"
    facets = ""
    if query.facets:
        price_counts = ", ".join(
            f"count(*) FILTER (WHERE price_mask & {1 << b} <> 0)"
            for b in range(len(PRICE_EDGES) + 1)
        )
        facets = f""",
    (SELECT json_agg(json_build_array(b.slug, b.name, y.n))::text
     FROM (SELECT brand_id, count(*) AS n FROM pa
           WHERE brand_id IS NOT NULL AND f_category GROUP BY brand_id) y
     JOIN {BRAND} b ON b.id = y.brand_id),
    (SELECT json_agg(json_build_array(c.slug, c.name, y.n, c.depth))::text
     FROM (SELECT cid, count(*) AS n FROM pa, unnest(pa.category_ids) cid
           WHERE f_brand GROUP BY cid) y
     JOIN {CATEGORY} c ON c.id = y.cid),
    (SELECT json_build_array({price_counts})::text FROM hit),
    (SELECT json_agg(json_build_array(a, n))::text
     FROM (SELECT a, count(*) AS n FROM hit, unnest(hit.pattrs) a GROUP BY a
           UNION ALL
           SELECT a, count(*) FROM hit, unnest(hit.vattrs) a GROUP BY a) y),
    (SELECT json_agg(json_build_array(code, name, type, choices, position))::text
     FROM (SELECT DISTINCT ON (code) code, name, type, choices, position FROM {DEFINITION}
           WHERE is_filterable ORDER BY code, id) d)
"""
    statement = f"""
WITH pa AS MATERIALIZED (
    SELECT c.product_id, c.brand_id, c.category_ids, c.pattrs, c.{stock}vattrs AS vattrs,
           c.{stock}variant_ids AS variant_ids, c.{stock}price_min AS price_min,
           c.{stock}price_max AS price_max, c.{stock}price_mask AS price_mask,
           {score} AS score, c.in_stock, c.is_featured, c.rating_avg, c.rating_count,
           c.sales_count, c.created_at,
           ({conds["brand"]}) AS f_brand, ({conds["category"]}) AS f_category
    FROM search_pg_card c{tq_from}
    WHERE {where}{where_text}
), hit AS (
    SELECT * FROM pa WHERE f_brand AND f_category
){_page_select(query, sql, order)}
    {facets}
"""
    row = _execute(statement, sql.params)
    total, hits = row[0], _hits(_json(row[1]) or [])
    result_facets = (
        _facets(query, [], *(_json(value) for value in row[2:])) if query.facets else None
    )
    return SearchResult(total=total, hits=hits, facets=result_facets)


def run_variants(
    query: SearchQuery, analysis: Analysis, *, any_group: bool = False
) -> SearchResult:
    """The general path: one row per matching variant (see the module docstring)."""
    sql = _Sql()
    text_match = "TRUE"
    rank = "1"  # no text: the boost alone orders (in stock, featured, rating, sales)
    tq_from = ""
    if not analysis.empty:
        skus = sql.p("skus", analysis.raw_tokens)
        tq_from = _tsquery_from(sql, analysis, any_group=any_group)
        text_match = f"(e.tsv @@ tq.query OR e.sku = ANY({skus}))"
        rank = (
            f"ts_rank('{RANK_WEIGHTS}', e.tsv, tq.query)"
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

    if not query.facets:
        where += [f"({cond})" for cond in flags.values()]
        flags = {}
    flag_columns = "".join(f", ({cond}) AS f_{name}" for name, cond in flags.items())
    score_cond = " AND ".join(f"({cond})" for cond in flags.values()) or "TRUE"

    def every(names) -> str:
        return " AND ".join(f"f_{n}" for n in names if n in flags) or "TRUE"

    attr_flags = [f"a{i}" for i in range(len(attr_codes))]
    v_all = every(["price", *attr_flags])
    v_noprice = every(attr_flags)
    but_attr = [every(["price", *(a for a in attr_flags if a != own)]) for own in attr_flags]
    edges = sql.p("edges", PRICE_EDGES)
    # "Every variant matched" means every variant of the product, whatever the stock filter:
    # the precomputed product_vattrs hold the values of all its variants, sold out or not.
    variant_count = "variant_count"
    order = ORDER[query.sort]
    any_but = "".join(
        f"bool_or({cond}) AS any_but_{a}, " for a, cond in zip(attr_flags, but_attr, strict=True)
    )
    facet_columns = (
        _facet_columns(sql, attr_codes, v_all, but_attr, every(["brand", "category"]))
        if query.facets
        else ""
    )
    statement = f"""
WITH m AS MATERIALIZED (
    SELECT e.variant_id, e.product_id, e.brand_id, e.category_ids, e.price, e.in_stock,
           e.is_featured, e.rating_avg, e.rating_count, e.sales_count, e.created_at,
           e.pattrs, e.vattrs, e.product_vattrs, e.variant_count, e.in_stock_variant_count,
           CASE WHEN {score_cond} THEN ({rank}) * e.boost END AS score{flag_columns}
    FROM search_pg_entry e{tq_from}
    WHERE {" AND ".join(where)}
), pa AS (
    SELECT product_id, any_value(brand_id) AS brand_id, any_value(category_ids) AS category_ids,
           any_value(pattrs) AS pattrs, any_value(product_vattrs) AS product_vattrs,
           count(*) FILTER (WHERE {v_all}) = any_value({variant_count}) AS every_variant,
           bool_or({every(["brand"])}) AS f_brand, bool_or({every(["category"])}) AS f_category,
           bool_or({v_all}) AS any_all,
           bit_or(1 << width_bucket(price, {edges}::numeric[])) FILTER (WHERE {v_noprice})
               AS price_mask,
           {any_but}
           max(score) AS score,
           min(price) FILTER (WHERE {v_all}) AS price_min,
           max(price) FILTER (WHERE {v_all}) AS price_max,
           coalesce(bool_or(in_stock) FILTER (WHERE {v_all}), false) AS in_stock,
           bool_or(is_featured) AS is_featured, max(rating_avg) AS rating_avg,
           max(rating_count) AS rating_count, max(sales_count) AS sales_count,
           max(created_at) AS created_at,
           array_agg(variant_id) FILTER (WHERE {v_all}) AS variant_ids
    FROM m GROUP BY product_id
), hit AS (
    SELECT * FROM pa WHERE f_brand AND f_category AND any_all
){_page_select(query, sql, order)}
    {facet_columns}
"""
    row = _execute(statement, sql.params)
    total, hits = row[0], _hits(_json(row[1]) or [])
    facets = (
        _facets(query, attr_codes, *(_json(value) for value in row[2:])) if query.facets else None
    )
    return SearchResult(total=total, hits=hits, facets=facets)


def _tsquery_from(sql: _Sql, analysis: Analysis, *, any_group: bool) -> str:
    """The FROM item that names the query's words `tq.query` (both paths match and rank on it)."""
    tsq = sql.p("tsq", analysis.tsquery(any_group=any_group))
    return f", (SELECT to_tsquery('{CONFIG}', {tsq}) AS query) tq"


def _page_select(query: SearchQuery, sql: Any, order: str) -> str:
    """The end of both statements, after a `hit` CTE of matched products (product_id, score,
    prices, in_stock, variant_ids): the total, then the page's hits with their matched variants
    as JSON. The caller appends its facet columns."""
    return f""", page AS (
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
     FROM page JOIN search_pg_product sp USING (product_id))"""


def _execute(statement: str, params: Any) -> tuple:
    alias = sql_read_alias()  # SET LOCAL needs its transaction on the connection that searches
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        # Enough memory for the matched rows and the hash aggregates of a broad query, for this
        # statement only (the default 4 MB spills a 40k-row match to disk).
        cursor.execute(SET_WORK_MEM)
        cursor.execute(statement, params)
        return cursor.fetchone()


def _variant_values(codes: list[str], variant_own: str, v_all: str, row_products: str) -> str:
    """(product, value) pairs of variant attributes, once each. Without attribute filters, a
    product all of whose variants matched lists its precomputed distinct values; only the
    others need the per-variant DISTINCT (the costly part on a broad match)."""
    per_variant = (
        "SELECT DISTINCT m.product_id, a FROM m, unnest(m.vattrs) a "
        f"WHERE {row_products} AND {_case(variant_own, v_all)}"
    )
    if codes:
        return per_variant
    return (
        "SELECT pa.product_id, a FROM pa, unnest(pa.product_vattrs) a "
        "WHERE pa.every_variant AND f_brand AND f_category AND any_all "
        "UNION ALL "
        f"{per_variant} AND m.product_id IN "
        "(SELECT product_id FROM pa WHERE NOT every_variant)"
    )


def _case(whens: str, default: str) -> str:
    return f"CASE {whens}ELSE {default} END" if whens else f"({default})"


def _facet_columns(
    sql: _Sql, codes: list[str], v_all: str, but_attr: list[str], row_products: str
) -> str:
    """Brand, category and price counts come from the per-product rows; attribute values
    from the per-product rows (product attributes) and the per-variant rows (variant ones)."""
    prefixes = [sql.p(f"code{i}", code + "=") for i, code in enumerate(codes)]
    product_own = "".join(
        f"WHEN starts_with(a, {prefix}) THEN any_but_a{i} " for i, prefix in enumerate(prefixes)
    )
    variant_own = "".join(
        f"WHEN starts_with(a, {prefix}) THEN {cond} "
        for prefix, cond in zip(prefixes, but_attr, strict=True)
    )
    # One pass over the products for every price bucket: bit b of price_mask is bucket b.
    price_counts = ", ".join(
        f"count(*) FILTER (WHERE price_mask & {1 << b} <> 0)" for b in range(len(PRICE_EDGES) + 1)
    )
    return f""",
    (SELECT json_agg(json_build_array(b.slug, b.name, y.n))::text
     FROM (SELECT brand_id, count(*) AS n FROM pa
           WHERE brand_id IS NOT NULL AND f_category AND any_all GROUP BY brand_id) y
     JOIN {BRAND} b ON b.id = y.brand_id),
    (SELECT json_agg(json_build_array(c.slug, c.name, y.n, c.depth))::text
     FROM (SELECT cid, count(*) AS n FROM pa, unnest(pa.category_ids) cid
           WHERE f_brand AND any_all GROUP BY cid) y
     JOIN {CATEGORY} c ON c.id = y.cid),
    (SELECT json_build_array({price_counts})::text
     FROM pa WHERE f_brand AND f_category AND price_mask IS NOT NULL),
    (SELECT json_agg(json_build_array(a, n))::text
     FROM (SELECT a, count(*) AS n FROM pa, unnest(pa.pattrs) a
           WHERE f_brand AND f_category AND {_case(product_own, "any_all")} GROUP BY a
           UNION ALL
           SELECT a, count(*) FROM ({_variant_values(codes, variant_own, v_all, row_products)}) x
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
    buckets = [(bucket, n) for bucket, n in enumerate(prices or []) if n]
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
