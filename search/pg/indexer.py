# ruff: noqa: S608 - SQL built from fixed text at import; every value is a parameter
"""Writes the PostgreSQL backend's tables from search.documents, in set-based statements.

A batch of products is one DELETE and one INSERT ... SELECT per table, whatever its size: the
documents go in as one JSON parameter and PostgreSQL builds the tsvectors itself, so the bulk
reindex costs a handful of statements per 500 products.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterable
from dataclasses import asdict
from decimal import Decimal

from django.db import connection, transaction

from api import cache
from search.base import ProductDocument
from search.documents import product_documents

CONFIG = "emporium_search"

_ENTRIES_INSERT = f"""
WITH p AS (
    SELECT x.product_id,
           setweight(to_tsvector('{CONFIG}', x.name), 'A')
           || setweight(to_tsvector('{CONFIG}', x.brand), 'B')
           || setweight(to_tsvector('{CONFIG}', x.categories), 'C')
           || setweight(to_tsvector('{CONFIG}', x.body), 'D') AS tsv
    FROM jsonb_to_recordset(%s::jsonb) AS x(
        product_id bigint, name text, brand text, categories text, body text)
)
INSERT INTO search_pg_entry (
    variant_id, product_id, sku, variant_name, brand_id, category_ids, price, compare_at_price,
    in_stock, attrs, pattrs, vattrs, product_vattrs, variant_count,
    in_stock_variant_count, variant_attrs, is_featured, rating_avg, rating_count,
    sales_count, created_at, boost, tsv, vtsv)
SELECT v.variant_id, v.product_id, v.sku, v.variant_name, v.brand_id, v.category_ids, v.price,
       v.compare_at_price, v.in_stock, v.attrs, v.pattrs, v.vattrs, v.product_vattrs,
       v.variant_count, v.in_stock_variant_count, v.variant_attrs,
       v.is_featured, v.rating_avg, v.rating_count, v.sales_count, v.created_at, v.boost,
       p.tsv || setweight(to_tsvector('{CONFIG}', v.words), 'D'),
       to_tsvector('{CONFIG}', v.words)
FROM jsonb_to_recordset(%s::jsonb) AS v(
    variant_id bigint, product_id bigint, sku text, variant_name text, brand_id bigint,
    category_ids bigint[], price numeric, compare_at_price numeric, in_stock boolean,
    attrs text[], pattrs text[], vattrs text[], product_vattrs text[], variant_count integer,
    in_stock_variant_count integer, variant_attrs jsonb, is_featured boolean,
    rating_avg numeric, rating_count integer, sales_count integer, created_at timestamptz,
    boost double precision, words text)
JOIN p USING (product_id)
ON CONFLICT (variant_id) DO UPDATE SET
    product_id = EXCLUDED.product_id, sku = EXCLUDED.sku, variant_name = EXCLUDED.variant_name,
    brand_id = EXCLUDED.brand_id, category_ids = EXCLUDED.category_ids, price = EXCLUDED.price,
    compare_at_price = EXCLUDED.compare_at_price, in_stock = EXCLUDED.in_stock,
    attrs = EXCLUDED.attrs, pattrs = EXCLUDED.pattrs, vattrs = EXCLUDED.vattrs,
    product_vattrs = EXCLUDED.product_vattrs, variant_count = EXCLUDED.variant_count,
    in_stock_variant_count = EXCLUDED.in_stock_variant_count,
    variant_attrs = EXCLUDED.variant_attrs,
    is_featured = EXCLUDED.is_featured, rating_avg = EXCLUDED.rating_avg,
    rating_count = EXCLUDED.rating_count, sales_count = EXCLUDED.sales_count,
    created_at = EXCLUDED.created_at, boost = EXCLUDED.boost, tsv = EXCLUDED.tsv,
    vtsv = EXCLUDED.vtsv
"""

_PRODUCTS_INSERT = """
INSERT INTO search_pg_product (product_id, payload, words, checksum, indexed_at)
SELECT x.product_id, x.payload, lower(search_unaccent(x.words)), x.checksum, now()
FROM jsonb_to_recordset(%s::jsonb) AS x(product_id bigint, payload jsonb, words text,
                                          checksum text)
