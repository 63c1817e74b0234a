"""The public catalog's answers as JSON bytes, cached under version tokens: the measured hot path.

These answers skip the ORM objects and the response schemas on purpose: built from `.values()` and
raw-SQL rows (products/catalog_sql.py) in a fixed number of queries (list: at most 6 whatever the
page size; detail: 6; category tree: 1) and cached as bytes (api/cache.py) under the version
tokens products.services.events replaces after every committed change, a cached answer costs one
Redis round trip, the request's rate limit included (docs/benchmarks.md). Their shape is the
schemas' (ProductListItemOut, ProductDetailOut, ...): products/tests hold them to it.

1. The route parses the request: filters and page as Ninja validated them, plus a PageUrl (the
   query string's pairs and the page's own URL, for the links and the cache key).
2. The answer is read from the cache when its tokens still hold; else built and stored. The
   routes mark these reads safe for the read replica (api/db_router.py); a build that will be
   stored under tokens runs inside api.cache.fill_reads(stamp), so it reads the replica only
   once that has replayed the writes the tokens announced, else the primary: a lagging replica
   never leaves an old answer under a new token.
3. Nothing here reads the request or the rate limiter: the deferred count is api/cache.py's.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce
from pydantic_core import to_json

from api import cache as versioned
from api.errors import PageNotFound, RateLimited
from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from products import catalog_sql
from products.attribute_values import filter_key
from products.errors import CategoryNotFound, InvalidFilter, ProductNotFound
from products.media import image_url
from products.models import AttributeDefinition, Brand, BrandCount, Category, CategoryCount
from products.schemas import ProductFilter
from products.services.events import LISTS_VERSION, STRUCTURE_VERSION, product_version

logger = logging.getLogger("products.catalog")

QueryParams = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PageUrl:
    """Where an answer was asked for: the query string's (name, value) pairs, sorted, and the
    page's absolute URL without them (its links repeat both; both key the cache)."""

    params: QueryParams
    base: str


TREE_KEY = "catalog:tree"


def _cache_on() -> bool:
    return settings.CATALOG_CACHE_ENABLED


# Query parameters with a meaning of their own: never read as attribute codes.
RESERVED_PARAMS = {*ProductFilter.model_fields, "page", "page_size"}
MAX_ATTRIBUTE_FILTERS = 20


# -- category tree ------------------------------------------------------------------------------


def _category_rows() -> list[dict[str, Any]]:
    """Every active category with its own active-product count (the counter the triggers
    keep, products.models.CategoryCount, not a count of every product): one query."""
    own = CategoryCount.objects.filter(category=OuterRef("pk")).values("active_products")
    return list(
        Category.objects.filter(is_active=True)
        .annotate(own_count=Coalesce(Subquery(own), 0))
        .values("id", "parent_id", "name", "slug", "description", "position", "path", "own_count")
        .order_by("depth", "position", "name", "id")
    )


def _category_forest(rows: list[dict[str, Any]]) -> tuple[list[dict], dict[int, dict]]:
    """Nodes linked to their children; a node under an inactive parent is left out."""
    nodes: dict[int, dict] = {}
    roots = []
    for row in rows:  # ordered by depth: a parent comes before its children
        node = {**row, "children": [], "product_count": row["own_count"]}
        if row["parent_id"] is None:
            roots.append(node)
        elif row["parent_id"] in nodes:
            nodes[row["parent_id"]]["children"].append(node)
        else:
            continue
        nodes[row["id"]] = node
    for node in sorted(nodes.values(), key=lambda n: -n["path"].count("/")):
        if node["parent_id"] in nodes:
            nodes[node["parent_id"]]["product_count"] += node["product_count"]
    return roots, nodes


def _tree_out(node: dict) -> dict:
    return {
        "id": node["id"],
        "name": node["name"],
        "slug": node["slug"],
        "description": node["description"],
        "position": node["position"],
        "product_count": node["product_count"],
        "children": [_tree_out(child) for child in node["children"]],
    }


