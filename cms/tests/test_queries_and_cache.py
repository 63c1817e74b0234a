"""Bounded queries uncached, one Redis round trip warm, and answers that follow every write and
every banner window without one."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cms import services
from cms.models import (
    CarouselRule,
    HomepageSectionCategory,
    HomepageSectionProduct,
    LinkKind,
    Placement,
    SectionKind,
)
from cms.tests.fixtures import (
    BannerFactory,
    MenuFactory,
    MenuItemFactory,
    PageFactory,
    SectionFactory,
)
from products import services as catalog_services
from products.models import Category
from testing.factories import ProductFactory

pytestmark = pytest.mark.django_db


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(queries), response


class RedisCalls:
    """The commands the default cache's Redis client sends (one per round trip here)."""

    def __init__(self, monkeypatch):
        from redis.client import Redis

        self.commands: list[str] = []
        original = Redis.execute_command

        def counted(client, *args, **options):
            self.commands.append(str(args[0]))
            return original(client, *args, **options)

        monkeypatch.setattr(Redis, "execute_command", counted)


@pytest.fixture
def big_homepage(homepage, catalog):
    """The homepage with many sections of every kind: 6 hero banners, 12 featured categories,
    4 rule carousels and 3 hand-picked ones over 60 products."""
    products = [
        ProductFactory(
            name=f"Tee {n}", slug=f"tee-{n}", category=catalog.apparel, base_price=Decimal("9.00")
        )
        for n in range(60)
    ]
    for n in range(5):
        BannerFactory(title=f"Hero {n}", position=n + 1)
    featured = homepage["featured"]
    for n in range(10):
        category = Category.objects.create(name=f"Cat {n}", slug=f"cat-{n}", parent=catalog.apparel)
        HomepageSectionCategory.objects.create(section=featured, category=category, position=n + 2)
    for n, rule in enumerate(
        [
            CarouselRule.NEWEST,
            CarouselRule.TOP_RATED,
            CarouselRule.FEATURED,
            CarouselRule.BEST_SELLERS,
        ]
    ):
        SectionFactory(kind=SectionKind.PRODUCTS, rule=rule, product_limit=24, position=10 + n)
    for n in range(3):
        picked = SectionFactory(
            kind=SectionKind.PRODUCTS, rule=CarouselRule.MANUAL, position=20 + n
        )
        for position, product in enumerate(products[n * 20 : n * 20 + 20]):
            HomepageSectionProduct.objects.create(
                section=picked, product=product, position=position
            )
    return homepage


@pytest.mark.parametrize("size", ["small", "big"])
def test_the_homepage_runs_at_most_3_queries_uncached(client, settings, request, size):
    request.getfixturevalue("homepage" if size == "small" else "big_homepage")
    settings.CMS_CACHE_ENABLED = False
    n, response = count_queries(client, "/api/cms/homepage")
    sections = response.json()["sections"]
    if size == "big":
        assert len(sections) == 12
        assert sum(len(s.get("products", [])) for s in sections) > 100
    assert n <= 3, n


def test_a_warm_homepage_is_one_redis_round_trip_and_no_query(
    client, homepage, settings, monkeypatch
):
    settings.RATE_LIMITS = {"default": {"ip": "100/min"}}
    first = client.get("/api/cms/homepage")
    calls = RedisCalls(monkeypatch)
    n, warm = count_queries(client, "/api/cms/homepage")
    assert n == 0
    assert warm.content == first.content
    assert calls.commands == ["EVALSHA"]  # the rate limit and the cached bytes together
    assert warm["X-RateLimit-Remaining"] == "98"

    settings.RATE_LIMIT_ENABLED = False
    calls.commands.clear()
    assert client.get("/api/cms/homepage").content == first.content
    assert calls.commands == ["MGET"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/cms/menus/main",
        "/api/cms/footer",
        "/api/cms/banners",
        "/api/cms/guarantees",
        "/api/cms/pages/about",
    ],
)
def test_every_other_answer_is_bounded_and_then_cached(client, catalog, settings, url):
    from cms.models import Footer, FooterColumn, Guarantee, GuaranteeKind

    about = PageFactory(slug="about")
    footer = Footer.objects.create(text="<p>Hi</p>")
    for m in range(3):
        menu = MenuFactory(slug="main" if m == 0 else f"col-{m}")
        FooterColumn.objects.create(footer=footer, menu=menu, position=m)
        for _ in range(8):
            top = MenuItemFactory(menu=menu, kind=LinkKind.CATEGORY, category=catalog.shoes)
            MenuItemFactory(menu=menu, parent=top, kind=LinkKind.PAGE, page=about)
    for n in range(20):
        BannerFactory(placement=Placement.SITE_TOP)
        Guarantee.objects.create(kind=GuaranteeKind.OTHER, title=f"G{n}", is_published=True)
    settings.CMS_CACHE_ENABLED = False
    n, cold = count_queries(client, url)
    assert n <= 3, n
    settings.CMS_CACHE_ENABLED = True
    client.get(url)
    n, warm = count_queries(client, url)
    assert n == 0 and warm.content == cold.content


