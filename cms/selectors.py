"""Reads of published content, in a fixed number of queries whatever the amount of content.

The homepage is three queries at most (asserted in cms/tests): its sections with their live
banners, featured categories and hand-picked product ids (one query, aggregated per section);
then every carousel's product cards (one statement, products/catalog_sql.list_heads); then
their variants (products/catalog_pages.list_items, the catalog list's own rendering). A
carousel shows only products the storefront can sell: visible (products/visibility.py) and
with an active variant in stock.

`now` is a parameter, never the database clock: an answer is built for one instant, and the
cache (cms/answers.py) keeps it until the next banner boundary after that instant.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg, JSONBAgg
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import JSONObject

from cms.errors import ContentPageNotFound, MenuNotFound
from cms.models import (
    Banner,
    CarouselRule,
    Footer,
    Guarantee,
    GuaranteeKind,
    HomepageSection,
    HomepageSectionCategory,
    HomepageSectionProduct,
    LinkKind,
    Menu,
    MenuItem,
    Page,
    SectionKind,
)
from products import catalog_pages, catalog_sql
from products.visibility import hidden_branch

# The catalog sort behind each carousel rule (products/catalog_sql.py SORTS). Best sellers are
# the catalog's popularity: units sold in paid orders (Product.sales_count, from the order
# lines, orders/reports.py). Hand-picked products come back in any order and are put in theirs.
RULE_SORTS = {
    CarouselRule.BEST_SELLERS: "popularity",
    CarouselRule.NEWEST: "newest",
    CarouselRule.TOP_RATED: "rating",
    CarouselRule.FEATURED: "newest",
    CarouselRule.MANUAL: "name",
}

_BANNER_FIELDS = (
    "id",
    "placement",
    "title",
    "subtitle",
    "image",
    "image_alt",
    "link_url",
    "cta_label",
    "starts_at",
    "ends_at",
)


# -- banners and their windows ------------------------------------------------------------------


def banners_not_over(*, now: datetime) -> QuerySet[Banner]:
    """Published banners that have not ended: the live ones, and those still to start (whose
    start is a boundary of the answer)."""
    return Banner.objects.filter(is_published=True).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now)
    )


def banner_rows(*, placement: str | None, now: datetime) -> list[dict[str, Any]]:
    banners = banners_not_over(now=now).order_by("placement", "position", "id")
    if placement:
        banners = banners.filter(placement=placement)
    return list(banners.values(*_BANNER_FIELDS))


def window_split(
    banners: Iterable[dict[str, Any]], *, now: datetime
) -> tuple[list[dict[str, Any]], datetime | None]:
    """The banners live at `now` (started, not ended), and the next instant after `now` at
    which one starts or ends: until then the same banners are live."""
    live, boundaries = [], []
    for banner in banners:
        starts, ends = _when(banner["starts_at"]), _when(banner["ends_at"])
        if starts is not None and starts > now:
            boundaries.append(starts)
            continue
        if ends is not None:
            if ends <= now:
                continue
            boundaries.append(ends)
        live.append(banner)
    return live, min(boundaries, default=None)


def _when(value: datetime | str | None) -> datetime | None:
    """A datetime, or the ISO text PostgreSQL's JSON gives for one."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


# -- the homepage -------------------------------------------------------------------------------


def homepage_section_rows(*, now: datetime) -> list[dict[str, Any]]:
    """Published sections in order, each with its placement's banners not over yet, its visible
    featured categories and its hand-picked product ids: one query."""
    banners = (
        banners_not_over(now=now)
        .filter(placement=OuterRef("placement"))
        .order_by()
        .values("placement")
        .annotate(
            rows=JSONBAgg(JSONObject(**{f: f for f in _BANNER_FIELDS}), order_by=("position", "id"))
        )
        .values("rows")
    )
    categories = (
        HomepageSectionCategory.objects.filter(section=OuterRef("pk"), category__is_active=True)
        .exclude(hidden_branch(OuterRef("category__path")))
        .order_by()
        .values("section")
        .annotate(
            rows=JSONBAgg(
                JSONObject(
                    id="category_id",
                    name="category__name",
                    slug="category__slug",
                    description="category__description",
                ),
                order_by=("position", "id"),
            )
        )
        .values("rows")
    )
    product_ids = (
        HomepageSectionProduct.objects.filter(section=OuterRef("pk"))
        .order_by()
        .values("section")
        .annotate(ids=ArrayAgg("product_id", order_by=("position", "id")))
        .values("ids")
    )
    return list(
        HomepageSection.objects.filter(is_published=True)
        .order_by("position", "id")
        .annotate(
            banner_rows=Subquery(banners),
            category_rows=Subquery(categories),
            product_ids=Subquery(product_ids),
        )
        .values(
            "id",
            "kind",
            "title",
            "subtitle",
            "placement",
            "rule",
            "product_limit",
            "body",
            "category_id",
            "category__name",
            "category__slug",
            "banner_rows",
            "category_rows",
            "product_ids",
        )
    )