def category_tree_json() -> bytes:
    def build() -> bytes:
        roots, _nodes = _category_forest(_category_rows())
        return to_json([_tree_out(root) for root in roots])

    return _cached(TREE_KEY, [LISTS_VERSION], settings.CATALOG_CACHE_TTL_TREE, build)


def category_tree_hit() -> bytes | None:
    """category_tree_json() when a fresh entry holds it, else None (api.cached_reads)."""
    return _hit(TREE_KEY, [LISTS_VERSION], settings.CATALOG_CACHE_TTL_TREE)


def category_detail_json(slug: str) -> bytes:
    def build() -> bytes:
        _roots, nodes = _category_forest(_category_rows())
        node = next((n for n in nodes.values() if n["slug"] == slug), None)
        if node is None:
            raise CategoryNotFound()
        crumbs = []
        cursor: dict | None = node
        while cursor is not None:
            crumbs.append({"id": cursor["id"], "name": cursor["name"], "slug": cursor["slug"]})
            cursor = nodes.get(cursor["parent_id"]) if cursor["parent_id"] else None
        data = {
            **{k: node[k] for k in ("id", "name", "slug", "description", "product_count")},
            "breadcrumbs": crumbs[::-1],
            "children": [
                {k: c[k] for k in ("id", "name", "slug", "product_count")} for c in node["children"]
            ],
        }
        return to_json(data)

    return _cached(_category_key(slug), [LISTS_VERSION], settings.CATALOG_CACHE_TTL_TREE, build)


def category_detail_hit(slug: str) -> bytes | None:
    """category_detail_json(slug) when a fresh entry holds it, else None (api.cached_reads)."""
    return _hit(_category_key(slug), [LISTS_VERSION], settings.CATALOG_CACHE_TTL_TREE)


def _category_key(slug: str) -> str:
    return f"catalog:category:{_digest(slug)}"


# -- brands -------------------------------------------------------------------------------------


def brand_list_json(page: int, page_size: int, *, url: PageUrl) -> bytes:
    page_size = min(page_size, MAX_PAGE_SIZE)

    def build() -> bytes:
        # Each brand's active products: the counter the triggers keep (BrandCount).
        own = BrandCount.objects.filter(brand=OuterRef("pk")).values("active_products")
        brands = Brand.objects.annotate(product_count=Coalesce(Subquery(own), 0)).order_by(
            "name", "id"
        )
        count = Brand.objects.count()
        rows = _page_rows(count, page, page_size)
        results = [
            {
                "id": b.pk,
                "name": b.name,
                "slug": b.slug,
                "description": b.description,
                "logo_url": image_url(b.logo.name) if b.logo else None,
                "product_count": b.product_count,
            }
            for b in brands[rows]
        ]
        return _page_json(url.base, [], count, page, page_size, results)

    key = f"catalog:brands:{_digest(url.base, page, page_size)}"
    return _cached(key, [LISTS_VERSION], settings.CATALOG_CACHE_TTL_LIST, build)


# -- product list -------------------------------------------------------------------------------


def _attribute_params(params: QueryParams, filters: ProductFilter) -> dict[str, list[str]]:
    """{code: [values]} from ?attr=code:value and from plain ?code=value parameters."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for item in filters.attr:
        code, sep, value = item.partition(":")
        if not sep or not code.strip() or not value.strip():
            raise InvalidFilter(details={"attr": item})
        wanted[code.strip().lower()].append(value)
    for name, value in params:
        if name not in RESERVED_PARAMS:
            wanted[name.strip().lower()].append(value)
    for code, values in wanted.items():
        if any("\x00" in v for v in (code, *values)) or len(code) > 50:
            raise InvalidFilter("Filter names and values may not contain NUL.")
        wanted[code] = sorted({filter_key(part) for v in values for part in v.split(",") if part})
    if len(wanted) > MAX_ATTRIBUTE_FILTERS:
        raise InvalidFilter("Too many attribute filters.")
    return {code: values for code, values in wanted.items() if values}


def _attribute_levels(
    wanted: Mapping[str, list[str]], *, strict: set[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Split the wanted codes into product-level and variant-level ones. Codes no filterable
    definition has are an error when named through attr=, and ignored as plain parameters
    (utm_source...)."""
    if not wanted:
        return {}, {}
    levels: dict[str, set[bool]] = defaultdict(set)
    for code, is_variant in AttributeDefinition.objects.filter(
        code__in=list(wanted), is_filterable=True
    ).values_list("code", "is_variant_attribute"):
        levels[code].add(is_variant)
    unknown = sorted(strict - set(levels))
    if unknown:
        raise InvalidFilter("No filterable attribute with these codes.", details={"codes": unknown})
    product_level = {c: wanted[c] for c, kinds in levels.items() if True not in kinds}
    variant_level = {c: wanted[c] for c, kinds in levels.items() if True in kinds}
    return product_level, variant_level


