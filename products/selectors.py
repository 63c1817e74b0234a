"""Catalog reads: public answers as cached JSON bytes, and the staff querysets.

Public answers are built from .values() rows in a fixed number of queries (list: at most 6
whatever the page size; detail: 6; category tree: 1) and cached as bytes under version tokens
(api.cache) that products.services.events replaces after every committed change.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.files.storage import default_storage
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, JSONObject
from django.db.models.lookups import StartsWith
from django.http import HttpRequest
from pydantic import TypeAdapter

from api import cache as versioned
from api.errors import InvalidInput, NotFound
from api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page
from products.attributes import filter_key
from products.models import (
    AttributeDefinition,
    Brand,
    Category,
    Product,
    ProductAttributeValue,
    ProductImage,
    Review,
    ReviewStatus,
    Variant,
    VariantAttributeValue,
)
from products.schemas import (
    BrandOut,
    CategoryDetailOut,
    CategoryNodeOut,
    ProductDetailOut,
    ProductFilter,
    ProductListItemOut,
)
from products.services.events import LISTS_VERSION, STRUCTURE_VERSION, product_version

logger = logging.getLogger("products.selectors")

LIST_PAGE = Page[ProductListItemOut]
BRAND_PAGE = Page[BrandOut]
# Query parameters with a meaning of their own: never read as attribute codes.
RESERVED_PARAMS = {*ProductFilter.model_fields, "page", "page_size"}
MAX_ATTRIBUTE_FILTERS = 20

SORTS = {
    "newest": ("-created_at", "-id"),
    "price": ("price_min", "id"),
    "-price": ("-price_min", "-id"),
    "rating": ("-rating_avg", "-rating_count", "-id"),
    "popularity": ("-sales_count", "-id"),
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
}


def _cache_on() -> bool:
    return settings.CATALOG_CACHE_ENABLED


def image_url(name: str | None) -> str | None:
    return default_storage.url(name) if name else None


# -- visibility ---------------------------------------------------------------------------------


def visible_products() -> QuerySet[Product]:
    """Active products whose category and every category above it are active."""
    hidden_branch = Category.objects.filter(is_active=False).filter(
        StartsWith(OuterRef("category__path"), F("path"))
    )
    return Product.objects.filter(is_active=True).exclude(Exists(hidden_branch))


# -- category tree ------------------------------------------------------------------------------


def _category_rows() -> list[dict[str, Any]]:
    """Every active category with its own active-product count: one query."""
    return list(
        Category.objects.filter(is_active=True)
        .annotate(own_count=Count("products", filter=Q(products__is_active=True)))
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
        adapter = TypeAdapter(list[CategoryNodeOut])
        return adapter.dump_json(adapter.validate_python([_tree_out(r) for r in roots]))

    return _cached("catalog:tree", [LISTS_VERSION], settings.CATALOG_CACHE_TTL_TREE, build)


def category_detail_json(slug: str) -> bytes:
    def build() -> bytes:
        _roots, nodes = _category_forest(_category_rows())
        node = next((n for n in nodes.values() if n["slug"] == slug), None)
        if node is None:
            raise NotFound("No such category.", code="category_not_found")
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
        return CategoryDetailOut.model_validate(data).model_dump_json().encode()

    return _cached(
        f"catalog:category:{_digest(slug)}", [LISTS_VERSION], settings.CATALOG_CACHE_TTL_TREE, build
    )


# -- brands -------------------------------------------------------------------------------------


def brand_list_json(request: HttpRequest, page: int, page_size: int) -> bytes:
    page_size = min(page_size, MAX_PAGE_SIZE)

    def build() -> bytes:
        brands = Brand.objects.annotate(
            product_count=Count("products", filter=Q(products__is_active=True))
        ).order_by("name", "id")
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
        return _page_json(BRAND_PAGE, request, {}, count, page, page_size, results)

    key = f"catalog:brands:{_digest(request.get_host(), page, page_size)}"
    return _cached(key, [LISTS_VERSION], settings.CATALOG_CACHE_TTL_LIST, build)


# -- product list -------------------------------------------------------------------------------


def _attribute_params(request: HttpRequest, filters: ProductFilter) -> dict[str, list[str]]:
    """{code: [values]} from ?attr=code:value and from plain ?code=value parameters."""
    wanted: dict[str, list[str]] = defaultdict(list)
    for item in filters.attr:
        code, sep, value = item.partition(":")
        if not sep or not code.strip() or not value.strip():
            raise InvalidInput(
                "Attribute filters look like attr=code:value.",
                code="invalid_filter",
                details={"attr": item},
            )
        wanted[code.strip().lower()].append(value)
    for name, values in request.GET.lists():
        if name not in RESERVED_PARAMS:
            wanted[name.strip().lower()].extend(values)
    for code, values in wanted.items():
        if any("\x00" in v for v in (code, *values)) or len(code) > 50:
            raise InvalidInput(
                "Filter names and values may not contain NUL.", code="invalid_filter"
            )
        wanted[code] = sorted({filter_key(part) for v in values for part in v.split(",") if part})
    if len(wanted) > MAX_ATTRIBUTE_FILTERS:
        raise InvalidInput("Too many attribute filters.", code="invalid_filter")
    return {code: values for code, values in wanted.items() if values}


def _attribute_filter(wanted: Mapping[str, list[str]], *, strict: set[str]) -> Q | None:
    """Q for the products matching every code (values OR-ed). Codes no filterable definition
    has are an error when named through attr=, and ignored as plain parameters (utm_source...)."""
    if not wanted:
        return None
    levels: dict[str, set[bool]] = defaultdict(set)
    for code, is_variant in AttributeDefinition.objects.filter(
        code__in=list(wanted), is_filterable=True
    ).values_list("code", "is_variant_attribute"):
        levels[code].add(is_variant)
    unknown = sorted(strict - set(levels))
    if unknown:
        raise InvalidInput(
            "No filterable attribute with these codes.",
            code="invalid_filter",
            details={"codes": unknown},
        )
    condition = Q()
    variant_match = Variant.objects.filter(product=OuterRef("pk"), is_active=True)
    variant_codes = 0
    for code, is_variant in levels.items():
        values = wanted[code]
        if True in is_variant:
            variant_match = variant_match.filter(
                Exists(
                    VariantAttributeValue.objects.filter(
                        variant=OuterRef("pk"), definition__code=code, value_key__in=values
                    )
                )
            )
            variant_codes += 1
        else:
            condition &= Q(
                Exists(
                    ProductAttributeValue.objects.filter(
                        product=OuterRef("pk"), definition__code=code, value_key__in=values
                    )
                )
            )
    if variant_codes:
        condition &= Q(Exists(variant_match))
    if not levels:
        return None
    return condition


def product_list_queryset(request: HttpRequest, filters: ProductFilter) -> QuerySet[Product]:
    qs = visible_products()
    if filters.category:
        path = (
            Category.objects.filter(slug=filters.category, is_active=True)
            .values_list("path", flat=True)
            .first()
        )
        if path is None:
            raise NotFound("No such category.", code="category_not_found")
        qs = qs.filter(category__path__startswith=path)
    if filters.brand:
        qs = qs.filter(brand__slug__in=filters.brand)
    if filters.featured is not None:
        qs = qs.filter(is_featured=filters.featured)
    if filters.price_min is not None or filters.price_max is not None:
        priced = Variant.objects.filter(product=OuterRef("pk"), is_active=True).annotate(
            effective=Coalesce("price", OuterRef("base_price"), output_field=DecimalField())
        )
        if filters.price_min is not None:
            priced = priced.filter(effective__gte=filters.price_min)
        if filters.price_max is not None:
            priced = priced.filter(effective__lte=filters.price_max)
        qs = qs.filter(Exists(priced))
    if filters.in_stock is not None:
        stocked = Exists(
            Variant.objects.filter(product=OuterRef("pk"), is_active=True, stock_quantity__gt=0)
        )
        qs = qs.filter(stocked if filters.in_stock else ~stocked)
    strict = {item.partition(":")[0].strip().lower() for item in filters.attr}
    attribute_q = _attribute_filter(_attribute_params(request, filters), strict=strict)
    if attribute_q is not None:
        qs = qs.filter(attribute_q)
    return qs.order_by(*SORTS[filters.sort])


def product_list_json(
    request: HttpRequest, filters: ProductFilter, page: int, page_size: int
) -> bytes:
    page_size = min(page_size, MAX_PAGE_SIZE)

    def build() -> bytes:
        qs = product_list_queryset(request, filters)
        count = qs.count()
        rows = list(
            qs.annotate(image_name=_primary_image("image"), image_alt=_primary_image("alt")).values(
                *PRODUCT_COLUMNS, "image_name", "image_alt"
            )[_page_rows(count, page, page_size)]
        )
        results = _list_items(rows)
        return _page_json(
            LIST_PAGE, request, _canonical_params(request), count, page, page_size, results
        )

    key = f"catalog:list:{_digest(request.get_host(), sorted(request.GET.lists()))}"
    return _cached(key, [LISTS_VERSION], settings.CATALOG_CACHE_TTL_LIST, build)


PRODUCT_COLUMNS = (
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
    "brand__name",
    "brand__slug",
    "category_id",
    "category__name",
    "category__slug",
)
VARIANT_COLUMNS = (
    "id",
    "product_id",
    "sku",
    "name",
    "price",
    "compare_at_price",
    "stock_quantity",
    "low_stock_threshold",
    "is_default",
)


def _primary_image(column: str) -> Subquery:
    return Subquery(
        ProductImage.objects.filter(product=OuterRef("pk"))
        .order_by("position", "id")
        .values(column)[:1]
    )


def _variants_with_attributes(
    product_ids: list[int], *, detailed: bool
) -> dict[int, list[dict[str, Any]]]:
    """Active variants per product with their attribute values: two queries."""
    variants = list(
        Variant.objects.filter(product_id__in=product_ids, is_active=True)
        .order_by("product_id", "position", "id")
        .values(*VARIANT_COLUMNS)
    )
    columns = ["variant_id", "definition__code", "value_text"]
    if detailed:
        columns += ["definition__name", "definition__type", "definition__unit"]
    values = (
        VariantAttributeValue.objects.filter(variant_id__in=[v["id"] for v in variants])
        .order_by("definition__position", "definition__code")
        .values(*columns)
    )
    by_variant: dict[int, list[dict]] = defaultdict(list)
    for value in values:
        by_variant[value["variant_id"]].append(value)
    grouped: dict[int, list[dict]] = defaultdict(list)
    for variant in variants:
        variant["attribute_rows"] = by_variant.get(variant["id"], [])
        grouped[variant["product_id"]].append(variant)
    return grouped


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
        "brand": {"id": row["brand_id"], "name": row["brand__name"], "slug": row["brand__slug"]}
        if row["brand_id"]
        else None,
        "category": {
            "id": row["category_id"],
            "name": row["category__name"],
            "slug": row["category__slug"],
        },
    }


def _list_items(rows: list[dict]) -> list[dict]:
    variants_by_product = _variants_with_attributes([r["id"] for r in rows], detailed=False)
    items = []
    for row in rows:
        variants = variants_by_product.get(row["id"], [])
        summary = _price_summary(row, variants)
        items.append(
            {
                "id": row["id"],
                "name": row["name"],
                "slug": row["slug"],
                **_refs(row),
                **summary,
                "is_featured": row["is_featured"],
                "image": {"url": image_url(row["image_name"]), "alt": row["image_alt"]}
                if row["image_name"]
                else None,
                "rating": {"average": row["rating_avg"], "count": row["rating_count"]},
                "variants": [
                    {
                        "id": v["id"],
                        "sku": v["sku"],
                        "name": v["name"],
                        "price": v["effective_price"],
                        "compare_at_price": v["compare_at_price"],
                        "in_stock": v["stock_quantity"] > 0,
                        "attributes": {
                            a["definition__code"]: a["value_text"] for a in v["attribute_rows"]
                        },
                    }
                    for v in variants
                ],
            }
        )
    return items


# -- product detail -----------------------------------------------------------------------------


def product_detail_json(slug: str) -> bytes:
    """One product page. The cache entry sits under the slug and remembers the product id; it
    is fresh while the structure token and that product's token are unchanged."""
    key = f"catalog:detail:{_digest(slug)}"
    ttl = settings.CATALOG_CACHE_TTL_DETAIL
    if not _cache_on() or ttl <= 0:
        product_id = _visible_product_id(slug)
        return _detail_bytes(product_id, slug)
    try:
        entry, _ = versioned.entry_get(key)
        if entry is not None:
            current = versioned.versions_get([STRUCTURE_VERSION, product_version(entry.meta)])
            if entry.stamp == current:
                return entry.body
    except Exception:
        logger.exception("cache read failed", extra={"key": key})
        return _detail_bytes(_visible_product_id(slug), slug)
    product_id = _visible_product_id(slug)
    # Tokens read before the rows: a write committed meanwhile leaves this entry stale.
    stamp = versioned.versions_get([STRUCTURE_VERSION, product_version(product_id)])
    body = _detail_bytes(product_id, slug)
    versioned.entry_set(key, stamp, body, ttl, meta=product_id)
    return body


