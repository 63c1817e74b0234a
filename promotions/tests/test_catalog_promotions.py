"""Catalog promotions everywhere a price shows: list, product page, search, cart, checkout and the
order's snapshot; the same query counts; a window boundary refreshes caches and the index."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.cache import versions_get
from orders.controllers import CheckoutController
from orders.models import Order
from orders.selectors import order_detail_by_id
from products.services.events import LISTS_VERSION, product_version
from products.services.products import product_prices_refresh
from promotions.models import OrderDiscount, PromotedPrice, PromotedProductPrice
from promotions.services import promoted_prices_refresh
from testing.factories import (
    ADDRESS,
    AttributeDefinitionFactory,
    CategoryFactory,
    CouponFactory,
    guest_cart,
    make_variant,
    set_value,
)
from testing.promotions import cart_promotion, catalog_promotion

pytestmark = pytest.mark.django_db


def list_item(client, slug, **params):
    response = client.get("/api/catalog/products", {"page_size": 100, **params})
    assert response.status_code == 200, response.content
    return next(i for i in response.json()["results"] if i["slug"] == slug)


@pytest.fixture
def shop():
    """Shoes (under Apparel) at 80.00 and 30.00, a book at 40.00."""
    apparel = CategoryFactory(name="Apparel", slug="apparel")
    shoes = CategoryFactory(name="Shoes", slug="shoes", parent=apparel)
    books = CategoryFactory(name="Books", slug="books")
    return {
        "boot": make_variant(price="80.00", stock=10, category=shoes, name="Boot", slug="boot"),
        "sandal": make_variant(
            price="30.00", stock=10, category=shoes, name="Sandal", slug="sandal"
        ),
        "book": make_variant(price="40.00", stock=10, category=books, name="Book", slug="book"),
        "apparel": apparel,
    }


def test_a_category_promotion_reaches_its_subtree_in_the_list_and_the_product_page(client, shop):
    catalog_promotion(kind="percent", value="25", targets={"categories": [shop["apparel"]]})

    boot = list_item(client, "boot")
    assert (boot["price_min"], boot["compare_at_price"]) == ("60.00", "80.00")
    assert boot["variants"][0]["price"] == "60.00"
    assert boot["variants"][0]["compare_at_price"] == "80.00"
    book = list_item(client, "book")
    assert (book["price_min"], book["compare_at_price"]) == ("40.00", None)
    page = client.get("/api/catalog/products/boot").json()
    assert page["price_min"] == "60.00" and page["variants"][0]["compare_at_price"] == "80.00"
    # the price sort and the price filter read the promoted prices: 22.50, 40.00, 60.00
    ordered = client.get("/api/catalog/products", {"sort": "price"}).json()["results"]
    assert [i["slug"] for i in ordered] == ["sandal", "book", "boot"]
    cheap = client.get("/api/catalog/products", {"price_max": "65"}).json()["results"]
    assert {i["slug"] for i in cheap} == {"boot", "sandal", "book"}
    dear = client.get("/api/catalog/products", {"price_min": "61"}).json()["results"]
    assert dear == []


def test_the_highest_priority_promotion_wins_for_a_variant(client, shop):
    catalog_promotion(
        kind="percent", value="50", priority=0, targets={"products": [shop["boot"].product]}
    )
    catalog_promotion(kind="fixed", value="5.00", priority=9, targets={"variants": [shop["boot"]]})
    assert PromotedPrice.objects.get(variant=shop["boot"]).price == Decimal("75.00")
    assert list_item(client, "boot")["price_min"] == "75.00"


@pytest.mark.parametrize("page_size", [1, 20])
def test_the_list_and_the_product_page_keep_their_query_counts_with_a_promotion(
    client, shop, settings, page_size
):
    settings.CATALOG_CACHE_ENABLED = False
    catalog_promotion(kind="percent", value="25", targets={"categories": [shop["apparel"]]})
    with CaptureQueriesContext(connection) as listed:
        response = client.get("/api/catalog/products", {"page_size": page_size})
    assert response.status_code == 200
    assert len(listed) <= 6, [q["sql"][:80] for q in listed]
    with CaptureQueriesContext(connection) as page:
        assert client.get("/api/catalog/products/boot").json()["price_min"] == "60.00"
    assert len(page) <= 6, [q["sql"][:80] for q in page]


def test_a_window_opening_and_closing_refreshes_the_cached_catalog_and_the_index(
    client, shop, settings, run_tasks
):
    settings.CATALOG_CACHE_ENABLED = True
    now = timezone.now()
    starts, ends = now + timedelta(hours=1), now + timedelta(hours=2)
    catalog_promotion(
        kind="fixed",
        value="10.00",
        starts_at=starts,
        ends_at=ends,
        targets={"variants": [shop["book"]]},
    )
    assert list_item(client, "book")["price_min"] == "40.00"  # cached now, before the window
    tokens = versions_get([LISTS_VERSION, product_version(shop["book"].product_id)])

    with run_tasks():
        moved = promoted_prices_refresh(now=starts + timedelta(seconds=1))
    assert moved == [shop["book"].product_id]
    assert versions_get([LISTS_VERSION, product_version(shop["book"].product_id)]) != tokens
    assert list_item(client, "book")["price_min"] == "30.00"
    hit = client.get("/api/search", {"q": "Book"}).json()["hits"][0]
    assert (hit["price_min"], hit["variants"][0]["compare_at_price"]) == ("30.00", "40.00")
    assert client.get("/api/search", {"q": "Book", "price_max": "35"}).json()["total"] == 1

    with run_tasks():
        assert promoted_prices_refresh(now=starts + timedelta(seconds=2)) == []  # nothing moved
        assert promoted_prices_refresh(now=ends) == [shop["book"].product_id]
    assert list_item(client, "book")["price_min"] == "40.00"
    assert client.get("/api/search", {"q": "Book"}).json()["hits"][0]["price_min"] == "40.00"
    assert not PromotedPrice.objects.exists() and not PromotedProductPrice.objects.exists()


def test_the_cart_the_checkout_and_the_order_keep_the_promoted_price(client, shop):
    catalog_promotion(
        kind="percent", value="25", name="Shoe week", targets={"categories": [shop["apparel"]]}
    )
    _, token = guest_cart((shop["boot"], 2), (shop["book"], 1))
    cart = client.get("/api/cart", HTTP_X_CART_TOKEN=token).json()
    boot = next(line for line in cart["lines"] if line["sku"] == shop["boot"].sku)
    assert (boot["unit_price"], boot["compare_at_price"], boot["promotion"]) == (
        "60.00",
        "80.00",
        "Shoe week",
    )
    # the line was added at 80.00 (before the promotion): the cart flags the move
    assert boot["price_changed"] is True
    assert cart["subtotal"] == "160.00"

    response = client.post(
        "/api/checkout",
        {"email": "a@example.com", "shipping_address": ADDRESS, "accept_price_changes": True},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="promo-1",
        HTTP_X_CART_TOKEN=token,
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert order.subtotal == Decimal("160.00") and order.grand_total == Decimal("160.00")
    line = order.lines.get(sku=shop["boot"].sku)
    assert (line.unit_price, line.line_total) == (Decimal("60.00"), Decimal("120.00"))
    snapshot = OrderDiscount.objects.get(order=order)
    assert (snapshot.line, snapshot.source, snapshot.name) == (line, "catalog", "Shoe week")
    assert (snapshot.amount, snapshot.regular_unit_price) == (Decimal("40.00"), Decimal("80.00"))


def test_the_order_answer_lists_its_discounts_per_line_and_on_the_order(client, shop):
    catalog_promotion(
        kind="percent", value="25", name="Shoe week", targets={"categories": [shop["apparel"]]}
    )
    cart_promotion(name="Free delivery", reward="free_shipping")
    _, token = guest_cart((shop["sandal"], 1))
    response = client.post(
        "/api/checkout",
        {"email": "a@example.com", "shipping_address": ADDRESS, "accept_price_changes": True},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="promo-discounts",
        HTTP_X_CART_TOKEN=token,
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    detail = client.get(f"/api/orders/{order.number}", HTTP_X_ORDER_TOKEN=str(order.token))
    assert detail.status_code == 200
    body = detail.json()
    assert body["lines"][0]["discounts"] == [
        {
            "source": "catalog",
            "name": "Shoe week",
            "kind": "percent",
            "amount": "7.50",
            "regular_unit_price": "30.00",
            "shipping": False,
        }
    ]
    assert [(d["name"], d["kind"], d["amount"], d["shipping"]) for d in body["discounts"]] == [
        ("Free delivery", "free_shipping", "5.00", True)
    ]
    # the checkout's own answer renders the same
    assert response.json()["discounts"] == body["discounts"]


def test_the_checkout_answers_its_order_exactly_as_read_back(client, shop, settings):
    # The checkout renders the rows it wrote without reading them back: the same answer as a read.
    settings.SHIPPING_FREE_THRESHOLD, settings.TAX_RATE = None, Decimal("0.20")
    catalog_promotion(
        kind="percent", value="25", name="Shoe week", targets={"categories": [shop["apparel"]]}
    )
    cart_promotion(name="Free delivery", reward="free_shipping")
    set_value(shop["boot"], AttributeDefinitionFactory(code="size"), "42")
    coupon = CouponFactory(kind="percent", value=Decimal("10.00"))
    _, token = guest_cart((shop["boot"], 2), (shop["book"], 1), (shop["sandal"], 3), coupon=coupon)
    body = {"email": "a@example.com", "shipping_address": ADDRESS, "accept_price_changes": True}
    headers = {"HTTP_IDEMPOTENCY_KEY": "exact", "HTTP_X_CART_TOKEN": token}

    placed = client.post("/api/checkout", body, content_type="application/json", **headers)
    assert placed.status_code == 201, placed.json()
    answer = placed.json()
    assert answer["lines"][0]["attributes"] == {"size": "42"}
    assert {d["source"] for line in answer["lines"] for d in line["discounts"]} == {
        "catalog",
        "coupon",
    }
    assert [d["name"] for d in answer["discounts"]] == ["Free delivery"]
    assert answer["payment"]["status"] == "pending" and answer["history"]
    # as the answer renders the order read back (what a repeat that finishes the job sends)
    read_back = order_detail_by_id(Order.objects.get(number=answer["number"]).pk)
    assert CheckoutController._answer(read_back) == (201, answer)
    replayed = client.post("/api/checkout", body, content_type="application/json", **headers)
    assert (replayed.status_code, replayed.json()) == (201, answer)


@pytest.mark.parametrize("sort", ["price", "-price"])
def test_the_price_sorts_page_exactly_as_one_full_sort(client, shop, settings, sort):
    """The price pages merge promoted and unpromoted products (products/catalog_sql.py
    _price_page); every page matches one sort of everything, ties and products without a
    price included."""
    settings.CATALOG_CACHE_ENABLED = False
    prices = ["12.00", "30.00", "30.00", "55.50", "70.00", "99.00", "30.00", "45.00"]
    extra = [make_variant(price=p, category=shop["apparel"]) for p in prices]
    catalog_promotion(
        kind="percent", value="50", targets={"products": [v.product for v in extra[::3]]}
    )
    no_variant = make_variant(price="10.00", category=shop["apparel"]).product
    no_variant.variants.all().delete()
    product_prices_refresh()  # its price_min becomes NULL: last in both directions
    whole = client.get("/api/catalog/products", {"sort": sort, "page_size": 100}).json()
    assert whole["count"] == 12
    expected = [(i["price_min"], i["id"]) for i in whole["results"]]
    assert len(expected) == 12
    # Without a variant it has no price to sort by (the card shows its base price): last.
    assert expected[-1][1] == no_variant.pk
    priced = [(Decimal(p), i) for p, i in expected[:-1]]
    assert priced == sorted(priced, key=lambda x: x if sort == "price" else (-x[0], -x[1]))
    paged = []
    for page in range(1, 6):
        answer = client.get("/api/catalog/products", {"sort": sort, "page_size": 3, "page": page})
        if answer.status_code == 404:
            break
        paged += [(i["price_min"], i["id"]) for i in answer.json()["results"]]
    assert paged == expected
