"""The content admin in Chromium, on the demo shop's seeded content: the sortable lists and
inlines, the rich-text editor, the homepage preview. Each page is kept as a screenshot under
.data/browser/cms/ for a look, and none may log a console error."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from cms.models import HomepageSection, Menu, Page

pytestmark = pytest.mark.django_db

SHOTS = Path(settings.DATA_DIR) / "browser" / "cms"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.driver.save_screenshot(str(SHOTS / f"{name}.png"))


def test_the_content_pages_open_and_work(page, shop):
    page.sign_in(*shop.staff)
    page.console_errors()
    carousel = HomepageSection.objects.filter(kind="products", rule="manual").first()
    about = Page.objects.get(slug="about")
    main = Menu.objects.get(slug="main")
    for name, path, marker in [
        ("sections", "/admin/cms/homepagesection/", "Preview the homepage"),
        ("section", f"/admin/cms/homepagesection/{carousel.pk}/change/", "Hand-picked products"),
        ("preview", "/admin/cms/homepagesection/preview/", "GET /api/cms/homepage"),
        ("banners", "/admin/cms/banner/", "Weekend flash sale"),
        ("page", f"/admin/cms/page/{about.pk}/change/", "About us"),
        ("menu", f"/admin/cms/menu/{main.pk}/change/", "Electronics"),
        ("footer", "/admin/cms/footer/1/change/", "Columns"),
        ("guarantees", "/admin/cms/guarantee/", "30-day returns"),
    ]:
        page.open(path)
        page.wait_for("#content, main")
        assert page.status() == 200, path
        assert marker in page.driver.page_source, (path, marker)
        shot(page, name)
        assert page.console_errors() == [], path

    # The preview at an instant next week shows the scheduled flash sale.
    page.open("/admin/cms/homepagesection/preview/?at=2099-01-01T00:00")
    assert "Weekend flash sale" not in page.find("#preview-sections").text  # over by then
    page.open("/admin/cms/homepagesection/preview/")
    assert "New season, new gear" in page.find("#preview-sections").text
