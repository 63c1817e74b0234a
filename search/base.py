"""The search backend interface: one query in, one answer shape out, whatever the backend.

GET /api/search builds a SearchQuery, asks the backend chosen by SEARCH_BACKEND
(search.backends.get_backend()) and renders the SearchResult; the indexing tasks, the
`init_search` / `search_reindex` commands and the consistency beat task call the rest.

Both backends index the same ProductDocument (search.documents builds them from the database in a
bounded number of queries): the PostgreSQL backend keeps one entry per variant carrying its
product's weighted tsvector (and one card per product), Elasticsearch one document per variant
SKU; both collapse by product at query time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

SortKey = Literal["relevance", "price_asc", "price_desc", "newest", "rating", "popularity"]
SORT_KEYS: tuple[SortKey, ...] = (
    "relevance",
    "price_asc",
    "price_desc",
    "newest",
    "rating",
    "popularity",
)
SuggestionKind = Literal["product", "category", "brand"]


@dataclass(frozen=True)
class SearchQuery:
    """What the client asked for, already validated.

    q: free text ("" lists everything the filters allow, sorted as asked; relevance then means
       featured and in-stock first).
    category: a category slug; the category and its whole subtree match.
    brands: brand slugs (OR).
    price_min / price_max: bounds on the variant price (inclusive); a product matches when one of
       its variants does, and only the matching variants are returned in its hit.
    in_stock: True keeps variants with stock; None does not filter.
    attributes: attribute code -> values; several values of one code are OR, codes are AND. Variant
       attributes filter variants, product attributes filter products.
    facets: False skips the facet counts (cheaper; autocomplete-like callers).
    """

    q: str = ""
    category: str | None = None
    brands: tuple[str, ...] = ()
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool | None = None
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sort: SortKey = "relevance"
    page: int = 1
    page_size: int = 20
    facets: bool = True

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True)
class VariantDocument:
    id: int
    sku: str
    name: str
    price: Decimal
    compare_at_price: Decimal | None
    in_stock: bool
    # code -> value (value_key: the text form, e.g. "blue", "42", "true")
    attributes: Mapping[str, str]


@dataclass(frozen=True)
class ProductDocument:
    """Everything search needs of one active product, read in one go from the database."""

    id: int
    name: str
    slug: str
    description: str
    brand_id: int | None
    brand_name: str
    brand_slug: str
    category_id: int
    category_name: str
    category_slug: str
    # Slugs and names from the root to the product's category (for subtree filters and text).
    category_path_slugs: tuple[str, ...]
    category_path_names: tuple[str, ...]
    is_featured: bool
    rating_avg: Decimal
    rating_count: int
    sales_count: int
    created_at: datetime
    updated_at: datetime
    image_url: str | None
    # Product-level attributes: code -> value.
    attributes: Mapping[str, str]
    # Active variants only; a product without one is not searchable.
    variants: tuple[VariantDocument, ...]


@dataclass(frozen=True)
class VariantHit:
    id: int
    sku: str
    name: str
    price: Decimal
    compare_at_price: Decimal | None
    in_stock: bool
    attributes: Mapping[str, str]


@dataclass(frozen=True)
class ProductHit:
    id: int
    name: str
    slug: str
    brand: Mapping[str, object] | None  # {"id", "name", "slug"}
    category: Mapping[str, object]  # {"id", "name", "slug"}
    price_min: Decimal  # over the matching variants
    price_max: Decimal
    in_stock: bool
    is_featured: bool
    image_url: str | None
    rating_avg: Decimal
    rating_count: int
    score: float
    variants: tuple[VariantHit, ...]  # the variants that matched the query and filters


@dataclass(frozen=True)
class FacetValue:
    value: str  # what the filter takes back (a slug, an attribute value)
    label: str
    count: int  # products, with every other filter applied but this facet's own
    selected: bool = False


@dataclass(frozen=True)
class PriceBucket:
    min: Decimal | None  # inclusive; None: open
    max: Decimal | None  # exclusive; None: open
    count: int


@dataclass(frozen=True)
class AttributeFacet:
    code: str
    name: str
    values: tuple[FacetValue, ...]


@dataclass(frozen=True)
class Facets:
    brands: tuple[FacetValue, ...] = ()
    categories: tuple[FacetValue, ...] = ()
    prices: tuple[PriceBucket, ...] = ()
    attributes: tuple[AttributeFacet, ...] = ()


@dataclass(frozen=True)
class SearchResult:
    total: int  # products
    hits: tuple[ProductHit, ...]
    facets: Facets | None
    suggestion: str | None = None  # "did you mean", when nothing or little matched


@dataclass(frozen=True)
class Suggestion:
    kind: SuggestionKind
    text: str
    slug: str


@dataclass(frozen=True)
class IndexReport:
    indexed: int = 0
    removed: int = 0


@dataclass(frozen=True)
class ConsistencyReport:
    indexed: int  # products in the index
    expected: int  # searchable products in the database
    missing: tuple[int, ...] = ()  # product ids not in the index
    extra: tuple[int, ...] = ()  # product ids in the index that should not be
    stale: tuple[int, ...] = ()  # sampled documents that differ from the database
    repaired: bool = False

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.extra or self.stale) and self.indexed == self.expected


Progress = Callable[[int], None]  # called with the number of products just processed


class SearchBackend(ABC):
    name: str

    @classmethod
    def from_settings(cls) -> SearchBackend:
        """The backend configured by the settings (search.backends.get_backend)."""
        return cls()

    @abstractmethod
    def ping(self) -> None:
        """Raise unless the backend answers (readiness check)."""

    @abstractmethod
    def setup(self) -> None:
        """Create what the backend needs (index, mappings, alias); safe to run again."""

    @abstractmethod
    def search(self, query: SearchQuery) -> SearchResult: ...

    @abstractmethod
    def autocomplete(self, prefix: str, *, limit: int = 10) -> list[Suggestion]: ...

    @abstractmethod
    def index_products(self, product_ids: list[int]) -> IndexReport:
        """Re-read these products and index them; ids that are gone or not searchable leave."""

    @abstractmethod
    def reindex(
        self, *, batch_size: int = 500, resume: bool = False, progress: Progress | None = None
    ) -> IndexReport:
        """Rebuild everything in bulk, without going dark; `resume` carries on an interrupted
        run from its checkpoint (search.models.ReindexCheckpoint)."""

    @abstractmethod
    def check_consistency(self, *, sample: int = 50, repair: bool = True) -> ConsistencyReport:
        """Compare the index with the database (counts, ids, `sample` documents) and, with
        `repair`, fix what drifted."""

    def synonyms_changed(self) -> None:
        """The synonyms table changed (a backend that compiles them into its index reloads)."""
        return None
