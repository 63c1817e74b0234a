"""GET /api/search and /api/search/autocomplete: query parameters and answers.

The answers map search.base one to one, so both backends render the same JSON.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, StringConstraints

from api.pagination import MAX_PAGE_SIZE
from api.schemas import contains_nul
from products.schemas import Money, Slug
from search.base import SORT_KEYS


def _no_nul(value: str) -> str:
    if contains_nul(value):
        raise ValueError("NUL characters are not allowed.")
    return value


QueryText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]
SortParam = Literal[SORT_KEYS]  # type: ignore[valid-type]


class SearchParams(Schema):
    q: QueryText = Field("", description="Free text: words, brands, SKUs; typos are tolerated.")
    category: Slug | None = Field(None, description="Category slug; its subcategories included.")
    brand: list[Slug] = Field(
        default_factory=list, max_length=50, description="Brand slugs (repeat: any of them)."
    )
    price_min: Money | None = Field(None, description="A matching variant costs at least this.")
    price_max: Money | None = Field(None, description="A matching variant costs at most this.")
    in_stock: bool | None = Field(None, description="true: only variants in stock.")
    attr: list[Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]] = Field(
        default_factory=list,
        max_length=50,
        description=(
            "Attribute filters as code:value (repeat for more). Filterable attribute codes "
            "also work as plain parameters: ?color=blue&color=red&size=42. Values of one "
            "code are OR-ed, codes AND-ed; variant attributes match on the same variant."
        ),
    )
    sort: SortParam = Field("relevance", description=", ".join(SORT_KEYS))
    page: int = Field(1, ge=1, le=10_000, description="Page number, from 1.")
    page_size: int = Field(
        20, ge=1, le=10_000, description=f"Hits per page; at most {MAX_PAGE_SIZE} are served."
    )
    facets: bool = Field(True, description="false: skip the facet counts (faster).")


class AutocompleteParams(Schema):
    q: QueryText = Field(..., min_length=1, description="What the shopper typed so far.")
    limit: int = Field(10, ge=1, le=10)


class NamedRefOut(Schema):
    id: int
    name: str
    slug: str


class VariantHitOut(Schema):
    id: int
    sku: str
    name: str
    price: Decimal
    compare_at_price: Decimal | None
    in_stock: bool
    attributes: dict[str, str]


class ProductHitOut(Schema):
    id: int
    name: str
    slug: str
    brand: NamedRefOut | None
    category: NamedRefOut
    price_min: Decimal
    price_max: Decimal
    in_stock: bool
    is_featured: bool
    image_url: str | None
    rating_avg: Decimal
    rating_count: int
    score: float
    variants: list[VariantHitOut] = Field(description="The variants that matched.")


class FacetValueOut(Schema):
    value: str
    label: str
    count: int
    selected: bool


class PriceBucketOut(Schema):
    min: Decimal | None
    max: Decimal | None
    count: int


class AttributeFacetOut(Schema):
    code: str
    name: str
    values: list[FacetValueOut]


class FacetsOut(Schema):
    brands: list[FacetValueOut]
    categories: list[FacetValueOut]
    prices: list[PriceBucketOut]
    attributes: list[AttributeFacetOut]


class SearchOut(Schema):
    total: int = Field(description="Matching products.")
    page: int
    page_size: int
    pages: int
    next: str | None
    previous: str | None
    hits: list[ProductHitOut]
    facets: FacetsOut | None = Field(
        description="Counts of products per value, each with every other filter applied."
    )
    suggestion: str | None = Field(description='"Did you mean": the query with typos fixed.')


class SuggestionOut(Schema):
    kind: Literal["product", "category", "brand"]
    text: str
    slug: str


class AutocompleteOut(Schema):
    suggestions: list[SuggestionOut]
