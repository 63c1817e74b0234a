"""The Elasticsearch backend's requests, built without a server: mappings and analysis, the search
body for each kind of query, autocomplete, alias swaps and bulk actions; and the parsing of a
response in the shape Elasticsearch returns."""

from __future__ import annotations

from decimal import Decimal

import pytest

from search.base import SORT_KEYS, SearchQuery
from search.es import documents, mapping, queries, results
from search.es.backend import swap_alias_actions
from search.tests.es_support import product, variant


def _filters(body: dict) -> list[dict]:
    return body["post_filter"]["bool"]["filter"]


def _agg_filter(body: dict, name: str) -> dict:
    return body["aggs"][name]["filter"]


# -- mapping and analysis ---------------------------------------------------------------------


def test_index_maps_one_document_per_variant_with_strict_fields(settings):
    body = mapping.index_body()
    props = body["mappings"]["properties"]
    assert body["mappings"]["dynamic"] == "strict"
    assert body["mappings"]["_meta"] == {"mapping_version": mapping.MAPPING_VERSION}
    for name in ("sku", "product_id", "name", "slug", "brand", "category_path", "price",
                 "in_stock", "attributes", "rating", "sales_count"):  # fmt: skip
        assert name in props
    assert props["product_id"]["type"] == "long"  # collapse key: single-valued with doc values
    assert props["price"] == {"type": "scaled_float", "scaling_factor": 100}
    assert props["category_path"]["type"] == "keyword"
    assert props["attribute_pairs"]["type"] == "keyword"
    assert props["attributes"]["type"] == "flattened"
    assert props["brand"]["properties"]["slug"]["type"] == "keyword"
    assert props["sku"]["normalizer"] == "emporium_lower"


def test_text_fields_fold_accents_and_search_with_updateable_synonyms(settings):
    settings.ELASTICSEARCH_SYNONYMS_SET = "test-synonyms"
    body = mapping.index_body()
    analysis = body["settings"]["analysis"]
    name = body["mappings"]["properties"]["name"]
    assert name["analyzer"] == "emporium_text"
    assert name["search_analyzer"] == "emporium_search"
    assert name["fields"]["autocomplete"]["analyzer"] == "emporium_autocomplete"
    assert name["fields"]["plain"]["analyzer"] == "emporium_plain"
    assert name["copy_to"] == ["search_text", "spell"]
    assert body["mappings"]["properties"]["spell"]["analyzer"] == "emporium_shingles"
    assert body["mappings"]["properties"]["search_text"]["analyzer"] == "emporium_plain"
    search = analysis["analyzer"]["emporium_search"]["filter"]
    assert search[:3] == ["lowercase", "emporium_ascii", "emporium_synonyms"]
    assert analysis["filter"]["emporium_ascii"] == {"type": "asciifolding"}
    assert analysis["filter"]["emporium_synonyms"] == {
        "type": "synonym_graph",
        "synonyms_set": "test-synonyms",
        "updateable": True,
        "lenient": True,
    }
    # The index-time analyzer has no synonyms (updateable filters are search-time only).
    assert "emporium_synonyms" not in analysis["analyzer"]["emporium_text"]["filter"]
    assert analysis["filter"]["emporium_edge_ngram"]["type"] == "edge_ngram"


def test_building_index_has_no_replicas_or_refresh_until_it_goes_live(settings):
    settings.ELASTICSEARCH_REPLICAS = 2
    building = mapping.index_body(building=True)["settings"]
    assert building["number_of_replicas"] == 0
    assert building["refresh_interval"] == "-1"
    assert mapping.live_settings() == {"number_of_replicas": 2, "refresh_interval": "1s"}
    assert mapping.index_body()["settings"]["number_of_replicas"] == 2


def test_new_index_names_carry_the_alias_and_a_timestamp(settings):
    settings.ELASTICSEARCH_INDEX_ALIAS = "shop"
    assert mapping.new_index_name().startswith("shop-2")


def test_synonym_rules_come_from_solr_lines():
    assert mapping.synonym_rules(["sneakers, trainers", "tv, television"]) == [
        {"id": "rule-1", "synonyms": "sneakers, trainers"},
        {"id": "rule-2", "synonyms": "tv, television"},
    ]


# -- search requests --------------------------------------------------------------------------