ON CONFLICT (product_id) DO UPDATE SET payload = EXCLUDED.payload, words = EXCLUDED.words,
    checksum = EXCLUDED.checksum, indexed_at = EXCLUDED.indexed_at
"""

# New words join the vocabulary at once (frequency 1); rebuild_vocabulary() recounts them all.
_WORDS_INSERT = """
INSERT INTO search_pg_word (word, lexeme, ndoc)
SELECT w, coalesce((ts_lexize('english_stem', w))[1], w), 1
FROM (SELECT DISTINCT regexp_split_to_table(words, '[^a-z0-9]+') AS w
      FROM search_pg_product WHERE product_id = ANY(%s)) words
WHERE length(w) >= 2
ON CONFLICT (word) DO NOTHING
"""

_VOCABULARY_REBUILD = """
WITH counted AS (
    SELECT w, count(*) AS n
    FROM (SELECT DISTINCT product_id, regexp_split_to_table(words, '[^a-z0-9]+') AS w
          FROM search_pg_product) pw
    WHERE length(w) >= 2 GROUP BY w
), gone AS (
    DELETE FROM search_pg_word WHERE word NOT IN (SELECT w FROM counted)
)
INSERT INTO search_pg_word (word, lexeme, ndoc)
SELECT w, coalesce((ts_lexize('english_stem', w))[1], w), n FROM counted
ON CONFLICT (word) DO UPDATE SET ndoc = EXCLUDED.ndoc WHERE search_pg_word.ndoc <> EXCLUDED.ndoc
"""

# The lexemes of the written variants' own words (SearchVariantWord); rebuild_vocabulary() drops
# those no variant has any more.
_VARIANT_WORDS_INSERT = """
INSERT INTO search_pg_variant_word (lexeme)
SELECT DISTINCT unnest(tsvector_to_array(vtsv)) FROM search_pg_entry WHERE product_id = ANY(%s)
ON CONFLICT (lexeme) DO NOTHING
"""

_VARIANT_WORDS_PRUNE = """
DELETE FROM search_pg_variant_word
WHERE lexeme NOT IN (SELECT DISTINCT unnest(tsvector_to_array(vtsv)) FROM search_pg_entry
                     WHERE vtsv IS NOT NULL)
"""

_PRODUCT_SUGGESTIONS = """
INSERT INTO search_pg_suggestion (kind, ref_id, text, slug, norm, weight)
SELECT 'product', x.product_id, x.text, x.slug, lower(search_unaccent(x.text)), x.weight
FROM jsonb_to_recordset(%s::jsonb) AS x(product_id bigint, text text, slug text, weight float8)
ON CONFLICT (kind, ref_id) DO UPDATE SET text = EXCLUDED.text, slug = EXCLUDED.slug,
    norm = EXCLUDED.norm, weight = EXCLUDED.weight
"""

# Brands and categories: offered when they hold indexed products, weighted by how many.
_STRUCTURE_SUGGESTIONS = """
WITH counts AS (
    SELECT 'brand' AS kind, brand_id AS ref_id, count(DISTINCT product_id) AS n
    FROM search_pg_entry WHERE brand_id IS NOT NULL GROUP BY brand_id
    UNION ALL
    SELECT 'category', c, count(DISTINCT product_id)
    FROM search_pg_entry, unnest(category_ids) c GROUP BY c
), wanted AS (
    SELECT c.kind, c.ref_id, coalesce(b.name, k.name) AS text, coalesce(b.slug, k.slug) AS slug,
           ln(1 + c.n) AS weight
    FROM counts c
    LEFT JOIN products_brand b ON c.kind = 'brand' AND b.id = c.ref_id
    LEFT JOIN products_category k ON c.kind = 'category' AND k.id = c.ref_id
    WHERE coalesce(b.id, k.id) IS NOT NULL
), gone AS (
    DELETE FROM search_pg_suggestion s
    WHERE s.kind IN ('brand', 'category')
      AND NOT EXISTS (SELECT 1 FROM wanted w WHERE w.kind = s.kind AND w.ref_id = s.ref_id)
)
INSERT INTO search_pg_suggestion (kind, ref_id, text, slug, norm, weight)
SELECT kind, ref_id, text, slug, lower(search_unaccent(text)), weight FROM wanted
ON CONFLICT (kind, ref_id) DO UPDATE SET text = EXCLUDED.text, slug = EXCLUDED.slug,
    norm = EXCLUDED.norm, weight = EXCLUDED.weight