def product_list_query(params: QueryParams, filters: ProductFilter) -> catalog_sql.ListQuery:
    """The filters as SQL; attribute filters need one lookup (which codes exist, and where)."""
    query = catalog_sql.ListQuery()
    if filters.category:
        query.category(filters.category)
    if filters.brand:
        query.brands(filters.brand)
    if filters.featured is not None:
        query.featured(filters.featured)
    if filters.price_min is not None or filters.price_max is not None:
        query.price_range(filters.price_min, filters.price_max)
    if filters.in_stock is not None:
        query.in_stock(filters.in_stock)
    strict = {item.partition(":")[0].strip().lower() for item in filters.attr}
    product_level, variant_level = _attribute_levels(
        _attribute_params(params, filters), strict=strict
    )
    query.attributes(product_level, variant_level)
    return query


def product_list_json(filters: ProductFilter, page: int, page_size: int, *, url: PageUrl) -> bytes:
    page_size = min(page_size, MAX_PAGE_SIZE)

    def build() -> bytes:
        query = product_list_query(url.params, filters)
        count = query.count()
        if not count and filters.category and not _active_category(filters.category):
            raise CategoryNotFound()
        rows = _page_rows(count, page, page_size)
        cards = query.page(filters.sort, rows.start, page_size) if count else []
        results = list_items(cards)
        links = [(name, value) for name, value in url.params if name != "page"]
        return _page_json(url.base, links, count, page, page_size, results)

    return _cached(_list_key(url), [LISTS_VERSION], settings.CATALOG_CACHE_TTL_LIST, build)


def product_list_hit(url: PageUrl) -> bytes | None:
    """A list page when a fresh entry holds it, else None (api.cached_reads). The key is the
    query as sent: an entry exists only for parameters the view validated and answered."""
    return _hit(_list_key(url), [LISTS_VERSION], settings.CATALOG_CACHE_TTL_LIST)


def _list_key(url: PageUrl) -> str:
    return f"catalog:list:{_digest(url.base, url.params)}"


def _active_category(slug: str) -> bool:
    return Category.objects.filter(slug=slug, is_active=True).exists()


def _price_summary(row: dict, variants: list[dict]) -> dict[str, Any]:
    base = row["base_price"]
    compare = None
    for variant in variants:
        variant["effective_price"] = price = (
            variant["price"] if variant["price"] is not None else base
        )
        at = variant["compare_at_price"]
        if at is not None and at > price and (compare is None or at > compare):
            compare = at
    return {
        "price_min": row["price_min"] if row["price_min"] is not None else base,
        "price_max": row["price_max"] if row["price_max"] is not None else base,
        "compare_at_price": compare,
        "currency": settings.DEFAULT_CURRENCY,
        "in_stock": any(v["stock_quantity"] > 0 for v in variants),
    }


def _refs(row: dict) -> dict[str, Any]:
    return {
        "brand": {"id": row["brand_id"], "name": row["brand_name"], "slug": row["brand_slug"]}
        if row["brand_id"]
        else None,
        "category": {
            "id": row["category_id"],
            "name": row["category_name"],
            "slug": row["category_slug"],
        },
    }


