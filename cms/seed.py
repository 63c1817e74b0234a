"""The demo shop's content, over whatever catalog is there (the demo one, from products/seed.py):
four pages, a main menu built from the category tree, the footer's help and company menus, the
guarantees, hero banners (one of them scheduled for next week) and a homepage.

A no-op when content exists (`reset` replaces it); part of `manage.py seed_demo`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from cms.events import content_changed_on_commit
from cms.models import (
    Banner,
    CarouselRule,
    Footer,
    FooterColumn,
    Guarantee,
    GuaranteeKind,
    HomepageSection,
    HomepageSectionCategory,
    HomepageSectionProduct,
    LinkKind,
    Menu,
    MenuItem,
    Page,
    Placement,
    SectionKind,
)
from cms.services import page_save
from products.models import Category
from products.visibility import visible_products

PAGES = {
    "about": (
        "About us",
        "Who we are and what we sell.",
        "<h2>Emporium</h2><p>We sell clothing, electronics, homeware and sports gear from "
        "brands we trust, shipped from our own warehouse.</p><p>Questions? "
        '<a href="mailto:help@emporium.test">help@emporium.test</a></p>',
    ),
    "shipping": (
        "Shipping",
        "Delivery times and costs.",
        "<h2>Shipping</h2><ul><li>Orders placed before 2 pm ship the same working day.</li>"
        "<li>A flat rate per order, free above the threshold shown at checkout.</li>"
        "<li>Tracking numbers are emailed once the parcel leaves.</li></ul>",
    ),
    "returns": (
        "Returns",
        "30 days to change your mind.",
        "<h2>Returns</h2><p>Send any unused item back within <strong>30 days</strong> of "
        "delivery; the refund reaches your payment method once it arrives.</p>",
    ),
    "privacy": (
        "Privacy",
        "What we keep about you, and why.",
        "<h2>Privacy</h2><p>We keep your name, addresses and orders to deliver them, and your "
        "email to tell you about them. We sell nothing to anyone.</p>",
    ),
}


@dataclass
class ContentReport:
    pages: int = 0
    menus: int = 0
    links: int = 0
    banners: int = 0
    sections: int = 0
    guarantees: int = 0
    skipped: bool = False

    def summary(self) -> str:
        if self.skipped:
            return "content already present: seeding skipped (--reset rebuilds it)"
        return (
            f"seeded content: {self.pages} pages, {self.menus} menus ({self.links} links), "
            f"{self.banners} banners, {self.sections} homepage sections, "
            f"{self.guarantees} guarantees, the footer"
        )


def content_exists() -> bool:
    return Page.objects.exists() or HomepageSection.objects.exists() or Menu.objects.exists()


@transaction.atomic
def content_reset() -> None:
    for model in (HomepageSection, Banner, Guarantee, FooterColumn, Footer, Menu, Page):
        model.objects.all().delete()
    content_changed_on_commit()


@transaction.atomic
def seed_content(*, reset: bool = False) -> ContentReport:
    if reset:
        content_reset()
    elif content_exists():
        return ContentReport(skipped=True)
    report = ContentReport()
    pages = {}
    for slug, (title, summary, body) in PAGES.items():
        pages[slug] = page_save(
            slug=slug, title=title, summary=summary, body=body, is_published=True
        )
    report.pages = len(pages)
    roots = list(Category.objects.filter(parent=None, is_active=True).order_by("position", "id"))
    main = _main_menu(roots, pages["about"])
    help_menu = _menu(
        "help", "Help", [(p.title, pages[p.slug]) for p in map(pages.get, ["shipping", "returns"])]
    )
    MenuItem.objects.create(
        menu=help_menu,
        label="Contact us",
        kind=LinkKind.URL,
        url="mailto:help@emporium.test",
        position=9,
    )
    company = _menu(
        "company", "Company", [("About us", pages["about"]), ("Privacy", pages["privacy"])]
    )
    footer = Footer.objects.create(
        text="<p>Emporium: clothing, electronics, homeware and sports gear, shipped fast.</p>",
        copyright=f"© {timezone.now().year} Emporium",
    )
    for position, menu in enumerate([help_menu, company]):
        FooterColumn.objects.create(footer=footer, menu=menu, position=position)
    report.menus = 3
    report.links = MenuItem.objects.filter(menu__in=[main, help_menu, company]).count()
    report.guarantees = _guarantees()
    report.banners = _banners(roots)
    report.sections = _homepage(roots)
    content_changed_on_commit()
    return report


def _menu(slug: str, title: str, links: list[tuple[str, Page]]) -> Menu:
    menu = Menu.objects.create(slug=slug, title=title)
    for position, (label, page) in enumerate(links):
        MenuItem.objects.create(
            menu=menu, label=label, kind=LinkKind.PAGE, page=page, position=position
        )
    return menu


def _main_menu(roots: list[Category], about: Page) -> Menu:
    """Each top category with its subcategories under it, then About."""
    menu = Menu.objects.create(slug="main", title="Main menu")
    children = {}
    for child in Category.objects.filter(parent__in=roots, is_active=True).order_by(
        "position", "id"
    ):
        children.setdefault(child.parent_id, []).append(child)
    for position, root in enumerate(roots):
        item = MenuItem.objects.create(
            menu=menu, label=root.name, kind=LinkKind.CATEGORY, category=root, position=position
        )
        for sub_position, child in enumerate(children.get(root.pk, [])):
            MenuItem.objects.create(
                menu=menu,
                parent=item,
                label=child.name,
                kind=LinkKind.CATEGORY,
                category=child,
                position=sub_position,
            )
    MenuItem.objects.create(
        menu=menu, label="About", kind=LinkKind.PAGE, page=about, position=len(roots)
    )
    return menu


def _guarantees() -> int:
    rows = [
        (
            GuaranteeKind.FREE_SHIPPING,
            "Free shipping over {threshold}",
            "On every order, anywhere we deliver.",
            "/pages/shipping",
        ),
        (
            GuaranteeKind.RETURNS,
            "30-day returns",
            "Changed your mind? Send it back.",
            "/pages/returns",
        ),
        (
            GuaranteeKind.SUPPORT,
            "Real people answer",
            "Mail us any day: help@emporium.test.",
            "mailto:help@emporium.test",
        ),
        (
            GuaranteeKind.SECURE_PAYMENT,
            "Secure payment",
            "Cards through Stripe, or pay on delivery.",
            "",
        ),
    ]
    Guarantee.objects.bulk_create(
        Guarantee(kind=kind, title=title, text=text, link_url=link, position=n, is_published=True)
        for n, (kind, title, text, link) in enumerate(rows)
    )
    return len(rows)


def _banners(roots: list[Category]) -> int:
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    first = roots[0].slug if roots else ""
    banners = [
        Banner(
            placement=Placement.HOME_HERO,
            title="New season, new gear",
            subtitle="Fresh arrivals across the shop.",
            link_url=f"/c/{first}" if first else "/",
            cta_label="Shop now",
            position=0,
        ),
        Banner(
            placement=Placement.HOME_HERO,
            title="Weekend flash sale",
            subtitle="Starts next week; gone in 48 hours.",
            link_url="/",
            cta_label="See the deals",
            position=1,
            starts_at=now + timedelta(days=7),
            ends_at=now + timedelta(days=9),
        ),
        Banner(
            placement=Placement.SITE_TOP,
            title="Free returns for 30 days",
            link_url="/pages/returns",
        ),
    ]
    for banner in banners:
        banner.is_published = True
    Banner.objects.bulk_create(banners)
    return len(banners)


def _homepage(roots: list[Category]) -> int:
    hero = HomepageSection.objects.create(
        kind=SectionKind.BANNERS, placement=Placement.HOME_HERO, position=0, is_published=True
    )
    featured = HomepageSection.objects.create(
        kind=SectionKind.CATEGORIES, title="Shop by category", position=1, is_published=True
    )
    HomepageSectionCategory.objects.bulk_create(
        HomepageSectionCategory(section=featured, category=root, position=n)
        for n, root in enumerate(roots)
    )
    sections = [hero, featured]
    sections.append(
        HomepageSection.objects.create(
            kind=SectionKind.PRODUCTS,
            title="Best sellers",
            rule=CarouselRule.BEST_SELLERS,
            position=2,
            is_published=True,
        )
    )
    if roots:
        sections.append(
            HomepageSection.objects.create(
                kind=SectionKind.PRODUCTS,
                title=f"New in {roots[0].name}",
                rule=CarouselRule.NEWEST,
                category=roots[0],
                position=3,
                is_published=True,
            )
        )
    picks = HomepageSection.objects.create(
        kind=SectionKind.PRODUCTS,
        title="Staff picks",
        rule=CarouselRule.MANUAL,
        position=4,
        is_published=True,
    )
    sections.append(picks)
    top_rated = (
        visible_products().filter(rating_count__gt=0).order_by("-rating_avg", "-rating_count", "id")
    )
    HomepageSectionProduct.objects.bulk_create(
        HomepageSectionProduct(section=picks, product_id=pk, position=n)
        for n, pk in enumerate(top_rated.values_list("pk", flat=True)[:8])
    )
    sections.append(
        HomepageSection.objects.create(
            kind=SectionKind.TEXT,
            title="Why Emporium",
            body="<p>One shop for what you wear, use and play with. "
            '<a href="/pages/about">More about us</a>.</p>',
            position=5,
            is_published=True,
        )
    )
    return len(sections)