def test_text_query_matches_words_with_synonyms_skus_and_typos():
    body = queries.search_body(SearchQuery(q="Red Shoe"))
    scored = body["query"]["function_score"]
    exact, sku, fuzzy = scored["query"]["bool"]["should"]
    assert exact["multi_match"]["type"] == "cross_fields"
    assert exact["multi_match"]["operator"] == "and"
    assert exact["multi_match"]["fields"][:3] == ["name^4", "variant_name^2", "brand.name^3"]
    assert "category_path_names^2" in exact["multi_match"]["fields"]
    assert sku == {"term": {"sku": {"value": "Red Shoe", "boost": queries.SKU_BOOST}}}
    assert fuzzy["multi_match"]["fuzziness"] == "AUTO:3,5"
    assert fuzzy["multi_match"]["analyzer"] == "emporium_plain"
    assert "search_text" in fuzzy["multi_match"]["fields"]
    assert body["suggest"]["did_you_mean"]["text"] == "Red Shoe"
    assert body["suggest"]["did_you_mean"]["phrase"]["field"] == "spell"
    exact = body["aggs"]["matching"]["aggs"]["exact"]["filter"]["bool"]["should"]
    assert exact == [scored["query"]["bool"]["should"][0], sku]


def test_function_score_boosts_stock_featured_rating_and_sales():
    scored = queries.search_body(SearchQuery(q="shoe"))["query"]["function_score"]
    assert scored["score_mode"] == "multiply"
    assert scored["boost_mode"] == "multiply"
    functions = scored["functions"]
    assert {"filter": {"term": {"in_stock": True}}, "weight": 2} in functions
    assert {"filter": {"term": {"is_featured": True}}, "weight": 1.5} in functions
    fields = [f["field_value_factor"]["field"] for f in functions if "field_value_factor" in f]
    assert fields == ["rating", "sales_count"]


def test_empty_text_lists_everything_boosted_without_a_suggester():
    body = queries.search_body(SearchQuery())
    assert body["query"]["function_score"]["query"] == {"match_all": {}}
    assert "suggest" not in body
    assert "post_filter" not in body


def test_filters_go_to_post_filter_on_the_variant_fields():
    query = SearchQuery(
        category="shoes",
        brands=("acme", "zeta"),
        price_min=Decimal("10"),
        price_max=Decimal("99.99"),
        in_stock=True,
        attributes={"color": ("red", "blue"), "size": ("42",)},
    )
    assert _filters(queries.search_body(query)) == [
        {"term": {"category_path": "shoes"}},  # the category and its whole subtree
        {"terms": {"brand.slug": ["acme", "zeta"]}},
        {"range": {"price": {"gte": 10.0, "lte": 99.99}}},
        {"term": {"in_stock": True}},
        {"terms": {"attribute_pairs": ["color=red", "color=blue"]}},  # OR within a code
        {"terms": {"attribute_pairs": ["size=42"]}},  # AND across codes
    ]


def test_each_facet_applies_every_filter_but_its_own():
    query = SearchQuery(
        category="shoes", brands=("acme",), price_min=Decimal("5"), attributes={"color": ("red",)}
    )
    body = queries.search_body(query)
    brand, category, price = (
        {"terms": {"brand.slug": ["acme"]}},
        {"term": {"category_path": "shoes"}},
        {"range": {"price": {"gte": 5.0}}},
    )
    color = {"terms": {"attribute_pairs": ["color=red"]}}
    assert _agg_filter(body, "f_brand")["bool"]["filter"] == [category, price, color]
    assert _agg_filter(body, "f_category")["bool"]["filter"] == [brand, price, color]
    assert _agg_filter(body, "f_price")["bool"]["filter"] == [category, brand, color]
    assert _agg_filter(body, "f_attr:color")["bool"]["filter"] == [category, brand, price]
    assert _agg_filter(body, "f_attributes")["bool"]["filter"] == [category, brand, price, color]
    assert _agg_filter(body, "matching")["bool"]["filter"] == [category, brand, price, color]
    own = body["aggs"]["f_attr:color"]["aggs"]["values"]["terms"]
    assert own["field"] == "attribute_pairs"
    assert own["include"] == "color=.*"


