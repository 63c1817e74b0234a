"""The public content answers as JSON bytes, cached under version tokens until the next banner
boundary.

1. The route parses the request (a slug, a placement) and calls one function here.
2. The answer is read from the cache (api/cache.py) in one round trip, the request's deferred
   rate limit counted in it: fresh while the content token (cms/events.py) and the catalog's
   list token (products/services/events.py) are unchanged *and* the clock has not reached the
   entry's `valid_until`.
3. Otherwise it is built for this instant by the selectors and rendered by the schemas. An
   answer with banners is valid until the next start or end among the banners not over yet
   (cms/selectors.window_split): a banner's window opening or closing changes the answer at
   that instant with no write and no beat task, and the entry's Redis TTL ends there too.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from pydantic import TypeAdapter

from api import cache as versioned
from api.errors import RateLimited
from cms import selectors
from cms.events import CONTENT_VERSION
from cms.models import SectionKind
from cms.schemas import BannerOut, FooterOut, GuaranteeOut, HomepageOut, MenuOut, PageOut
from products.services.events import LISTS_VERSION

logger = logging.getLogger("cms.answers")

VERSIONS = [CONTENT_VERSION, LISTS_VERSION]
Build = Callable[[datetime], tuple[bytes, datetime | None]]
_BANNERS = TypeAdapter(list[BannerOut])
_GUARANTEES = TypeAdapter(list[GuaranteeOut])


def homepage_json() -> bytes:
    """The published sections with something to show, in order (at most 3 queries to build)."""
    return _cached("cms:homepage", homepage_build)


def homepage_preview(at: datetime) -> bytes:
    """The homepage as the API answers it at `at` (the admin's preview), built, never cached."""
    return homepage_build(at)[0]


def homepage_build(now: datetime) -> tuple[bytes, datetime | None]:
    rows = selectors.homepage_section_rows(now=now)
    products = selectors.carousel_products(rows)
    sections, boundaries = [], []
    for row in rows:
        section = _section(row, products, now, boundaries)
        if section is not None:
            sections.append(section)
    body = HomepageOut.model_validate({"sections": sections}).model_dump_json()
    return body.encode(), min(boundaries, default=None)


def _section(row: dict, products: dict, now: datetime, boundaries: list) -> dict | None:
    """One section's answer, or None when it has nothing to show."""
    section = {**row, "category": None}
    kind = row["kind"]
    if kind == SectionKind.BANNERS:
        live, until = selectors.window_split(row["banner_rows"] or [], now=now)
        if until is not None:
            boundaries.append(until)
        section["banners"] = live
        return section if live else None
    if kind == SectionKind.CATEGORIES:
        section["categories"] = [
            {**c, "url": selectors.storefront_path("category", c["slug"])}
            for c in row["category_rows"] or []
        ]
        return section if section["categories"] else None
    if kind == SectionKind.PRODUCTS:
        section["products"] = products.get(row["id"], [])
        if row["category_id"] and row["category__slug"]:
            section["category"] = {
                "id": row["category_id"],
                "name": row["category__name"],
                "slug": row["category__slug"],
            }
        return section if section["products"] else None
    return section if row["body"] else None


def banners_json(placement: str | None) -> bytes:
    def build(now: datetime) -> tuple[bytes, datetime | None]:
        live, until = selectors.window_split(
            selectors.banner_rows(placement=placement, now=now), now=now
        )
        return _BANNERS.dump_json(_BANNERS.validate_python(live)), until

    return _cached(f"cms:banners:{placement or ''}", build)


def menu_json(slug: str) -> bytes:
    def build(now: datetime) -> tuple[bytes, None]:
        return MenuOut.model_validate(
            selectors.menu_for_slug(slug)
        ).model_dump_json().encode(), None

    return _cached(f"cms:menu:{_digest(slug)}", build)


def footer_json() -> bytes:
    def build(now: datetime) -> tuple[bytes, None]:
        return FooterOut.model_validate(selectors.footer()).model_dump_json().encode(), None

    return _cached("cms:footer", build)


def page_json(slug: str) -> bytes:
    def build(now: datetime) -> tuple[bytes, None]:
        return PageOut.model_validate(
            selectors.published_page(slug)
        ).model_dump_json().encode(), None

    return _cached(f"cms:page:{_digest(slug)}", build)


def guarantees_json() -> bytes:
    def build(now: datetime) -> tuple[bytes, None]:
        views = selectors.published_guarantees()
        return _GUARANTEES.dump_json(_GUARANTEES.validate_python(views, from_attributes=True)), None

    # The threshold is a setting: an entry is only good for the threshold it was built with.
    return _cached(f"cms:guarantees:{settings.SHIPPING_FREE_THRESHOLD}", build)


def _cached(key: str, build: Build) -> bytes:
    """`build(now)`'s bytes, from the cache while fresh (module docstring)."""
    now = timezone.now()
    if not settings.CMS_CACHE_ENABLED or settings.CMS_CACHE_TTL <= 0:
        versioned.deferred_limit_settle()  # counted before any query
        return build(now)[0]
    try:
        entry, stamp = versioned.entry_get(key, VERSIONS, count_deferred_limit=True)
    except RateLimited:
        raise
    except Exception:
        logger.exception("cache read failed", extra={"key": key})
        return build(now)[0]
    # meta: the instant (epoch seconds) the answer stops being true, None for never.
    valid = entry is not None and (entry.meta is None or now.timestamp() < entry.meta)
    if valid and entry.stamp == stamp:
        return entry.body
    with versioned.fill_reads(stamp):
        body, valid_until = build(now)
    ttl = settings.CMS_CACHE_TTL
    if valid_until is not None:
        ttl = min(ttl, math.ceil((valid_until - now).total_seconds()))
    try:
        meta = valid_until.timestamp() if valid_until is not None else None
        versioned.entry_set(key, stamp, body, ttl, meta=meta)
    except Exception:
        logger.exception("cache write failed", extra={"key": key})
    return body


def _digest(value: str) -> str:
    return hashlib.blake2b(value.encode(), digest_size=16).hexdigest()
