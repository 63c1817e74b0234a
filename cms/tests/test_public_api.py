"""The public content API: what the storefront gets, in the catalog's shapes, and 404s and 422s
in the one error shape."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cms.models import LinkKind, Placement
from cms.tests.fixtures import BannerFactory, MenuFactory, MenuItemFactory, PageFactory
from products import services as catalog_services

pytestmark = pytest.mark.django_db


def test_the_homepage_lists_published_sections_with_something_to_show(client, homepage, catalog):
    body = client.get("/api/cms/homepage").json()
    kinds = [(s["kind"], s["title"]) for s in body["sections"]]
    assert kinds == [
        ("banners", ""),
        ("categories", "Shop by category"),
        ("products", "Best sellers in Apparel"),
        ("products", "Our picks"),
        ("text", "About us"),
    ]
    hero, featured, best, picked, text = body["sections"]
    assert [b["title"] for b in hero["banners"]] == ["Autumn sale"]
    assert [(c["slug"], c["url"]) for c in featured["categories"]] == [
        ("shoes", "/c/shoes"),
        ("laptops", "/c/laptops"),
    ]
    assert best["category"]["slug"] == "apparel"
    assert {p["slug"] for p in best["products"]} == {"road-runner", "soft-slipper"}
    # By hand: in the merchant's order.
    assert [p["slug"] for p in picked["products"]] == ["zen-book", "road-runner", "soft-slipper"]
    assert text["body"] == "<p>Welcome</p>"


def test_a_carousel_item_is_the_catalog_list_item(client, homepage):
    picked = client.get("/api/cms/homepage").json()["sections"][3]
    listed = client.get("/api/catalog/products?page_size=100").json()["results"]
    by_slug = {item["slug"]: item for item in listed}
    for item in picked["products"]:
        assert item == by_slug[item["slug"]]


def test_carousels_never_list_what_the_storefront_cannot_sell(
    client, homepage, catalog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.stock_adjust(variant_id=catalog.slipper.variants.get().pk, quantity=0)
        catalog_services.product_update(product_id=catalog.laptop.pk, is_active=False)
    sections = client.get("/api/cms/homepage").json()["sections"]
    picked = next(s for s in sections if s["title"] == "Our picks")
    assert [p["slug"] for p in picked["products"]] == ["road-runner"]
    best = next(s for s in sections if s["title"] == "Best sellers in Apparel")
    assert [p["slug"] for p in best["products"]] == ["road-runner"]

    # A hidden branch hides its products and its featured categories.
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.category_update(category_id=catalog.apparel.pk, is_active=False)
    sections = client.get("/api/cms/homepage").json()["sections"]
    assert "Best sellers in Apparel" not in [s["title"] for s in sections]
    featured = next(s for s in sections if s["kind"] == "categories")
    assert [c["slug"] for c in featured["categories"]] == ["laptops"]


def test_best_sellers_follow_units_sold(client, homepage, catalog):
    from products.models import Product

    Product.objects.filter(pk=catalog.slipper.pk).update(sales_count=40)
    Product.objects.filter(pk=catalog.runner.pk).update(sales_count=3)
    best = client.get("/api/cms/homepage").json()["sections"][2]
    assert [p["slug"] for p in best["products"]] == ["soft-slipper", "road-runner"]


def test_unpublished_and_empty_sections_are_left_out(client, homepage):
    homepage["text"].is_published = False
    homepage["text"].save()
    homepage["picked"].product_items.all().delete()
    titles = [s["title"] for s in client.get("/api/cms/homepage").json()["sections"]]
    assert "About us" not in titles and "Our picks" not in titles


def test_banners_by_placement_inside_their_window(client):
    now = timezone.now()
    BannerFactory(title="Live", placement=Placement.SITE_TOP)
    BannerFactory(title="Later", placement=Placement.SITE_TOP, starts_at=now + timedelta(days=1))
    BannerFactory(title="Over", placement=Placement.SITE_TOP, ends_at=now - timedelta(days=1))
    BannerFactory(title="Draft", placement=Placement.SITE_TOP, is_published=False)
    BannerFactory(title="Hero", placement=Placement.HOME_HERO)
    assert [b["title"] for b in client.get("/api/cms/banners?placement=site_top").json()] == [
        "Live"
    ]
    assert {b["title"] for b in client.get("/api/cms/banners").json()} == {"Live", "Hero"}
    refused = client.get("/api/cms/banners?placement=nowhere")
    assert refused.status_code == 422
    assert set(refused.json()) == {"code", "message", "details"}


def test_a_menu_nests_and_leaves_out_what_cannot_be_shown(client, catalog):
    menu = MenuFactory(slug="main", title="Main")
    shop = MenuItemFactory(
        menu=menu, label="Shop", kind=LinkKind.CATEGORY, category=catalog.apparel
    )
    MenuItemFactory(
        menu=menu, parent=shop, label="Shoes", kind=LinkKind.CATEGORY, category=catalog.shoes
    )
    about = PageFactory(slug="about", title="About us")
    MenuItemFactory(menu=menu, label="About", kind=LinkKind.PAGE, page=about, position=1)
    draft = PageFactory(slug="draft", is_published=False)
    MenuItemFactory(menu=menu, label="Draft", kind=LinkKind.PAGE, page=draft, position=2)
    MenuItemFactory(menu=menu, label="Blog", url="https://blog.example.com/", position=3)
    body = client.get("/api/cms/menus/main").json()
    assert [(i["label"], i["url"]) for i in body["items"]] == [
        ("Shop", "/c/apparel"),
        ("About", "/pages/about"),
        ("Blog", "https://blog.example.com/"),
    ]
    assert [c["label"] for c in body["items"][0]["children"]] == ["Shoes"]
    assert body["items"][1]["page"] == {"slug": "about", "title": "About us"}

    catalog.apparel.is_active = False
    catalog.apparel.save()
    from django.core.cache import cache

    cache.clear()
    labels = [i["label"] for i in client.get("/api/cms/menus/main").json()["items"]]
    assert labels == ["About", "Blog"]  # the hidden branch, with the item under it


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/api/cms/menus/nope", "menu_not_found"),
        ("/api/cms/pages/nope", "content_page_not_found"),
    ],
)
def test_unknown_slugs_are_404s_in_the_error_shape(client, db, url, code):
    response = client.get(url)
    assert response.status_code == 404
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "details"}


def test_a_page_is_served_only_while_published(client):
    PageFactory(slug="returns", title="Returns", body="<p>30 days</p>")
    PageFactory(slug="hidden", is_published=False)
    page = client.get("/api/cms/pages/returns").json()
    assert (page["title"], page["body"]) == ("Returns", "<p>30 days</p>")
    assert client.get("/api/cms/pages/hidden").status_code == 404
    assert client.get("/api/cms/pages/BAD%20SLUG").status_code == 422


def test_free_shipping_guarantee_quotes_the_carts_threshold(client, settings, shop_rules):
    from cms.models import Guarantee, GuaranteeKind

    Guarantee.objects.create(
        kind=GuaranteeKind.FREE_SHIPPING, title="Free shipping over {threshold}", is_published=True
    )
    Guarantee.objects.create(
        kind=GuaranteeKind.RETURNS, title="30-day returns", is_published=True, position=1
    )
    Guarantee.objects.create(kind=GuaranteeKind.SUPPORT, title="Draft", position=2)
    body = client.get("/api/cms/guarantees").json()
    assert [(g["title"], g["threshold"]) for g in body] == [
        ("Free shipping over 50.00 USD", "50.00"),
        ("30-day returns", None),
    ]
    settings.SHIPPING_FREE_THRESHOLD = None  # free shipping off: no such promise
    assert [g["kind"] for g in client.get("/api/cms/guarantees").json()] == ["returns"]


def test_the_footer_has_its_columns_and_text(client):
    from cms.models import Footer, FooterColumn

    footer = Footer.objects.create(text="<p>Hi<script>x()</script></p>", copyright="© Emporium")
    help_menu = MenuFactory(slug="help", title="Help")
    MenuItemFactory(menu=help_menu, label="Contact", url="mailto:help@example.com")
    FooterColumn.objects.create(footer=footer, menu=help_menu)
    body = client.get("/api/cms/footer").json()
    assert body["text"] == "<p>Hi</p>"
    assert body["columns"][0]["title"] == "Help"
    assert body["columns"][0]["items"][0]["url"] == "mailto:help@example.com"


def test_an_empty_footer_and_homepage_are_empty_not_errors(client, db):
    assert client.get("/api/cms/footer").json() == {"text": "", "copyright": "", "columns": []}
    assert client.get("/api/cms/homepage").json() == {"sections": []}