def test_facets_count_distinct_products_not_variants():
    body = queries.search_body(SearchQuery(q="x"))
    for name in ("f_brand", "f_category", "f_price", "f_attributes"):
        values = body["aggs"][name]["aggs"]["values"]
        assert values["aggs"]["products"]["cardinality"]["field"] == "product_id"
    assert body["aggs"]["f_brand"]["aggs"]["values"]["terms"]["order"] == {"products": "desc"}
    assert body["aggs"]["f_category"]["aggs"]["values"]["terms"]["field"] == "category_path"
    total = body["aggs"]["matching"]["aggs"]["total"]["cardinality"]
    assert total == {"field": "product_id", "precision_threshold": 40000}
    assert body["track_total_hits"] is False


def test_price_facet_buckets_come_from_settings(settings):
    settings.ELASTICSEARCH_PRICE_RANGES = ["50", "100"]
    body = queries.search_body(SearchQuery())
    ranges = body["aggs"]["f_price"]["aggs"]["values"]["range"]["ranges"]
    assert ranges == [
        {"key": "*-50", "to": 50.0},
        {"key": "50-100", "from": 50.0, "to": 100.0},
        {"key": "100-*", "from": 100.0},
    ]


def test_price_bucket_bounds_read_as_the_settings_spell_them():
    assert str(results.edge({"from": 1000.0}, "from")) == "1000"
    assert str(results.edge({"to": 12.5}, "to")) == "12.5"
    assert results.edge({}, "to") is None


def test_attribute_values_are_filtered_in_their_canonical_form():
    body = queries.search_body(SearchQuery(attributes={"color": ("Blue",), "size": ("42.0",)}))
    assert _filters(body) == [
        {"terms": {"attribute_pairs": ["color=blue"]}},
        {"terms": {"attribute_pairs": ["size=42"]}},
    ]


def test_without_facets_filters_go_into_the_query_and_no_facet_is_asked():
    body = queries.search_body(SearchQuery(q="x", brands=("acme",), facets=False))
    assert "post_filter" not in body
    assert set(body["aggs"]) == {"matching"}
    bool_query = body["query"]["bool"]
    assert bool_query["filter"] == [{"terms": {"brand.slug": ["acme"]}}]
    assert "function_score" in bool_query["must"][0]


def test_results_are_collapsed_by_product_with_the_matching_variants():
    body = queries.search_body(SearchQuery(q="x"))
    collapse = body["collapse"]
    assert collapse["field"] == "product_id"
    inner = collapse["inner_hits"]
    assert inner["name"] == "variants"
    assert inner["sort"][0] == {"price": "asc"}
    assert "sku" in inner["_source"]
    assert "description" in body["_source"]["excludes"]


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("relevance", "_score"),
        ("price_asc", {"price": "asc"}),
        ("price_desc", {"price": "desc"}),
        ("newest", {"created_at": "desc"}),
        ("rating", {"rating": "desc"}),
        ("popularity", {"sales_count": "desc"}),
    ],
)
def test_each_sort(sort, first):
    body = queries.search_body(SearchQuery(q="x", sort=sort))
    assert body["sort"][0] == first
    assert any("product_id" in key for key in body["sort"][-1:])  # stable across pages


def test_every_sort_key_has_a_sort():
    assert set(queries.SORTS) == set(SORT_KEYS)


def test_pagination_counts_collapsed_products():
    body = queries.search_body(SearchQuery(page=3, page_size=15))
    assert (body["from"], body["size"]) == (30, 15)


def test_pages_beyond_the_result_window_ask_for_no_hits_instead_of_failing():
    last = queries.search_body(SearchQuery(page=100, page_size=100))
    assert (last["from"], last["size"]) == (9900, 100)
    partial = queries.search_body(SearchQuery(page=334, page_size=30))
    assert (partial["from"], partial["size"]) == (9990, 10)
    beyond = queries.search_body(SearchQuery(page=101, page_size=100))
    assert (beyond["from"], beyond["size"]) == (0, 0)
    assert "matching" in beyond["aggs"]


def test_autocomplete_asks_products_brands_and_categories_typo_tolerant():
    body = queries.autocomplete_body("snea", limit=10)
    assert body["size"] == 10
    assert body["collapse"] == {"field": "product_id"}
    name_clause = body["post_filter"]["bool"]["should"]
    assert name_clause[0]["match"]["name.autocomplete"]["query"] == "snea"
    assert name_clause[1]["match"]["name.autocomplete"]["fuzziness"] == "AUTO"
    brand_field = body["aggs"]["brands"]["filter"]["bool"]["should"][1]["match"]
    assert brand_field["brand.name.autocomplete"]["fuzziness"] == "AUTO"
    assert body["aggs"]["brands"]["aggs"]["values"]["terms"]["field"] == "brand.slug"
    assert body["aggs"]["categories"]["aggs"]["values"]["terms"]["field"] == "category.slug"