def _visible_product_id(slug: str) -> int:
    product_id = visible_products().filter(slug=slug).values_list("id", flat=True).first()
    if product_id is None:
        raise NotFound("No such product.", code="product_not_found")
    return product_id


def _detail_bytes(product_id: int, slug: str) -> bytes:
    crumbs = (
        Category.objects.filter(StartsWith(OuterRef("category__path"), F("path")))
        .order_by("depth")
        .values(json=JSONObject(id="id", name="name", slug="slug"))
    )
    ratings = (
        Review.objects.filter(product=OuterRef("pk"), status=ReviewStatus.PUBLISHED)
        .order_by()
        .values("product")
        .annotate(
            json=JSONObject(**{f"r{n}": Count("id", filter=Q(rating=n)) for n in range(1, 6)})
        )
        .values("json")
    )
    row = (
        visible_products()
        .filter(pk=product_id, slug=slug)
        .annotate(breadcrumbs=ArraySubquery(crumbs), ratings=Subquery(ratings))
        .values(
            *PRODUCT_COLUMNS, "description", "created_at", "updated_at", "breadcrumbs", "ratings"
        )
        .first()
    )
    if row is None:  # renamed or hidden between the id lookup and now
        raise NotFound("No such product.", code="product_not_found")
    images = list(
        ProductImage.objects.filter(product_id=product_id)
        .order_by("position", "id")
        .values("id", "image", "alt", "width", "height", "position")
    )
    attributes = list(
        ProductAttributeValue.objects.filter(product_id=product_id)
        .order_by("definition__position", "definition__code")
        .values(
            "definition__code",
            "definition__name",
            "definition__type",
            "definition__unit",
            "value_text",
        )
    )
    variants = _variants_with_attributes([product_id], detailed=True).get(product_id, [])
    summary = _price_summary(row, variants)
    options: dict[str, dict] = {}
    for variant in variants:
        for a in variant["attribute_rows"]:
            option = options.setdefault(
                a["definition__code"],
                {"code": a["definition__code"], "name": a["definition__name"], "values": []},
            )
            if a["value_text"] not in option["values"]:
                option["values"].append(a["value_text"])
    counts = row["ratings"] or {}
    data = {
        "id": row["id"],
        "name": row["name"],
        "slug": row["slug"],
        "description": row["description"],
        **_refs(row),
        "breadcrumbs": row["breadcrumbs"],
        **summary,
        "is_featured": row["is_featured"],
        "images": [
            {
                **{k: i[k] for k in ("id", "alt", "width", "height", "position")},
                "url": image_url(i["image"]),
            }
            for i in images
        ],
        "attributes": [_attribute_out(a) for a in attributes],
        "options": list(options.values()),
        "variants": [
            {
                "id": v["id"],
                "sku": v["sku"],
                "name": v["name"],
                "price": v["effective_price"],
                "compare_at_price": v["compare_at_price"],
                "in_stock": v["stock_quantity"] > 0,
                "stock_status": _stock_status(v),
                "is_default": v["is_default"],
                "attributes": [_attribute_out(a) for a in v["attribute_rows"]],
            }
            for v in variants
        ],
        "rating": {
            "average": row["rating_avg"],
            "count": row["rating_count"],
            "distribution": {str(n): counts.get(f"r{n}", 0) for n in range(1, 6)},
        },
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }
    return ProductDetailOut.model_validate(data).model_dump_json().encode()


