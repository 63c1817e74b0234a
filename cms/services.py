"""Content writes. Each announces itself (cms/events.py) in its own transaction, so the cached
answers are rebuilt once it commits; rich text is sanitised by its field whatever the path
(cms/richtext.py). The admin saves its forms with Django's own save and calls
`content_saved()` in the same transaction (cms/admin.py, ContentAdmin)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from cms.events import content_changed_on_commit
from cms.models import Banner, Guarantee, HomepageSection, MenuItem, Page

# What "publish" applies to: every model with an is_published flag.
PUBLISHABLE = {m._meta.label_lower: m for m in (Page, Banner, HomepageSection, Guarantee, MenuItem)}


def content_saved() -> None:
    """A content row was written outside these services (the admin's forms): announce it."""
    content_changed_on_commit()


@transaction.atomic
def content_publish(*, model: str, ids: Iterable[int], published: bool) -> int:
    """Publish or unpublish these rows of `model` ("cms.page", ...): how many changed."""
    changed = (
        PUBLISHABLE[model]
        .objects.filter(pk__in=list(ids))
        .exclude(is_published=published)
        .update(is_published=published)
    )
    if changed:
        content_changed_on_commit()
    return changed


@transaction.atomic
def page_save(*, slug: str, title: str, body: str, summary: str = "", is_published: bool) -> Page:
    """Create or replace the page at `slug` (the seed; a data migration of a shop's pages)."""
    page = Page.objects.select_for_update().filter(slug=slug).first() or Page(slug=slug)
    page.title, page.body, page.summary, page.is_published = title, body, summary, is_published
    page.full_clean()
    page.save()
    content_changed_on_commit()
    return page
