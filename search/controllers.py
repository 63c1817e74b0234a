"""GET /api/search and GET /api/search/autocomplete: public, rate-limit group "search".

Plain Ninja operations like the public catalog routes (products/controllers/public.py): no
permissions or state to need a ninja-extra controller, and building one per request costs time
on the hottest public route.

Both read inside api.db_router.read_from_replica(): search answers may be a moment old, so a
configured read replica serves them (the PostgreSQL backend's SQL takes its cursor from
api.db_router.read_cursor()). Counting a search for the query report writes the primary.
"""

from __future__ import annotations

import math
from collections import defaultdict

from django.http import HttpRequest
from ninja import Query, Router
from ninja_extra.urls import remove_query_param, replace_query_param

from api.controllers import error_responses
from api.db_router import read_from_replica
from api.pagination import MAX_PAGE_SIZE
from products.attribute_values import filter_key
from products.errors import InvalidFilter
from products.models import AttributeDefinition
from search import services
from search.base import SearchQuery
from search.errors import InvalidPriceRange
from search.schemas import AutocompleteOut, AutocompleteParams, SearchOut, SearchParams

router = Router(tags=["search"], auth=None)

RESERVED_PARAMS = {*SearchParams.model_fields}
MAX_ATTRIBUTE_FILTERS = 20
ERRORS = error_responses(422, 429)


def _attributes(request: HttpRequest, params: SearchParams) -> dict[str, tuple[str, ...]]:
    """{code: values} from attr=code:value (unknown codes: 422) and plain ?code=value
    parameters (only codes of filterable attributes; utm_source and the like are ignored)."""
    strict: dict[str, list[str]] = defaultdict(list)
    for item in params.attr:
        code, sep, value = item.partition(":")
        if not sep or not code.strip() or not value.strip():
            raise InvalidFilter(details={"attr": item})
        strict[code.strip().lower()].append(value)
    loose: dict[str, list[str]] = defaultdict(list)
    for name, values in request.GET.lists():
        if name not in RESERVED_PARAMS:
            loose[name.strip().lower()[:50]].extend(values)
    if not strict and not loose:
        return {}
    if any("\x00" in v for values in loose.values() for v in values) or any(
        "\x00" in c for c in loose
    ):
        raise InvalidFilter("Filter names and values may not contain NUL.")
    known = set(
        AttributeDefinition.objects.filter(
            code__in=[*strict, *loose], is_filterable=True
        ).values_list("code", flat=True)
    )
    unknown = sorted(set(strict) - known)
    if unknown:
        raise InvalidFilter("No filterable attribute with these codes.", details={"codes": unknown})
    wanted: dict[str, set[str]] = defaultdict(set)
    for source in (strict, loose):
        for code, values in source.items():
            if code in known:
                wanted[code].update(
                    filter_key(part) for v in values for part in v.split(",") if part.strip()
                )
    if len(wanted) > MAX_ATTRIBUTE_FILTERS:
        raise InvalidFilter("Too many attribute filters.")
    return {code: tuple(sorted(values)) for code, values in wanted.items() if values}


def _link(request: HttpRequest, page: int) -> str:
    url = request.build_absolute_uri()
    return remove_query_param(url, "page") if page == 1 else replace_query_param(url, "page", page)


@router.get("", response={200: SearchOut, **ERRORS}, summary="Search products")
def search(request: HttpRequest, params: Query[SearchParams]):
    """Products matching the words and filters, each with the variants that matched, the total,
    facet counts (brand, category, price ranges, every filterable attribute; each applies every
    other filter but its own) and, when words looked misspelt, a "did you mean" suggestion."""
    if (
        params.price_min is not None
        and params.price_max is not None
        and params.price_min > params.price_max
    ):
        raise InvalidPriceRange(
            details={"price_min": str(params.price_min), "price_max": str(params.price_max)},
        )
    page_size = min(params.page_size, MAX_PAGE_SIZE)
    with read_from_replica():
        query = SearchQuery(
            q=params.q.strip(),
            category=params.category,
            brands=tuple(sorted(set(params.brand))),
            price_min=params.price_min,
            price_max=params.price_max,
            in_stock=params.in_stock,
            attributes=_attributes(request, params),
            sort=params.sort,
            page=params.page,
            page_size=page_size,
            facets=params.facets,
        )
        result = services.search_run(query=query)
    pages = max(1, math.ceil(result.total / page_size))
    return {
        "total": result.total,
        "page": params.page,
        "page_size": page_size,
        "pages": pages,
        "next": _link(request, params.page + 1) if params.page < pages else None,
        "previous": _link(request, params.page - 1) if params.page > 1 else None,
        "hits": result.hits,  # search.base dataclasses: SearchOut renders them
        "facets": result.facets,
        "suggestion": result.suggestion,
    }


@router.get(
    "/autocomplete", response={200: AutocompleteOut, **ERRORS}, summary="Autocomplete a query"
)
def autocomplete(request: HttpRequest, params: Query[AutocompleteParams]):
    """Up to 10 suggestions (brands, categories, products) for what was typed so far; every
    word is a prefix, typos are tolerated ("addi", "adidsa")."""
    with read_from_replica():
        suggestions = services.autocomplete_run(prefix=params.q, limit=params.limit)
    return {"suggestions": suggestions}