"""


def _words(code: str) -> str:
    return code.replace("_", " ")


def _attribute_text(attributes: dict[str, str]) -> str:
    # "color blue size 42": the value and what it is, so "size 42" and "blue" both find it;
    # a true boolean reads as its name ("wireless"), a false one adds nothing.
    parts = []
    for code, value in attributes.items():
        if value == "true":
            parts.append(_words(code))
        elif value != "false":
            parts.append(f"{_words(code)} {value}")
    return " ".join(parts)


def document_checksum(doc: ProductDocument) -> str:
    """What the consistency check compares: the document as the database gives it now."""
    raw = json.dumps(asdict(doc), sort_keys=True, default=str)
    return hashlib.md5(raw.encode(), usedforsecurity=False).hexdigest()


def _boost(doc: ProductDocument, in_stock: bool) -> float:
    # In stock and featured weigh most; rating and sales nudge (log-damped, so a best seller
    # cannot bury a better text match).
    return (
        1.0
        + (1.0 if in_stock else 0.0)
        + (0.3 if doc.is_featured else 0.0)
        + 0.1 * float(doc.rating_avg) / 5
        + 0.05 * math.log1p(doc.sales_count)
    )


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _rows(docs: list[ProductDocument]) -> tuple[list, list, list, list]:
    products, entries, payloads, suggestions = [], [], [], []
    for doc in docs:
        product_attrs = dict(doc.attributes)
        categories = " ".join(doc.category_path_names)
        products.append(
            {
                "product_id": doc.id,
                "name": doc.name,
                "brand": doc.brand_name,
                "categories": categories,
                "body": f"{_attribute_text(product_attrs)} {doc.description}",
            }
        )
        in_stock = any(v.in_stock for v in doc.variants)
        product_vattrs = sorted(
            {f"{code}={value}" for v in doc.variants for code, value in v.attributes.items()}
        )
        for variant in doc.variants:
            attrs = {**product_attrs, **variant.attributes}
            entries.append(
                {
                    "variant_id": variant.id,
                    "product_id": doc.id,
                    "sku": variant.sku,
                    "variant_name": variant.name,
                    "brand_id": doc.brand_id,
                    "category_ids": [],  # filled below from the path
                    "price": str(variant.price),
                    "compare_at_price": _money(variant.compare_at_price),
                    "in_stock": variant.in_stock,
                    "attrs": [f"{code}={value}" for code, value in attrs.items()],
                    "pattrs": [f"{code}={value}" for code, value in product_attrs.items()],
                    "vattrs": [f"{code}={value}" for code, value in variant.attributes.items()],
                    "product_vattrs": product_vattrs,
                    "variant_count": len(doc.variants),
                    "in_stock_variant_count": sum(v.in_stock for v in doc.variants),
                    "variant_attrs": dict(variant.attributes),
                    "is_featured": doc.is_featured,
                    "rating_avg": str(doc.rating_avg),
                    "rating_count": doc.rating_count,
                    "sales_count": doc.sales_count,
                    "created_at": doc.created_at.isoformat(),
                    "boost": _boost(doc, variant.in_stock),
                    # Migration 0006 builds the same text in SQL for rows indexed before it.
                    "words": (
                        f"{variant.sku.lower()} {variant.name} "
                        f"{_attribute_text(dict(variant.attributes))}"
                    ),
                }
            )
        payloads.append(
            {
                "product_id": doc.id,
                "payload": {
                    "name": doc.name,
                    "slug": doc.slug,
                    "brand": (
                        {"id": doc.brand_id, "name": doc.brand_name, "slug": doc.brand_slug}
                        if doc.brand_id
                        else None
                    ),
                    "category": {
                        "id": doc.category_id,
                        "name": doc.category_name,
                        "slug": doc.category_slug,
                    },
                    "image_url": doc.image_url,
                    "rating_avg": str(doc.rating_avg),
                    "rating_count": doc.rating_count,
                    "is_featured": doc.is_featured,
                },
                "words": " ".join(
                    [
                        doc.name,
                        doc.brand_name,
                        categories,
                        _attribute_text(product_attrs),
                        *(_attribute_text(dict(v.attributes)) for v in doc.variants),
                    ]
                ),
                "checksum": document_checksum(doc),
            }
        )
        suggestions.append(
            {
                "product_id": doc.id,
                "text": doc.name,
                "slug": doc.slug,
                "weight": _boost(doc, in_stock),
            }
        )
    return products, entries, payloads, suggestions


# The brand and category suggestions of the brands and categories a write touched (their ids:
# %(brands)s, %(categories)s): one that now holds an indexed product and has no suggestion gets
# one, one that holds none loses it, two index probes each. So a brand is offered with its first
# indexed product and withdrawn with its last; the weights (product counts) are recounted by
# refresh_structure_suggestions() at every rebuild.
_TOUCHED_SUGGESTIONS = """
WITH touched AS (
    SELECT 'brand' AS kind, t.ref_id,
           EXISTS (SELECT 1 FROM search_pg_card c WHERE c.brand_id = t.ref_id) AS held
    FROM unnest(%(brands)s::bigint[]) AS t(ref_id)
    UNION ALL
    SELECT 'category', t.ref_id,
           EXISTS (SELECT 1 FROM search_pg_card c WHERE c.category_ids @> ARRAY[t.ref_id])
    FROM unnest(%(categories)s::bigint[]) AS t(ref_id)
), gone AS (
    DELETE FROM search_pg_suggestion s USING touched t
    WHERE s.kind = t.kind AND s.ref_id = t.ref_id AND NOT t.held
), wanted AS (
    SELECT t.kind, t.ref_id, coalesce(b.name, k.name) AS text, coalesce(b.slug, k.slug) AS slug
    FROM touched t
    LEFT JOIN products_brand b ON t.kind = 'brand' AND b.id = t.ref_id
    LEFT JOIN products_category k ON t.kind = 'category' AND k.id = t.ref_id
    WHERE t.held AND coalesce(b.id, k.id) IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM search_pg_suggestion s
                      WHERE s.kind = t.kind AND s.ref_id = t.ref_id)
)
INSERT INTO search_pg_suggestion (kind, ref_id, text, slug, norm, weight)
SELECT w.kind, w.ref_id, w.text, w.slug, lower(search_unaccent(w.text)),
       ln(1 + (SELECT count(*) FROM search_pg_card c
               WHERE CASE WHEN w.kind = 'brand' THEN c.brand_id = w.ref_id
                          ELSE c.category_ids @> ARRAY[w.ref_id] END))