def carousel_products(sections: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """ProductListItemOut dicts per product section id: two queries for every carousel."""
    wanted = []
    for section in sections:
        if section["kind"] != SectionKind.PRODUCTS:
            continue
        query = catalog_sql.ListQuery()
        query.in_stock(True)  # sold out: the storefront could not sell it
        limit = section["product_limit"]
        if section["rule"] == CarouselRule.MANUAL:
            ids = section["product_ids"] or []
            if not ids:
                continue
            query.products(ids)
            limit = len(ids)
        elif section["category__slug"]:
            query.category(section["category__slug"])
        if section["rule"] == CarouselRule.FEATURED:
            query.featured(True)
        wanted.append((section, query, RULE_SORTS[CarouselRule(section["rule"])], limit))
    heads = catalog_sql.list_heads([(query, sort, limit) for _, query, sort, limit in wanted])
    items = iter(catalog_pages.list_items([card for cards in heads for card in cards]))
    by_section = {}
    for (section, *_), cards in zip(wanted, heads, strict=True):
        products = [next(items) for _ in cards]
        if section["rule"] == CarouselRule.MANUAL:
            order = {pk: n for n, pk in enumerate(section["product_ids"])}
            products.sort(key=lambda item: order[item["id"]])
            products = products[: section["product_limit"]]
        by_section[section["id"]] = products
    return by_section


# -- menus and the footer -----------------------------------------------------------------------


@dataclass
class Link:
    """A menu item as the storefront gets it: where it points, and the items under it."""

    label: str
    kind: str
    url: str
    category: dict[str, Any] | None = None
    page: dict[str, Any] | None = None
    children: list[Link] = field(default_factory=list)


def storefront_path(kind: str, slug: str) -> str:
    return settings.CMS_STOREFRONT_PATHS[kind].format(slug=slug)


def _menu_items(menu_ids: list[int]) -> QuerySet[MenuItem]:
    return (
        MenuItem.objects.filter(menu_id__in=menu_ids, is_published=True)
        .select_related("category", "page")
        .annotate(category_hidden=hidden_branch(OuterRef("category__path")))
        .order_by("position", "id")
    )


def _link_trees(items: Iterable[MenuItem]) -> dict[int, list[Link]]:
    """{menu id: its top-level links}. An item whose target the storefront cannot show (a
    hidden category, an unpublished page) is left out with every item under it."""
    links: dict[int, Link] = {}
    children: dict[int | None, list[tuple[MenuItem, Link]]] = {}
    for item in items:
        if item.kind == LinkKind.CATEGORY:
            if not item.category.is_active or item.category_hidden:
                continue
            category = {"id": item.category_id, "name": item.category.name}
            category["slug"] = item.category.slug
            link = Link(item.label, item.kind, storefront_path("category", category["slug"]))
            link.category = category
        elif item.kind == LinkKind.PAGE:
            if not item.page.is_published:
                continue
            link = Link(item.label, item.kind, storefront_path("page", item.page.slug))
            link.page = {"slug": item.page.slug, "title": item.page.title}
        else:
            link = Link(item.label, item.kind, item.url)
        links[item.pk] = link
        children.setdefault(item.parent_id, []).append((item, link))
    roots: dict[int, list[Link]] = {}
    for item, link in children.get(None, []):
        roots.setdefault(item.menu_id, []).append(link)
    for parent_id, kids in children.items():
        if parent_id in links:  # a child of a left-out item stays out
            links[parent_id].children = [link for _, link in kids]
    return roots


@dataclass
class MenuView:
    slug: str
    title: str
    items: list[Link]


def menu_for_slug(slug: str) -> MenuView:
    """A menu and its visible links, nested: two queries."""
    menu = Menu.objects.filter(slug=slug).values("id", "slug", "title").first()
    if menu is None:
        raise MenuNotFound()
    trees = _link_trees(_menu_items([menu["id"]]))
    return MenuView(menu["slug"], menu["title"], trees.get(menu["id"], []))


@dataclass
class FooterView:
    text: str = ""
    copyright: str = ""
    columns: list[MenuView] = field(default_factory=list)


def footer() -> FooterView:
    """The footer with its columns' links: three queries (an empty view when never saved)."""
    row = Footer.objects.filter(pk=1).first()
    if row is None:
        return FooterView()
    columns = list(row.columns.select_related("menu").order_by("position", "id"))
    trees = _link_trees(_menu_items([c.menu_id for c in columns])) if columns else {}
    return FooterView(
        row.text,
        row.copyright,
        [MenuView(c.menu.slug, c.menu.title, trees.get(c.menu_id, [])) for c in columns],
    )


# -- pages and guarantees -----------------------------------------------------------------------


def published_page(slug: str) -> Page:
    page = Page.objects.filter(slug=slug, is_published=True).first()
    if page is None:
        raise ContentPageNotFound()
    return page


@dataclass
class GuaranteeView:
    kind: str
    title: str
    text: str
    link_url: str
    threshold: Decimal | None
    currency: str | None


def published_guarantees() -> list[GuaranteeView]:
    """Published guarantees in order: one query. "{threshold}" in a free-shipping guarantee is
    the cart's free-shipping threshold; with none (free shipping off) it is left out."""
    threshold = settings.SHIPPING_FREE_THRESHOLD
    shown = []
    for row in Guarantee.objects.filter(is_published=True).order_by("position", "id"):
        if row.kind == GuaranteeKind.FREE_SHIPPING:
            if threshold is None:
                continue
            amount = f"{threshold:.2f} {settings.DEFAULT_CURRENCY}"
            title = row.title.replace("{threshold}", amount)
            text = row.text.replace("{threshold}", amount)
            currency = settings.DEFAULT_CURRENCY
            shown.append(GuaranteeView(row.kind, title, text, row.link_url, threshold, currency))
        else:
            shown.append(GuaranteeView(row.kind, row.title, row.text, row.link_url, None, None))
    return shown