# -- indexing requests ------------------------------------------------------------------------


def test_a_product_becomes_one_document_per_variant():
    doc = product(
        7,
        "Trail Runner",
        variant(71, price="59.90", color="red", size="42"),
        variant(72, price="64.90", in_stock=False, color="blue", size="42"),
    )
    sources = documents.product_sources(doc)
    assert set(sources) == {"71", "72"}
    red = sources["71"]
    assert red["product_id"] == 7
    assert red["sku"] == "SKU-71"
    assert red["price"] == 59.90
    assert red["in_stock"] is True
    assert red["category_path"] == ["clothing", "shoes"]
    assert red["brand"] == {"id": 1, "name": "Acme", "slug": "acme"}
    assert red["attributes"] == {"material": "leather", "color": "red", "size": "42"}
    assert red["attribute_pairs"] == ["color=red", "material=leather", "size=42"]
    assert red["attributes_text"] == ["color red", "material leather", "size 42"]
    assert sources["72"]["in_stock"] is False


def test_bulk_actions_index_documents_and_delete_stale_ones():
    doc = product(7, "Trail Runner", variant(71))
    actions = documents.index_actions("shop", [doc]) + documents.delete_actions("shop", ["70"])
    assert actions[0]["_op_type"] == "index"
    assert (actions[0]["_index"], actions[0]["_id"]) == ("shop", "71")
    assert actions[1] == {"_op_type": "delete", "_index": "shop", "_id": "70"}


def test_alias_swap_is_one_atomic_request():
    assert swap_alias_actions("shop", ["shop-2", "shop-1"], "shop-3") == [
        {"remove": {"index": "shop-1", "alias": "shop"}},
        {"remove": {"index": "shop-2", "alias": "shop"}},
        {"add": {"index": "shop-3", "alias": "shop"}},
    ]
    assert swap_alias_actions("shop", [], "shop-1") == [
        {"add": {"index": "shop-1", "alias": "shop"}}
    ]


# -- parsing a response -----------------------------------------------------------------------


def _bucket(key, products, **extra):
    return {"key": key, "doc_count": products * 2, "products": {"value": products}, **extra}


def recorded_response() -> dict:
    """A response in the shape Elasticsearch returns for search_body()."""
    variant_hit = {
        "_id": "71",
        "_score": None,
        "_source": {
            "variant_id": 71,
            "sku": "SKU-71",
            "variant_name": "red",
            "price": 59.9,
            "compare_at_price": 79.0,
            "in_stock": True,
            "attributes": {"color": "red"},
        },
    }
    return {
        "took": 3,
        "hits": {
            "total": {"value": 2, "relation": "eq"},
            "hits": [
                {
                    "_id": "71",
                    "_score": 3.5,
                    "_source": {
                        "product_id": 7,
                        "name": "Trail Runner",
                        "slug": "trail-runner",
                        "brand": {"id": 1, "name": "Acme", "slug": "acme"},
                        "category": {"id": 2, "name": "Shoes", "slug": "shoes"},
                        "price": 59.9,
                        "in_stock": True,
                        "is_featured": True,
                        "rating": 4.5,
                        "rating_count": 2,
                        "image_url": None,
                    },
                    "fields": {"product_id": [7]},
                    "inner_hits": {
                        "variants": {
                            "hits": {
                                "hits": [
                                    variant_hit,
                                    {
                                        **variant_hit,
                                        "_source": {
                                            **variant_hit["_source"],
                                            "variant_id": 72,
                                            "sku": "SKU-72",
                                            "price": 64.9,
                                            "in_stock": False,
                                        },
                                    },
                                ]
                            }
                        }
                    },
                }
            ],
        },
        "aggregations": {
            "matching": {
                "doc_count": 2,
                "total": {"value": 1},
                "exact": {"doc_count": 0, "total": {"value": 0}},  # found only through typos
            },
            "f_brand": {
                "values": {
                    "buckets": [
                        _bucket("zeta", 1, label={"buckets": [{"key": "Zeta", "doc_count": 1}]}),
                        _bucket("acme", 3, label={"buckets": [{"key": "Acme", "doc_count": 6}]}),
                    ]
                }
            },
            "f_category": {
                "values": {
                    "buckets": [_bucket("clothing", 4), _bucket("shoes", 3), _bucket("gone", 1)]
                }
            },
            "f_price": {
                "values": {
                    "buckets": [
                        _bucket("*-50.0", 0, to=50.0),
                        _bucket("50.0-*", 3, **{"from": 50.0}),
                    ]
                }
            },
            "f_attributes": {
                "values": {
                    "buckets": [
                        _bucket("color=red", 3),  # ignored: color has its own aggregation
                        _bucket("size=42", 2),
                        _bucket("internal=x", 2),  # not a filterable attribute
                    ]
                }
            },
            "f_attr:color": {
                "values": {"buckets": [_bucket("color=red", 1), _bucket("color=blue", 2)]}
            },
        },
        "suggest": {
            "did_you_mean": [
                {"text": "trial runer", "options": [{"text": "trail runner", "score": 0.2}]}
            ]
        },
    }


