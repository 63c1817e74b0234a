"""Elasticsearch response -> search.base answers (SearchResult, Suggestion)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from products.attribute_values import filter_key
from search.base import (
    AttributeFacet,
    Facets,
    FacetValue,
    PriceBucket,
    ProductHit,
    SearchQuery,
    SearchResult,
    Suggestion,
    VariantHit,
)

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Attribute:
    name: str
    kind: str = "text"
    choices: tuple[str, ...] = ()

    def label(self, value: str) -> str:
        """A value as shoppers read it: the choice as written, Yes/No (as the PG backend does)."""
        if self.kind == "choice":
            for choice in self.choices:
                if choice.casefold() == value:
                    return choice
        if self.kind == "boolean":
            return {"true": "Yes", "false": "No"}.get(value, value)
        return value


@dataclass(frozen=True)
class Labels:
    """What the index does not hold: category names by slug (the facet counts every category on
    the products' paths) and the filterable attributes (code -> Attribute, in display order)."""

    categories: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, Attribute] = field(default_factory=dict)


def money(value: float | int | None) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(CENT)


def edge(bucket: Mapping, side: str) -> Decimal | None:
    """A price bucket's bound as the settings spell it ("25", not "25.00"), like the PG backend."""
    value = bucket.get(side)
    if value is None:
        return None
    number = Decimal(str(value))
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else number


def _variant(source: Mapping) -> VariantHit:
    return VariantHit(
        id=source["variant_id"],
        sku=source["sku"],
        name=source.get("variant_name") or "",
        price=money(source["price"]),
        compare_at_price=money(source.get("compare_at_price")),
        in_stock=bool(source["in_stock"]),
        attributes=dict(source.get("attributes") or {}),
    )


def product_hit(hit: Mapping) -> ProductHit:
    source = hit["_source"]
    inner = hit.get("inner_hits", {}).get("variants", {}).get("hits", {}).get("hits", [])
    variants = tuple(_variant(h["_source"]) for h in inner) or (_variant(source),)
    brand = source.get("brand")
    return ProductHit(
        id=source["product_id"],
        name=source["name"],
        slug=source["slug"],
        brand=dict(brand) if brand else None,
        category=dict(source["category"]),
        price_min=min(v.price for v in variants),
        price_max=max(v.price for v in variants),
        in_stock=any(v.in_stock for v in variants),
        is_featured=bool(source.get("is_featured")),
        image_url=source.get("image_url"),
        rating_avg=money(source.get("rating") or 0),
        rating_count=source.get("rating_count") or 0,
        score=float(hit.get("_score") or 0.0),
        variants=variants,
    )


def _buckets(aggs: Mapping, name: str) -> list[Mapping]:
    return aggs.get(name, {}).get("values", {}).get("buckets", [])


def _count(bucket: Mapping) -> int:
    return int(bucket.get("products", {}).get("value", bucket.get("doc_count", 0)))


def _label(bucket: Mapping, default: str) -> str:
    labels = bucket.get("label", {}).get("buckets", [])
    return labels[0]["key"] if labels else default


def _by_count(values: list[FacetValue]) -> tuple[FacetValue, ...]:
    return tuple(sorted(values, key=lambda v: (-v.count, v.label.casefold(), v.value)))


def facets(aggs: Mapping, query: SearchQuery, labels: Labels) -> Facets:
    brands = [
        FacetValue(
            value=b["key"],
            label=_label(b, b["key"]),
            count=_count(b),
            selected=b["key"] in query.brands,
        )
        for b in _buckets(aggs, "f_brand")
        if _count(b)
    ]
    categories = [
        FacetValue(
            value=b["key"],
            label=labels.categories[b["key"]],
            count=_count(b),
            selected=b["key"] == query.category,
        )
        for b in _buckets(aggs, "f_category")
        if _count(b) and b["key"] in labels.categories
    ]
    prices = tuple(
        PriceBucket(min=edge(b, "from"), max=edge(b, "to"), count=_count(b))
        for b in _buckets(aggs, "f_price")
        if _count(b)
    )
    # code -> value -> count: a filtered code from its own aggregation, others from the shared one.
    values: dict[str, dict[str, int]] = {}
    for b in _buckets(aggs, "f_attributes"):
        code, _, value = b["key"].partition("=")
        if code not in query.attributes:
            values.setdefault(code, {})[value] = _count(b)
    for code in query.attributes:
        for b in _buckets(aggs, f"f_attr:{code}"):
            values.setdefault(code, {})[b["key"].partition("=")[2]] = _count(b)
    attributes = []
    for code, attribute in labels.attributes.items():
        counted = values.get(code, {})
        selected = {filter_key(v) for v in query.attributes.get(code, ())}
        # A selected value keeps its place even when nothing else matches it.
        for value in selected - set(counted):
            counted[value] = 0
        if not counted:
            continue
        attributes.append(
            AttributeFacet(
                code=code,
                name=attribute.name,
                values=_by_count(
                    [
                        FacetValue(
                            value=v, label=attribute.label(v), count=n, selected=v in selected
                        )
                        for v, n in counted.items()
                        if n or v in selected
                    ]
                ),
            )
        )
    return Facets(
        brands=_by_count(brands),
        categories=_by_count(categories),
        prices=prices,
        attributes=tuple(attributes),
    )


def suggestion(response: Mapping, query: SearchQuery, exact: int, below: int) -> str | None:
    """The suggester's best correction, when fewer than `below` products match the words as
    typed (typo-tolerant matches do not count: they are what the correction is about)."""
    if exact >= below or not query.q.strip():
        return None
    for entry in response.get("suggest", {}).get("did_you_mean", []):
        for option in entry.get("options", []):
            text = option.get("text", "").strip()
            if text and text != query.q.strip().lower():
                return text
    return None


def search_result(
    response: Mapping, query: SearchQuery, labels: Labels, *, suggest_below: int
) -> SearchResult:
    aggs = response.get("aggregations", {})
    matching = aggs.get("matching", {})
    total = int(matching.get("total", {}).get("value", 0))
    exact = int(matching.get("exact", {}).get("total", {}).get("value", total))
    hits = tuple(product_hit(h) for h in response.get("hits", {}).get("hits", []))
    return SearchResult(
        total=total,
        hits=hits,
        facets=facets(aggs, query, labels) if query.facets else None,
        suggestion=suggestion(response, query, exact, suggest_below),
    )


def suggestions(response: Mapping, *, limit: int) -> list[Suggestion]:
    """Brands, then categories (three of each at most while products need room), then products
    (the PostgreSQL backend's order); whatever is left over fills up to `limit`."""
    aggs = response.get("aggregations", {})

    def named(agg: str, kind: str) -> list[Suggestion]:
        buckets = aggs.get(agg, {}).get("values", {}).get("buckets", [])
        return [Suggestion(kind=kind, text=_label(b, b["key"]), slug=b["key"]) for b in buckets]

    categories, brands = named("categories", "category"), named("brands", "brand")
    products = [
        Suggestion(kind="product", text=h["_source"]["name"], slug=h["_source"]["slug"])
        for h in response.get("hits", {}).get("hits", [])
    ]
    head = brands[:3] + categories[:3]
    rest = brands[3:] + categories[3:]
    chosen = head + products[: max(limit - len(head), 0)]
    chosen += rest[: max(limit - len(chosen), 0)]
    return chosen[:limit]