def _attribute_out(row: dict) -> dict[str, str]:
    return {
        "code": row["definition__code"],
        "name": row["definition__name"],
        "type": row["definition__type"],
        "value": row["value_text"],
        "unit": row["definition__unit"],
    }


def _stock_status(variant: dict) -> str:
    if variant["stock_quantity"] <= 0:
        return "out_of_stock"
    if variant["stock_quantity"] <= variant["low_stock_threshold"]:
        return "low_stock"
    return "in_stock"


# -- reviews ------------------------------------------------------------------------------------


def visible_product_for_slug(slug: str) -> Product:
    product = visible_products().filter(slug=slug).only("id", "slug").first()
    if product is None:
        raise NotFound("No such product.", code="product_not_found")
    return product


def published_reviews(product: Product) -> QuerySet[Review]:
    return (
        Review.objects.filter(product=product, status=ReviewStatus.PUBLISHED)
        .select_related("user")
        .only(
            "id",
            "rating",
            "title",
            "body",
            "is_verified_purchase",
            "created_at",
            "user__first_name",
            "user__last_name",
        )
        .order_by("-created_at", "-id")
    )


def review_author(review: Review) -> str:
    first, last = review.user.first_name.strip(), review.user.last_name.strip()
    if not first:
        return "A customer"
    return f"{first} {last[:1]}." if last else first