def test_a_content_write_changes_the_answer_at_once(
    client, homepage, django_capture_on_commit_callbacks
):
    assert len(client.get("/api/cms/homepage").json()["sections"]) == 5
    with django_capture_on_commit_callbacks(execute=True):
        services.content_publish(
            model="cms.homepagesection", ids=[homepage["text"].pk], published=False
        )
    assert len(client.get("/api/cms/homepage").json()["sections"]) == 4


def test_a_catalog_write_changes_the_carousels(
    client, homepage, catalog, django_capture_on_commit_callbacks
):
    first = client.get("/api/cms/homepage").json()["sections"][3]["products"]
    assert first[0]["name"] == "Zen Book"
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.product_update(product_id=catalog.laptop.pk, name="Zen Book Pro")
    assert (
        client.get("/api/cms/homepage").json()["sections"][3]["products"][0]["name"]
        == "Zen Book Pro"
    )


def test_a_banner_window_opens_and_closes_without_a_write(client, homepage, clock, settings):
    """The cached answer lasts until the next start or end, not a second longer."""
    settings.CMS_CACHE_TTL = 3600
    BannerFactory(
        title="Flash sale",
        position=1,
        starts_at=clock.now + timedelta(minutes=10),
        ends_at=clock.now + timedelta(minutes=40),
    )

    def hero_titles():
        return [
            b["title"] for b in client.get("/api/cms/homepage").json()["sections"][0]["banners"]
        ]

    def banner_titles():
        return [b["title"] for b in client.get("/api/cms/banners?placement=home_hero").json()]

    assert hero_titles() == banner_titles() == ["Autumn sale"]
    clock.move(minutes=9, seconds=59)
    assert hero_titles() == banner_titles() == ["Autumn sale"]  # cached, still right
    clock.move(seconds=1)  # the start: no write happened
    assert hero_titles() == banner_titles() == ["Autumn sale", "Flash sale"]
    clock.move(minutes=29, seconds=59)
    assert hero_titles() == banner_titles() == ["Autumn sale", "Flash sale"]
    clock.move(seconds=1)  # the end
    assert hero_titles() == banner_titles() == ["Autumn sale"]


def test_the_entry_expires_in_redis_at_the_boundary(client, homepage, clock, settings):
    from django.core.cache import cache

    settings.CMS_CACHE_TTL = 3600
    BannerFactory(title="Soon", starts_at=clock.now + timedelta(seconds=90))
    client.get("/api/cms/homepage")
    assert 0 < cache.ttl("cms:homepage") <= 90


def test_a_section_with_only_future_banners_appears_when_the_first_starts(client, db, clock):
    SectionFactory(kind=SectionKind.BANNERS, placement=Placement.HOME_STRIP, body="")
    BannerFactory(
        placement=Placement.HOME_STRIP, title="Soon", starts_at=clock.now + timedelta(hours=2)
    )
    assert client.get("/api/cms/homepage").json()["sections"] == []
    clock.move(hours=2)
    sections = client.get("/api/cms/homepage").json()["sections"]
    assert [b["title"] for b in sections[0]["banners"]] == ["Soon"]
