"""GET /api/search and /api/search/autocomplete over HTTP, on the PostgreSQL backend."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from search.models import SearchQueryStat

pytestmark = pytest.mark.django_db

URL = "/api/search"


def get(client, **params):
    return client.get(URL, params)


def facet(body, name):
    return {v["value"]: v["count"] for v in body["facets"][name]}


def attribute_facet(body, code):
    for f in body["facets"]["attributes"]:
        if f["code"] == code:
            return {v["value"]: v["count"] for v in f["values"]}
    return {}


def test_search_answers_hits_with_matching_variants_total_and_facets(api_client, pg_indexed):
    response = get(api_client, q="running shoes", color="blue", size="42")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3
    hit = body["hits"][0]
    assert set(hit) >= {"id", "name", "slug", "brand", "category", "price_min", "variants"}
    assert all(v["attributes"]["color"] == "blue" for h in body["hits"] for v in h["variants"])
    # Each facet applies every other filter but its own: choosing blue still counts the others.
    colors = attribute_facet(body, "color")
    assert colors["blue"] == 3 and colors["black"] >= 1
    assert body["suggestion"] is None


def test_category_subtree_brand_and_price_filters(api_client, pg_indexed):
    body = get(api_client, category="shoes", brand=["nike", "puma"]).json()
    assert {h["brand"]["slug"] for h in body["hits"]} == {"nike", "puma"}
    assert body["total"] == 6
    # The brand facet ignores the brand filter but keeps the category one.
    brands = facet(body, "brands")
    assert brands["adidas"] == 3 and brands["nike"] == 4
    cheap = get(api_client, category="shoes", price_max="80").json()
    assert {h["name"] for h in cheap["hits"]} == {"Suede Classic XXI", "Chuck Taylor All Star"}
    prices = {(b["min"], b["max"]): b["count"] for b in cheap["facets"]["prices"]}
    assert sum(prices.values()) >= 13  # the price facet ignores the price filter


def test_or_within_an_attribute_and_across_codes(api_client, pg_indexed):
    body = get(api_client, category="shoes", attr=["color:red", "color:green"]).json()
    assert {h["name"] for h in body["hits"]} == {
        "Pegasus 40",
        "Speedcross 6",
        "Suede Classic XXI",
        "Terrex Swift R3",
    }
    both = get(api_client, category="shoes", color="red", size="44").json()
    assert [h["name"] for h in both["hits"]] == ["Pegasus 40"]
    assert [v["sku"] for v in both["hits"][0]["variants"]] == ["NK-PEG40-RED-44"]


def test_in_stock_filters_variants(api_client, pg_indexed):
    body = get(api_client, q="ultraboost", in_stock="true").json()
    skus = {v["sku"] for v in body["hits"][0]["variants"]}
    assert skus == {"ADI-UB22-BLK-43", "ADI-UB22-BLU-42"}  # the white one is sold out


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        ("price_asc", "Café Crème Espresso Beans"),
        ("price_desc", "ThinkPad X1 Carbon"),
    ],
)
def test_sorts(api_client, pg_indexed, sort, first):
    body = get(api_client, sort=sort, facets="false").json()
    assert body["hits"][0]["name"] == first
    assert body["facets"] is None


def test_pagination_caps_the_page_size(api_client, pg_indexed):
    body = get(api_client, page_size=500).json()
    assert body["page_size"] == 100 and body["total"] == 40 and len(body["hits"]) == 40
    page2 = get(api_client, page_size=15, page=2).json()
    assert len(page2["hits"]) == 15 and page2["previous"] and page2["next"]


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "cheapest"},
        {"price_min": "50", "price_max": "10"},
        {"price_min": "-1"},
        {"page": "0"},
        {"q": "x" * 201},
        {"q": "bad\x00"},
        {"attr": "nocolon"},
        {"attr": "unknown_code:1"},
        {"category": "Not A Slug"},
    ],
)
def test_bad_input_is_a_422_in_the_one_error_shape(api_client, pg_indexed, params):
    response = get(api_client, **params)
    assert response.status_code == 422, response.content
    assert set(response.json()) == {"code", "message", "details"}


def test_did_you_mean(api_client, pg_indexed):
    body = get(api_client, q="addidas").json()
    assert body["suggestion"] == "adidas" and body["total"] == 5


def test_statement_count_is_bounded(api_client, pg_indexed):
    with CaptureQueriesContext(connection) as plain:
        get(api_client, q="blue running shoes", brand="nike", price_min="10")
    with CaptureQueriesContext(connection) as attrs:
        get(api_client, q="runing shoes", color=["blue", "red"], size="42", category="shoes")

    # vocabulary, synonyms, SET LOCAL work_mem, hits+total+facets, the query stat upsert
    # (+ the attribute codes). The transaction around the search statement is BEGIN/COMMIT in
    # production; inside the test's transaction it is a savepoint, not counted here.
    def statements(captured):
        return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]

    assert len(statements(plain)) <= 5, statements(plain)
    assert len(statements(attrs)) <= 6, statements(attrs)
    # Words only: one more, the probe for variant words that picks the product cards.
    with CaptureQueriesContext(connection) as words:
        get(api_client, q="running shoes", category="shoes", in_stock="true")
    assert len(statements(words)) <= 6, statements(words)
    assert any("search_pg_card" in sql for sql in statements(words))
    with CaptureQueriesContext(connection) as complete:
        api_client.get(f"{URL}/autocomplete", {"q": "adidsa"})
    assert len(complete) <= 3


def test_queries_are_counted_for_the_report(api_client, pg_indexed):
    get(api_client, q="Zzyzx Gadget")
    get(api_client, q="zzyzx  gadget")
    get(api_client, q="adidas")
    get(api_client, q="adidas", page=2)  # later pages are not new searches
    zero = SearchQueryStat.objects.get(query="zzyzx gadget")
    assert (zero.searches, zero.zero_result_searches) == (2, 2)
    found = SearchQueryStat.objects.get(query="adidas")
    assert (found.searches, found.zero_result_searches) == (1, 0)


def test_autocomplete(api_client, pg_indexed):
    response = api_client.get(f"{URL}/autocomplete", {"q": "addi"})
    assert response.status_code == 200
    suggestions = response.json()["suggestions"]
    assert {"kind": "brand", "text": "Adidas", "slug": "adidas"} in suggestions
    assert 5 < len(api_client.get(f"{URL}/autocomplete", {"q": "a"}).json()["suggestions"]) <= 10
    assert api_client.get(f"{URL}/autocomplete").status_code == 422


def test_admin_pages(admin_client, pg_indexed):
    SearchQueryStat.objects.create(query="unicorn", searches=3, zero_result_searches=3)
    for path in [
        "/admin/search/synonym/",
        "/admin/search/synonym/add/",
        "/admin/search/searchquerystat/",
        "/admin/search/searchquerystat/?results=always",
        "/admin/search/reindexcheckpoint/",
    ]:
        response = admin_client.get(path)
        assert response.status_code == 200, path
    assert b"unicorn" in admin_client.get("/admin/search/searchquerystat/").content
