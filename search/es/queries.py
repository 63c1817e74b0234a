"""SearchQuery -> the Elasticsearch request body (built with elasticsearch.dsl, no server needed).

Shape of a search request:
- query: the text (or everything) wrapped in function_score (in stock, featured, rating, sales);
- post_filter: every filter, so aggregations see the text matches before the filters;
- aggs: one `filter` aggregation per facet holding every filter but the facet's own, then the
  values with a cardinality of product_id inside each bucket (facets count products, not
  variants); `matching` (all filters) gives the total number of products the same way;
- collapse on product_id, with inner_hits `variants`: the product's variants that matched the
  query and post_filter, cheapest first;
- suggest: a phrase suggester over the `spell` shingles for "did you mean", used when fewer
  than ELASTICSEARCH_SUGGEST_BELOW products match the words as typed (`matching.exact`).
Without facets the filters go into the query's bool filter instead (cheaper, same answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from django.conf import settings
from elasticsearch.dsl import A, Q, Search
from elasticsearch.dsl.query import Query

from products.attribute_values import filter_key
from search.base import SearchQuery
from search.es.documents import attribute_pair

TEXT_FIELDS = [
    "name^4",
    "variant_name^2",
    "brand.name^3",
    "category_path_names^2",
    "attributes_text",
    "description^0.5",
]
FUZZY_FIELDS = ["name.plain^3", "search_text"]
# Edits allowed per word: none up to 2 letters, 1 for 3-4, 2 from 5 ("hoody" finds "hoodie").
FUZZINESS = "AUTO:3,5"
SKU_BOOST = 20
INNER_HITS_SIZE = 100  # = index.max_inner_result_window
MAX_RESULT_WINDOW = 10_000  # index.max_result_window (the default)
HIT_SOURCE_EXCLUDES = ["description", "attributes_text", "attribute_pairs", "category_path_names"]
VARIANT_SOURCE = [
    "variant_id",
    "sku",
    "variant_name",
    "price",
    "compare_at_price",
    "in_stock",
    "attributes",
]
# Cardinality is exact up to its precision threshold (40000 is the maximum ES takes).
TOTAL_PRECISION = 40000
FACET_PRECISION = 3000
FACET_SIZE = 100
ATTRIBUTE_PAIRS_SIZE = 1000

SORTS: dict[str, list] = {
    "relevance": ["_score", {"sales_count": "desc"}, {"product_id": "asc"}],
    "price_asc": [{"price": "asc"}, {"product_id": "asc"}],
    "price_desc": [{"price": "desc"}, {"product_id": "asc"}],
    "newest": [{"created_at": "desc"}, {"product_id": "desc"}],
    "rating": [{"rating": "desc"}, {"rating_count": "desc"}, {"product_id": "asc"}],
    "popularity": [{"sales_count": "desc"}, {"product_id": "asc"}],
}


def boosts() -> list[dict]:
    """function_score functions, multiplied together and into the text score."""
    return [
        {"filter": {"term": {"in_stock": True}}, "weight": 2},
        {"filter": {"term": {"is_featured": True}}, "weight": 1.5},
        # ln(2 + rating): 0.69 for unrated, 1.95 for five stars.
        {"field_value_factor": {"field": "rating", "modifier": "ln2p", "missing": 0}},
        # log10(2 + sales / 10): a gentle lift for what sells.
        {
            "field_value_factor": {
                "field": "sales_count",
                "factor": 0.1,
                "modifier": "log2p",
                "missing": 0,
            }
        },
    ]


def exact_clauses(q: str) -> list[Query]:
    """Every word as typed (or a synonym) somewhere in the product, or the exact SKU."""
    return [
        Q("multi_match", query=q, type="cross_fields", operator="and", fields=TEXT_FIELDS, boost=2),
        Q("term", sku={"value": q, "boost": SKU_BOOST}),
    ]


def text_query(q: str) -> Query:
    """Exact words (with synonyms) and SKUs score highest, then typo-tolerant matches."""
    q = q.strip()
    if not q:
        return Q("match_all")
    # The plain analyzer (no synonyms): fuzziness does not combine with synonym graphs.
    fuzzy = Q(
        "multi_match",
        query=q,
        type="best_fields",
        operator="and",
        fields=FUZZY_FIELDS,
        fuzziness=FUZZINESS,
        prefix_length=1,
        max_expansions=50,
        analyzer="emporium_plain",
    )
    return Q("bool", should=[*exact_clauses(q), fuzzy], minimum_should_match=1)


def scored_query(q: str) -> Query:
    return Q(
        "function_score",
        query=text_query(q),
        functions=boosts(),
        score_mode="multiply",
        boost_mode="multiply",
    )


@dataclass(frozen=True)
class Filters:
    """The filters of a query by facet group: `attr:<code>` per attribute code."""

    by_group: dict[str, Query]

    def all(self) -> list[Query]:
        return list(self.by_group.values())

    def without(self, group: str) -> Query:
        rest = [f for name, f in self.by_group.items() if name != group]
        return Q("bool", filter=rest) if rest else Q("match_all")


def build_filters(query: SearchQuery) -> Filters:
    groups: dict[str, Query] = {}
    if query.category:
        groups["category"] = Q("term", category_path=query.category)
    if query.brands:
        groups["brand"] = Q("terms", **{"brand.slug": list(query.brands)})
    if query.price_min is not None or query.price_max is not None:
        bounds = {}
        if query.price_min is not None:
            bounds["gte"] = float(query.price_min)
        if query.price_max is not None:
            bounds["lte"] = float(query.price_max)
        groups["price"] = Q("range", price=bounds)
    if query.in_stock is not None:
        groups["in_stock"] = Q("term", in_stock=query.in_stock)
    for code in sorted(query.attributes):
        values = query.attributes[code]
        if values:  # several values of one code: OR (terms); codes: AND (separate filters)
            pairs = [attribute_pair(code, filter_key(v)) for v in values]
            groups[f"attr:{code}"] = Q("terms", attribute_pairs=pairs)
    return Filters(groups)


def _products() -> A:
    return A("cardinality", field="product_id", precision_threshold=FACET_PRECISION)


def _code_regex(code: str) -> str:
    return re.sub(r"([^A-Za-z0-9_])", r"\\\1", code) + "=.*"


def price_ranges() -> list[dict]:
    edges = [float(edge) for edge in settings.ELASTICSEARCH_PRICE_RANGES]
    if not edges:
        return [{"key": "*-*"}]
    ranges = [{"key": f"*-{edges[0]:g}", "to": edges[0]}]
    ranges += [{"key": f"{lo:g}-{hi:g}", "from": lo, "to": hi} for lo, hi in pairwise(edges)]
    ranges.append({"key": f"{edges[-1]:g}-*", "from": edges[-1]})
    return ranges


def facet_aggs(search: Search, query: SearchQuery, filters: Filters) -> None:
    by_product = {"products": "desc"}
    brands = search.aggs.bucket("f_brand", "filter", filter=filters.without("brand"))
    values = brands.bucket("values", "terms", field="brand.slug", size=FACET_SIZE, order=by_product)
    values.metric("products", _products())
    values.bucket("label", "terms", field="brand.name.keyword", size=1)

    cats = search.aggs.bucket("f_category", "filter", filter=filters.without("category"))
    cats.bucket("values", "terms", field="category_path", size=FACET_SIZE, order=by_product).metric(
        "products", _products()
    )

    prices = search.aggs.bucket("f_price", "filter", filter=filters.without("price"))
    prices.bucket("values", "range", field="price", ranges=price_ranges()).metric(
        "products", _products()
    )

    # Attributes nobody filters on: one terms aggregation over every "code=value" pair.
    attrs = search.aggs.bucket("f_attributes", "filter", filter=filters.without(""))
    attrs.bucket(
        "values", "terms", field="attribute_pairs", size=ATTRIBUTE_PAIRS_SIZE, order=by_product
    ).metric("products", _products())
    # Each attribute filtered on: its values with every other filter.
    for code in sorted(query.attributes):
        if not query.attributes[code]:
            continue
        own = search.aggs.bucket(f"f_attr:{code}", "filter", filter=filters.without(f"attr:{code}"))
        own.bucket(
            "values",
            "terms",
            field="attribute_pairs",
            include=_code_regex(code),
            size=FACET_SIZE,
            order=by_product,
        ).metric("products", _products())


def search_body(query: SearchQuery) -> dict:
    filters = build_filters(query)
    q = query.q.strip()
    search = Search()
    if query.facets:
        search = search.query(scored_query(q))
        if filters.by_group:
            search = search.post_filter(Q("bool", filter=filters.all()))
    else:
        search = search.query(Q("bool", must=[scored_query(q)], filter=filters.all()))
    search = search.sort(*SORTS[query.sort]).source(excludes=HIT_SOURCE_EXCLUDES)
    search = search.collapse(
        "product_id",
        inner_hits={
            "name": "variants",
            "size": INNER_HITS_SIZE,
            "sort": [{"price": "asc"}, {"variant_id": "asc"}],
            "_source": VARIANT_SOURCE,
        },
    )
    if q:
        search = search.suggest(
            "did_you_mean",
            q,
            phrase={
                "field": "spell",
                "size": 1,
                "gram_size": 3,
                "max_errors": 2,
                "direct_generator": [
                    {"field": "spell", "suggest_mode": "always", "min_word_length": 3}
                ],
            },
        )
    # Elasticsearch pages no deeper than index.max_result_window: beyond it, no hits (the
    # total and facets still answer) rather than an error.
    size = max(0, min(query.page_size, MAX_RESULT_WINDOW - query.offset))
    search = search.extra(
        from_=query.offset if size else 0, size=size, track_total_hits=False, track_scores=True
    )
    # Aggregations last: they are added in place, and every chained call above copies the search.
    if query.facets:
        facet_aggs(search, query, filters)
    matching = search.aggs.bucket("matching", "filter", filter=filters.without(""))
    matching.metric("total", "cardinality", field="product_id", precision_threshold=TOTAL_PRECISION)
    if q:
        # Products found by the words as typed: when none, the answer comes with "did you mean".
        exact = Q("bool", should=exact_clauses(q), minimum_should_match=1)
        matching.bucket("exact", "filter", filter=exact).metric(
            "total", "cardinality", field="product_id", precision_threshold=TOTAL_PRECISION
        )
    return search.to_dict()


def autocomplete_body(prefix: str, *, limit: int) -> dict:
    """Products whose name starts like the prefix (typos allowed), and the brands and categories
    whose names do, counted over searchable products (so every suggestion leads somewhere).

    The query matches any of the three; post_filter keeps product hits to name matches while the
    aggregations see brand and category matches too."""
    prefix = prefix.strip()

    def starts_like(field: str) -> Query:
        return Q(
            "bool",
            should=[
                Q("match", **{field: {"query": prefix, "operator": "and", "boost": 2}}),
                Q(
                    "match",
                    **{
                        field: {
                            "query": prefix,
                            "operator": "and",
                            "fuzziness": "AUTO",
                            "prefix_length": 1,
                        }
                    },
                ),
            ],
            minimum_should_match=1,
        )

    name, brand, category = (
        starts_like("name.autocomplete"),
        starts_like("brand.name.autocomplete"),
        starts_like("category.name.autocomplete"),
    )
    search = Search().query(
        Q(
            "function_score",
            query=Q("bool", should=[name, brand, category], minimum_should_match=1),
            functions=boosts(),
            score_mode="multiply",
            boost_mode="multiply",
        )
    )
    search = search.post_filter(name)
    brands = search.aggs.bucket("brands", "filter", filter=brand)
    brands.bucket("values", "terms", field="brand.slug", size=limit).bucket(
        "label", "terms", field="brand.name.keyword", size=1
    )
    cats = search.aggs.bucket("categories", "filter", filter=category)
    cats.bucket("values", "terms", field="category.slug", size=limit).bucket(
        "label", "terms", field="category.name.keyword", size=1
    )
    search = search.sort("_score", {"sales_count": "desc"}, {"product_id": "asc"})
    search = search.source(["product_id", "name", "slug"]).collapse("product_id")
    return search.extra(size=limit, track_total_hits=False).to_dict()