def list_items(cards: list[dict]) -> list[dict]:
    """ProductListItemOut dicts for product cards (catalog_sql rows), with their variants: one
    query. The content homepage's carousels render their cards here too (cms/selectors.py)."""
    if not cards:
        return []
    variants_by_product = catalog_sql.variant_rows([c["id"] for c in cards], detailed=False)
    items = []
    for row in cards:
        pid = row["id"]
        variants = variants_by_product.get(pid, [])
        items.append(
            {
                "id": pid,
                "name": row["name"],
                "slug": row["slug"],
                **_refs(row),
                **_price_summary(row, variants),
                "is_featured": row["is_featured"],
                "image": {"url": image_url(row["image"]), "alt": row["image_alt"]}
                if row["image"]
                else None,
                "rating": {"average": row["rating_avg"], "count": row["rating_count"]},
                "variants": [_variant_item(v) for v in variants],
            }
        )
    return items


# -- product detail -----------------------------------------------------------------------------


# slug -> product id, as this process last saw it: lets a cache hit take one round trip
# (entry and tokens in one MGET). Only a hint: every use is checked against the entry's own id.
_SLUG_HINTS: dict[str, int] = {}
_SLUG_HINTS_MAX = 50_000


def product_detail_json(slug: str) -> bytes:
    """One product page. The cache entry sits under the slug and remembers the product id; it
    is fresh while the structure token and that product's token are unchanged."""
    key = _detail_key(slug)
    ttl = settings.CATALOG_CACHE_TTL_DETAIL
    if not _cache_on() or ttl <= 0:
        versioned.deferred_limit_settle()
        return _detail_bytes(_visible_product_id(slug), slug)
    try:
        hint = _SLUG_HINTS.get(slug)
        versions = [STRUCTURE_VERSION, product_version(hint)] if hint else []
        # The request's deferred rate limit is counted in this read's round trip.
        entry, stamp = versioned.entry_get(key, versions, count_deferred_limit=True)
        if entry is not None:
            if entry.meta != hint:
                stamp = versioned.versions_get([STRUCTURE_VERSION, product_version(entry.meta)])
            if entry.stamp == stamp:
                _remember(slug, entry.meta)
                return entry.body
    except RateLimited:
        raise
    except Exception:
        logger.exception("cache read failed", extra={"key": key})
        return _detail_bytes(_visible_product_id(slug), slug)
    product_id = _visible_product_id(slug)
    # Tokens read before the rows: a write committed meanwhile leaves this entry stale.
    stamp = versioned.versions_get([STRUCTURE_VERSION, product_version(product_id)])
    with versioned.fill_reads(stamp):
        body = _detail_bytes(product_id, slug)
    versioned.entry_set(key, stamp, body, ttl, meta=product_id)
    _remember(slug, product_id)
    return body


def product_detail_hit(slug: str) -> bytes | None:
    """A product page when this process knows the slug's product and a fresh entry holds the
    page, else None (api.cached_reads); the view's first read, without its fallbacks."""
    hint = _SLUG_HINTS.get(slug)
    if hint is None or not _cache_on() or settings.CATALOG_CACHE_TTL_DETAIL <= 0:
        return None
    entry = versioned.entry_fresh(_detail_key(slug), [STRUCTURE_VERSION, product_version(hint)])
    return entry.body if entry is not None and entry.meta == hint else None


def _detail_key(slug: str) -> str:
    return f"catalog:detail:{_digest(slug)}"


def _remember(slug: str, product_id: int) -> None:
    if len(_SLUG_HINTS) >= _SLUG_HINTS_MAX:
        _SLUG_HINTS.clear()
    _SLUG_HINTS[slug] = product_id


def _visible_product_id(slug: str) -> int:
    product_id = catalog_sql.visible_product_id(slug)
    if product_id is None:
        raise ProductNotFound()
    return product_id


