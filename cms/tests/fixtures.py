"""The content tests' factories and fixtures (registered in the root conftest.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import factory
import pytest
from django.utils import timezone

from cms.models import (
    Banner,
    CarouselRule,
    HomepageSection,
    HomepageSectionCategory,
    HomepageSectionProduct,
    Menu,
    MenuItem,
    Page,
    Placement,
    SectionKind,
)


class PageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Page

    slug = factory.Sequence(lambda n: f"page-{n}")
    title = factory.Sequence(lambda n: f"Page {n}")
    body = "<p>Hello</p>"
    is_published = True


class BannerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Banner

    placement = Placement.HOME_HERO
    title = factory.Sequence(lambda n: f"Banner {n}")
    link_url = "/c/apparel"
    is_published = True


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HomepageSection

    kind = SectionKind.TEXT
    title = factory.Sequence(lambda n: f"Section {n}")
    body = "<p>Welcome</p>"
    is_published = True


class MenuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Menu

    slug = factory.Sequence(lambda n: f"menu-{n}")
    title = factory.Sequence(lambda n: f"Menu {n}")


class MenuItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MenuItem

    menu = factory.SubFactory(MenuFactory)
    label = factory.Sequence(lambda n: f"Link {n}")
    url = "https://example.com/"


class Clock:
    """timezone.now(), moved by the test: every reader of the clock (the content answers, the
    models' timestamps) sees the same instant."""

    def __init__(self, monkeypatch) -> None:
        self.now = timezone.now().replace(microsecond=0)
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def move(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    return Clock(monkeypatch)


@pytest.fixture
def homepage(catalog):
    """A homepage over the small catalog: a hero, featured categories, a best-seller carousel
    of Apparel, a hand-picked carousel, a text section."""
    hero = SectionFactory(
        kind=SectionKind.BANNERS, title="", placement=Placement.HOME_HERO, body="", position=0
    )
    BannerFactory(title="Autumn sale", position=0)
    featured = SectionFactory(kind=SectionKind.CATEGORIES, title="Shop by category", position=1)
    for position, category in enumerate([catalog.shoes, catalog.laptops]):
        HomepageSectionCategory.objects.create(
            section=featured, category=category, position=position
        )
    best = SectionFactory(
        kind=SectionKind.PRODUCTS,
        title="Best sellers in Apparel",
        rule=CarouselRule.BEST_SELLERS,
        category=catalog.apparel,
        position=2,
    )
    picked = SectionFactory(
        kind=SectionKind.PRODUCTS, title="Our picks", rule=CarouselRule.MANUAL, position=3
    )
    for position, product in enumerate([catalog.laptop, catalog.runner, catalog.slipper]):
        HomepageSectionProduct.objects.create(section=picked, product=product, position=position)
    text = SectionFactory(kind=SectionKind.TEXT, title="About us", position=4)
    return {"hero": hero, "featured": featured, "best": best, "picked": picked, "text": text}
