"""The real catalog and search endpoints against a real streaming replica (api/tests/fixtures.py).

Every query of a request is captured on both connections. The public catalog (product list,
product page, category tree, brands, reviews) and search (search, autocomplete) read the replica;
the primary sees only what must stay there: the search's query-report upsert (a write). Carts,
checkout and staff writes never touch the replica, and a request that wrote reads its own write.
A cache fill after a write reads the primary while the replica has not replayed that write, so
no old answer is stored under the new version token (docs/architecture.md §8).
"""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.urls import path

from api.db_router import PRIMARY, REPLICA, read_from_replica
from api.tests.fixtures import replay_pause, replay_resume, sync_replica, where
from products import catalog_pages, services
from products.models import Review, ReviewStatus
from search.pg.backend import PostgresBackend
from testing.factories import ADDRESS, Catalog, UserFactory, bearer, guest_cart, staff_user

# The catalog's fixed statements, prepared per connection (products/catalog_sql.py).
PAGE_ID = "EXECUTE catalog_visible_id"
PAGE = "EXECUTE catalog_product_detail"
VARIANTS = "EXECUTE catalog_variants_detailed"
CARD_VARIANTS = "EXECUTE catalog_variants_compact"

pytestmark = [
    pytest.mark.django_db(transaction=True, databases=[PRIMARY, REPLICA]),
    pytest.mark.usefixtures("replica_db", "clear_cache"),
]


@pytest.fixture
def shop() -> Catalog:
    """The small catalog, a published review of the running shoe, the search index; replayed."""
    catalog = Catalog()
    Review.objects.create(
        product=catalog.runner,
        user=UserFactory(),
        rating=5,
        title="Light",
        body="Ran a marathon in them.",
        status=ReviewStatus.PUBLISHED,
    )
    backend = PostgresBackend()
    backend.setup()
    backend.reindex()
    sync_replica()
    return catalog


@pytest.fixture
def lagging():
    """The replica stops replaying for the test (it keeps receiving), then catches up."""
    replay_pause()
    yield
    replay_resume()
    sync_replica()


# -- reads ----------------------------------------------------------------------------------------
def test_the_catalog_and_search_read_the_replica(client, shop, settings):
    settings.CATALOG_CACHE_ENABLED = False  # every request runs its SQL
    settings.SEARCH_CACHE_TTL = 0
    table = {}
    for name, url in [
        ("product list", "/api/catalog/products?category=shoes&color=blue"),
        ("product page", "/api/catalog/products/road-runner"),
        ("category tree", "/api/catalog/categories"),
        ("category page", "/api/catalog/categories/shoes"),
        ("brand list", "/api/catalog/brands"),
        ("reviews", "/api/catalog/products/road-runner/reviews"),
        ("search", "/api/search?q=runner&brand=acme"),
        ("autocomplete", "/api/search/autocomplete?q=roa"),
    ]:
        response, on_primary, on_replica = where(client, url)
        table[name] = {"primary": on_primary, "replica": on_replica, "body": response.json()}
    print(
        "\nqueries per request:",
        *(f"  {k}: primary {v['primary']}, replica {v['replica']}" for k, v in table.items()),
        sep="\n",
    )

    # The answers are the catalog's (read from the replica's copy of it).
    assert [p["slug"] for p in table["product list"]["body"]["results"]] == ["road-runner"]
    assert table["product page"]["body"]["rating"]["distribution"]["5"] == 1
    assert [c["slug"] for c in table["category tree"]["body"]] == ["apparel", "electronics"]
    assert [b["slug"] for b in table["brand list"]["body"]["results"]] == ["acme", "zenith"]
    assert [r["title"] for r in table["reviews"]["body"]["results"]] == ["Light"]
    assert [h["slug"] for h in table["search"]["body"]["hits"]] == ["road-runner"]
    assert "Road Runner" in [s["text"] for s in table["autocomplete"]["body"]["suggestions"]]

    # Every read on the replica; the primary sees only the search's count for the query report.
    # (A SELECT is named by the first table it reads, a subquery's in hand-written SQL.)
    # (The fixed statements of the catalog are prepared per connection: named by their name.)
    product, category = "SELECT products_product", "SELECT products_categorycount"
    assert {name: (seen["primary"], seen["replica"]) for name, seen in table.items()} == {
        "product list": (
            [],
            ["SELECT products_attributedefinition", product, product, CARD_VARIANTS],
        ),  # which filter codes exist and where; count; the page's cards; their variants
        "product page": ([], [PAGE_ID, PAGE, VARIANTS]),  # id; product; variants
        "category tree": ([], [category]),  # named by its subquery: the categories' counts
        "category page": ([], [category]),
        "brand list": ([], ["SELECT products_brand", "SELECT products_brandcount"]),  # count; page
        "reviews": ([], [product, "SELECT products_review", "SELECT products_review"]),
        "search": (
            ["INSERT"],  # the query report's upsert: a write
            [
                "SELECT search_pg_word",  # the words' analysis
                "SELECT search_synonym",
                "SELECT search_pg_entry",  # does a word belong to a variant
                "BEGIN",
                "SET",  # work_mem for the one statement of hits, total and facets
                "WITH",
                "COMMIT",
            ],
        ),
        "autocomplete": (
            [],
            ["SELECT search_pg_suggestion", "SELECT unnest", "SELECT search_pg_suggestion"],
        ),  # prefixes; the nearest known words; prefixes of the corrected words
    }