def _detail_bytes(product_id: int, slug: str) -> bytes:
    """ProductDetailOut as JSON: two queries (the product with its images, attributes,
    breadcrumbs and rating counts; then its variants)."""
    row = catalog_sql.product_detail_row(product_id, slug)
    if row is None:  # renamed or hidden between the id lookup and now
        raise ProductNotFound()
    variants = catalog_sql.variant_rows([product_id], detailed=True).get(product_id, [])
    summary = _price_summary(row, variants)
    options: dict[str, dict] = {}
    for variant in variants:
        for a in variant["attributes"]:
            option = options.setdefault(
                a["code"], {"code": a["code"], "name": a["name"], "values": []}
            )
            if a["value"] not in option["values"]:
                option["values"].append(a["value"])
    counts = row["ratings"] or {}
    data = {
        "id": row["id"],
        "name": row["name"],
        "slug": row["slug"],
        "description": row["description"],
        **_refs(row),
        "breadcrumbs": row["breadcrumbs"] or [],
        **summary,
        "is_featured": row["is_featured"],
        "images": [
            {
                "id": i["id"],
                "url": image_url(i["image"]),
                "alt": i["alt"],
                "width": i["width"],
                "height": i["height"],
                "position": i["position"],
            }
            for i in row["images"]
        ],
        "attributes": row["attributes"],
        "options": list(options.values()),
        "variants": [
            {**_variant_item(v), "stock_status": _stock_status(v), "is_default": v["is_default"]}
            for v in variants
        ],
        "rating": {
            "average": row["rating_avg"],
            "count": row["rating_count"],
            "distribution": {str(n): counts.get(str(n), 0) for n in range(1, 6)},
        },
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    return to_json(data)


def _variant_item(v: dict) -> dict[str, Any]:
    """ListVariantOut's fields (a product page's variants add their stock status and default)."""
    return {
        "id": v["id"],
        "sku": v["sku"],
        "name": v["name"],
        "price": v["effective_price"],
        "compare_at_price": v["compare_at_price"],
        "in_stock": v["stock_quantity"] > 0,
        "attributes": v["attributes"],
    }


def _stock_status(variant: dict) -> str:
    if variant["stock_quantity"] <= 0:
        return "out_of_stock"
    if variant["stock_quantity"] <= variant["low_stock_threshold"]:
        return "low_stock"
    return "in_stock"


# -- plumbing -----------------------------------------------------------------------------------


def _cached(key: str, versions: list[str], ttl: int, build) -> bytes:
    if not _cache_on():
        versioned.deferred_limit_settle()  # counted before any query
        return build()
    return versioned.cached_bytes(key, versions=versions, ttl=ttl, build=build)


def _hit(key: str, versions: list[str], ttl: int) -> bytes | None:
    if not _cache_on() or ttl <= 0:
        return None
    entry = versioned.entry_fresh(key, versions)
    return entry.body if entry is not None else None


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _page_rows(count: int, page: int, page_size: int) -> slice:
    pages = max(1, math.ceil(count / page_size))
    if page > pages:
        raise PageNotFound(page, pages)
    offset = (page - 1) * page_size
    return slice(offset, offset + page_size)


def _page_json(
    base: str,
    params: Iterable[tuple[str, str]],
    count: int,
    page: int,
    page_size: int,
    results: list[dict],
) -> bytes:
    """A Page answer; links keep the query's other parameters."""
    params = list(params)
    if not any(name == "page_size" for name, _ in params) and page_size != DEFAULT_PAGE_SIZE:
        params.append(("page_size", str(page_size)))
    pages = max(1, math.ceil(count / page_size))

    def link(number: int) -> str:
        query = urlencode([*params, ("page", str(number))] if number > 1 else params)
        return f"{base}?{query}" if query else base

    return to_json(
        {
            "count": count,
            "page": page,
            "page_size": page_size,
            "pages": pages,
            "next": link(page + 1) if page < pages else None,
            "previous": link(page - 1) if page > 1 else None,
            "results": results,
        }
    )