FROM wanted w
ON CONFLICT (kind, ref_id) DO NOTHING
"""


def _category_ids(docs: list[ProductDocument]) -> dict[int, list[int]]:
    """Each product's path as ids: documents carry slugs, the filters compare ids."""
    slugs = sorted({slug for doc in docs for slug in doc.category_path_slugs})
    with connection.cursor() as cursor:
        cursor.execute("SELECT slug, id FROM products_category WHERE slug = ANY(%s)", [slugs])
        ids = dict(cursor.fetchall())
    return {doc.id: [ids[s] for s in doc.category_path_slugs if s in ids] for doc in docs}


logger = logging.getLogger("search.pg")

# Price bucket edges of the price facet (search.pg.query); SearchCard's masks are built on them.
PRICE_EDGES = [Decimal(n) for n in (25, 50, 100, 200, 500, 1000)]
_EDGES_SQL = "ARRAY[" + ", ".join(str(e) for e in PRICE_EDGES) + "]::numeric[]"
# The per-product rows of the products given (%s: their ids), from their entries.
CARDS_INSERT = f"""
INSERT INTO search_pg_card (
    product_id, brand_id, category_ids, pattrs, vattrs, stock_vattrs, variant_ids,
    stock_variant_ids, price_min, price_max, stock_price_min, stock_price_max, price_mask,
    stock_price_mask, boost, stock_boost, in_stock, is_featured, rating_avg, rating_count,
    sales_count, created_at, tsv)
SELECT e.product_id, any_value(e.brand_id), any_value(e.category_ids), any_value(e.pattrs),
       any_value(e.product_vattrs),
       coalesce((SELECT array_agg(DISTINCT a ORDER BY a) FROM search_pg_entry s, unnest(s.vattrs) a
                 WHERE s.product_id = e.product_id AND s.in_stock), '{{}}'),
       array_agg(e.variant_id ORDER BY e.variant_id),
       coalesce(array_agg(e.variant_id ORDER BY e.variant_id) FILTER (WHERE e.in_stock), '{{}}'),
       min(e.price), max(e.price),
       min(e.price) FILTER (WHERE e.in_stock), max(e.price) FILTER (WHERE e.in_stock),
       bit_or(1 << width_bucket(e.price, {_EDGES_SQL})),
       bit_or(1 << width_bucket(e.price, {_EDGES_SQL})) FILTER (WHERE e.in_stock),
       max(e.boost), max(e.boost) FILTER (WHERE e.in_stock), bool_or(e.in_stock),
       bool_or(e.is_featured), max(e.rating_avg), max(e.rating_count), max(e.sales_count),
       max(e.created_at), (array_agg(e.tsv ORDER BY e.variant_id))[1]
FROM search_pg_entry e WHERE e.product_id = ANY(%s) GROUP BY e.product_id
"""