# -- writes ---------------------------------------------------------------------------------------
def test_cart_checkout_and_staff_writes_use_the_primary_and_see_their_writes(client, shop, lagging):
    """With the replica frozen, each write answers with what it wrote: none of it reads there."""
    _, token = guest_cart((shop.laptop_16, 1))
    response, on_primary, on_replica = where(
        client,
        "/api/cart/items",
        "post",
        status=201,
        data={"variant_id": shop.runner_blue.pk, "quantity": 2},
        content_type="application/json",
        HTTP_X_CART_TOKEN=token,
    )
    assert {line["sku"]: line["quantity"] for line in response.json()["lines"]} == {
        "ZB-16": 1,
        "RR-BLUE-42": 2,
    }
    assert "INSERT" in on_primary
    assert on_replica == []

    response, on_primary, on_replica = where(
        client,
        "/api/checkout",
        "post",
        status=201,
        data={"email": "guest@example.com", "shipping_address": ADDRESS},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="replica-1",
        HTTP_X_CART_TOKEN=token,
    )
    assert len(response.json()["lines"]) == 2
    assert {"INSERT", "UPDATE"} <= set(on_primary)
    assert on_replica == []

    staff = staff_user("products.*")
    response, on_primary, on_replica = where(
        client,
        f"/api/staff/catalog/products/{shop.runner.pk}",
        "patch",
        data={"name": "Road Runner II"},
        content_type="application/json",
        **bearer(staff),
    )
    assert response.json()["name"] == "Road Runner II"
    assert "UPDATE" in on_primary
    assert on_replica == []


def rename_then_show(request, product_id: int, slug: str):
    """A write, then a catalog read marked safe for the replica, in one request."""
    services.product_update(product_id=product_id, name=request.GET["name"])
    with read_from_replica():
        return HttpResponse(
            catalog_pages.product_detail_json(slug), content_type="application/json"
        )


urlpatterns = [path("rename/<int:product_id>/<slug:slug>", rename_then_show)]


@pytest.mark.urls("api.tests.test_replica_reads")
def test_a_request_that_wrote_reads_the_catalog_from_the_primary(client, shop, lagging, settings):
    settings.CATALOG_CACHE_ENABLED = False
    response, on_primary, on_replica = where(
        client, f"/rename/{shop.runner.pk}/road-runner?name=Trail+Runner", "post"
    )
    assert response.json()["name"] == "Trail Runner"
    assert "UPDATE" in on_primary
    # The page's id, product and variants, after the write: on the primary too.
    assert on_primary[-3:] == [PAGE_ID, PAGE, VARIANTS]
    assert on_replica == []


# -- the catalog cache and a lagging replica ------------------------------------------------------
def test_a_cache_fill_never_stores_what_the_lagging_replica_missed(client, shop, settings):
    page = "/api/catalog/products/road-runner"
    listing = "/api/catalog/products?category=running"
    staff = staff_user("products.*")
    product = "SELECT products_product"
    count = "SELECT products_categorycount"  # a category's list: its categories' counts
    replay_check = "SELECT"  # pg_last_wal_replay_lsn(): how far the replica has replayed

    def rename(name: str, **changes):
        where(
            client,
            f"/api/staff/catalog/products/{shop.runner.pk}",
            "patch",
            data={"name": name, **changes},
            content_type="application/json",
            **bearer(staff),
        )

    # Filled from the replica: the factories wrote no version token, so this first read made
    # them, and they announce no write to wait for.
    response, on_primary, on_replica = where(client, page)
    assert response.json()["name"] == "Road Runner"
    assert (on_primary, on_replica) == ([], [PAGE_ID, PAGE, VARIANTS])

    replay_pause()
    try:
        rename("Road Runner II", base_price="79.00")

        # Uncached, the replica answers as it stands: the old name. A cache fill must not.
        settings.CATALOG_CACHE_ENABLED = False
        assert where(client, page)[0].json()["name"] == "Road Runner"
        settings.CATALOG_CACHE_ENABLED = True

        # The new tokens name a WAL position the replica has not replayed: the primary fills.
        response, on_primary, on_replica = where(client, page)
        assert response.json()["name"] == "Road Runner II"
        assert on_primary == [PAGE, VARIANTS]  # the product, its variants
        assert on_replica == [PAGE_ID, replay_check]  # its id by slug (unchanged); how far
        response, on_primary, on_replica = where(client, listing)
        assert response.json()["results"][0]["name"] == "Road Runner II"
        assert response.json()["results"][0]["price_min"] == "79.00"
        assert (on_primary, on_replica) == ([count, product, CARD_VARIANTS], [replay_check])

        # Stored: served again with no query anywhere.
        assert where(client, page)[1:] == ([], [])
        assert where(client, listing)[1:] == ([], [])
    finally:
        replay_resume()
    sync_replica()

    # Caught up: the fills after the next change read the replica again, once it told it has
    # replayed past the change.
    rename("Road Runner III")
    sync_replica()
    response, on_primary, on_replica = where(client, page)
    assert response.json()["name"] == "Road Runner III"
    assert (on_primary, on_replica) == ([], [PAGE_ID, replay_check, PAGE, VARIANTS])
    response, on_primary, on_replica = where(client, listing)
    assert response.json()["results"][0]["name"] == "Road Runner III"
    # Replayed at least that far, as this process already saw: no question to the replica.
    assert (on_primary, on_replica) == ([], [count, product, CARD_VARIANTS])