# -- staff reads --------------------------------------------------------------------------------


def staff_products(*, q: str | None = None, is_active: bool | None = None) -> QuerySet[Product]:
    qs = Product.objects.annotate(
        stock_total=Coalesce(Sum("variants__stock_quantity"), 0),
        variant_count=Count("variants"),
    ).order_by("-updated_at", "-id")
    if q:
        sku = Exists(Variant.objects.filter(product=OuterRef("pk"), sku=q.strip().upper()))
        qs = qs.filter(Q(name__icontains=q) | Q(slug__icontains=q) | Q(sku))
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs


def staff_product(product_id: int) -> Product:
    from django.db.models import Prefetch

    product = (
        Product.objects.filter(pk=product_id)
        .prefetch_related(
            Prefetch(
                "attribute_values",
                queryset=ProductAttributeValue.objects.select_related("definition"),
            ),
            Prefetch(
                "variants",
                queryset=Variant.objects.order_by("position", "id").prefetch_related(
                    Prefetch(
                        "attribute_values",
                        queryset=VariantAttributeValue.objects.select_related("definition"),
                    )
                ),
            ),
            "images",
        )
        .first()
    )
    if product is None:
        raise NotFound("No product with this id.", code="product_not_found")
    return product


def staff_product_data(product: Product) -> dict[str, Any]:
    """StaffProductOut fields of a product loaded by staff_product()."""
    variants = list(product.variants.all())
    return {
        **{
            name: getattr(product, name)
            for name in (
                "id",
                "name",
                "slug",
                "description",
                "category_id",
                "brand_id",
                "base_price",
                "price_min",
                "price_max",
                "is_active",
                "is_featured",
                "rating_avg",
                "rating_count",
                "sales_count",
                "created_at",
                "updated_at",
            )
        },
        "attributes": {v.definition.code: v.value_text for v in product.attribute_values.all()},
        "variants": [staff_variant_data(variant, product) for variant in variants],
        "images": [
            {
                "id": i.pk,
                "url": image_url(i.image.name),
                "alt": i.alt,
                "width": i.width,
                "height": i.height,
                "position": i.position,
            }
            for i in product.images.all()
        ],
    }