INDEX_VERSION = "search:pg:index"


def index_changed() -> None:
    """Cached search answers (PostgresBackend.search) stop matching: at once, for readers inside
    this transaction, and again after commit, for a reader that read the old rows meanwhile."""
    try:
        cache.versions_bump(INDEX_VERSION)
    except Exception:
        logger.exception("search cache version bump failed")  # entries expire with their TTL
    cache.versions_bump_on_commit(INDEX_VERSION)


def write_documents(product_ids: Iterable[int], docs: list[ProductDocument]) -> None:
    """Replace these products in the index with `docs` (ids without a document leave)."""
    ids = sorted({int(pk) for pk in product_ids})
    products, entries, payloads, suggestions = _rows(docs)
    paths: dict[int, list[int]] = {}
    if docs:
        paths = _category_ids(docs)
        for entry in entries:
            entry["category_ids"] = paths[entry["product_id"]]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM search_pg_entry WHERE product_id = ANY(%s)", [ids])
        cursor.execute("DELETE FROM search_pg_product WHERE product_id = ANY(%s)", [ids])
        cursor.execute(
            "DELETE FROM search_pg_card WHERE product_id = ANY(%s)"
            " RETURNING brand_id, category_ids",
            [ids],
        )
        gone = cursor.fetchall()
        cursor.execute(
            "DELETE FROM search_pg_suggestion WHERE kind = 'product' AND ref_id = ANY(%s)", [ids]
        )
        if docs:
            cursor.execute(_ENTRIES_INSERT, [json.dumps(products), json.dumps(entries)])
            cursor.execute(_PRODUCTS_INSERT, [json.dumps(payloads)])
            cursor.execute(_PRODUCT_SUGGESTIONS, [json.dumps(suggestions)])
            cursor.execute(_WORDS_INSERT, [[doc.id for doc in docs]])
            cursor.execute(_VARIANT_WORDS_INSERT, [[doc.id for doc in docs]])
            cursor.execute(CARDS_INSERT, [[doc.id for doc in docs]])
        brands = {brand for brand, _ in gone} | {doc.brand_id for doc in docs}
        categories = {c for _, path in gone for c in path} | {c for p in paths.values() for c in p}
        cursor.execute(
            _TOUCHED_SUGGESTIONS,
            {"brands": sorted(b for b in brands if b), "categories": sorted(categories)},
        )
    index_changed()


def index_products(product_ids: Iterable[int]) -> tuple[int, int]:
    """Re-read and index these products; returns (indexed, removed)."""
    ids = sorted({int(pk) for pk in product_ids})
    if not ids:
        return 0, 0
    docs = product_documents(ids)
    write_documents(ids, docs)
    return len(docs), len(ids) - len(docs)


def rebuild_vocabulary() -> None:
    with connection.cursor() as cursor:
        cursor.execute(_VOCABULARY_REBUILD)
        cursor.execute(_VARIANT_WORDS_PRUNE)
    index_changed()


def refresh_structure_suggestions() -> None:
    with connection.cursor() as cursor:
        cursor.execute(_STRUCTURE_SUGGESTIONS)