def test_response_becomes_a_search_result():
    query = SearchQuery(q="trial runer", brands=("acme",), attributes={"color": ("Red",)})
    labels = results.Labels(
        categories={"clothing": "Clothing", "shoes": "Shoes"},
        attributes={
            "color": results.Attribute("Colour", "choice", ("Red", "Blue")),
            "size": results.Attribute("Size"),
        },
    )
    result = results.search_result(recorded_response(), query, labels, suggest_below=1)
    assert result.total == 1
    (hit,) = result.hits
    assert (hit.id, hit.name, hit.slug, hit.score) == (7, "Trail Runner", "trail-runner", 3.5)
    assert hit.brand == {"id": 1, "name": "Acme", "slug": "acme"}
    assert [v.sku for v in hit.variants] == ["SKU-71", "SKU-72"]
    assert (hit.price_min, hit.price_max) == (Decimal("59.90"), Decimal("64.90"))
    assert hit.variants[0].compare_at_price == Decimal("79.00")
    assert hit.in_stock is True
    assert hit.rating_avg == Decimal("4.50")
    facets = result.facets
    assert [(b.value, b.label, b.count, b.selected) for b in facets.brands] == [
        ("acme", "Acme", 3, True),
        ("zeta", "Zeta", 1, False),
    ]
    assert [(c.value, c.label, c.count) for c in facets.categories] == [
        ("clothing", "Clothing", 4),
        ("shoes", "Shoes", 3),
    ]
    assert [(str(p.min), str(p.max), p.count) for p in facets.prices] == [("50", "None", 3)]
    color, size = facets.attributes
    assert (color.code, color.name) == ("color", "Colour")
    assert [(v.value, v.label, v.count, v.selected) for v in color.values] == [
        ("blue", "Blue", 2, False),
        ("red", "Red", 1, True),
    ]
    assert [(v.value, v.count) for v in size.values] == [("42", 2)]
    assert result.suggestion == "trail runner"


def test_no_suggestion_when_the_words_as_typed_match():
    response = recorded_response()
    response["aggregations"]["matching"]["exact"]["total"]["value"] = 1
    query = SearchQuery(q="trial runer", facets=False)
    result = results.search_result(response, query, results.Labels(), suggest_below=1)
    assert result.suggestion is None
    assert result.facets is None
    # A looser threshold: fewer than 2 exact matches still earn a suggestion.
    result = results.search_result(response, query, results.Labels(), suggest_below=2)
    assert result.suggestion == "trail runner"


def test_autocomplete_response_mixes_brands_categories_and_products():
    response = {
        "hits": {
            "hits": [
                {"_source": {"product_id": n, "name": f"Sneaker {n}", "slug": f"sneaker-{n}"}}
                for n in range(1, 10)
            ]
        },
        "aggregations": {
            "categories": {
                "values": {
                    "buckets": [{"key": "sneakers", "label": {"buckets": [{"key": "Sneakers"}]}}]
                }
            },
            "brands": {
                "values": {
                    "buckets": [{"key": "sneaky", "label": {"buckets": [{"key": "Sneaky"}]}}]
                }
            },
        },
    }
    found = results.suggestions(response, limit=10)
    assert len(found) == 10
    assert [(s.kind, s.text, s.slug) for s in found[:3]] == [
        ("brand", "Sneaky", "sneaky"),
        ("category", "Sneakers", "sneakers"),
        ("product", "Sneaker 1", "sneaker-1"),
    ]