def staff_variant_data(variant: Variant, product: Product | None = None) -> dict[str, Any]:
    product = product or variant.product
    return {
        **{
            name: getattr(variant, name)
            for name in (
                "id",
                "product_id",
                "sku",
                "name",
                "price",
                "compare_at_price",
                "stock_quantity",
                "low_stock_threshold",
                "is_active",
                "is_default",
                "position",
            )
        },
        "effective_price": variant.price if variant.price is not None else product.base_price,
        "attributes": {v.definition.code: v.value_text for v in variant.attribute_values.all()},
    }


def low_stock_variants() -> QuerySet[Variant]:
    """Active variants at or under their low-stock threshold (for the low-stock alert)."""
    return (
        Variant.objects.filter(is_active=True, product__is_active=True)
        .filter(stock_quantity__lte=F("low_stock_threshold"))
        .select_related("product")
        .order_by("stock_quantity", "id")
    )


# -- plumbing -----------------------------------------------------------------------------------


def _cached(key: str, versions: list[str], ttl: int, build) -> bytes:
    if not _cache_on():
        return build()
    return versioned.cached_bytes(key, versions=versions, ttl=ttl, build=build)


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _page_rows(count: int, page: int, page_size: int) -> slice:
    pages = max(1, math.ceil(count / page_size))
    if page > pages:
        raise NotFound(
            f"Page {page} does not exist; there are {pages}.",
            code="page_not_found",
            details={"pages": pages},
        )
    offset = (page - 1) * page_size
    return slice(offset, offset + page_size)


def _canonical_params(request: HttpRequest) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, values in sorted(request.GET.lists())
        if name != "page"
        for value in values
    ]


def _page_json(
    page_model: Any,
    request: HttpRequest,
    params: Iterable[tuple[str, str]] | dict,
    count: int,
    page: int,
    page_size: int,
    results: list[dict],
) -> bytes:
    params = list(params.items() if isinstance(params, dict) else params)
    if not any(name == "page_size" for name, _ in params) and page_size != DEFAULT_PAGE_SIZE:
        params.append(("page_size", str(page_size)))
    pages = max(1, math.ceil(count / page_size))
    base = request.build_absolute_uri(request.path)

    def link(number: int) -> str:
        query = urlencode([*params, ("page", str(number))] if number > 1 else params)
        return f"{base}?{query}" if query else base

    data = {
        "count": count,
        "page": page,
        "page_size": page_size,
        "pages": pages,
        "next": link(page + 1) if page < pages else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": results,
    }
    return page_model.model_validate(data).model_dump_json().encode()
