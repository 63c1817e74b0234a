"""The demo content (homepage, menus, footer, pages) over the demo catalog, by seed_demo."""

import io

import pytest
from django.core.management import call_command

from cms.models import Page

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(local_media):
    return local_media


def test_seed_demo_gives_a_homepage_menus_footer_and_pages(client):
    out = io.StringIO()
    call_command("seed_demo", products=40, no_progress=True, no_reviews=False, stdout=out)
    assert "seeded content: 4 pages, 3 menus" in out.getvalue()

    sections = client.get("/api/cms/homepage").json()["sections"]
    kinds = [s["kind"] for s in sections]
    assert kinds[:2] == ["banners", "categories"] and "products" in kinds and kinds[-1] == "text"
    # The scheduled flash sale is not live yet.
    assert [b["title"] for b in sections[0]["banners"]] == ["New season, new gear"]
    assert all(p["in_stock"] for s in sections for p in s.get("products", []))

    main = client.get("/api/cms/menus/main").json()
    assert [i["label"] for i in main["items"]][:4] == ["Apparel", "Electronics", "Home", "Sports"]
    assert main["items"][0]["children"][0]["url"] == "/c/shoes"
    footer = client.get("/api/cms/footer").json()
    assert [c["slug"] for c in footer["columns"]] == ["help", "company"]
    for slug in ("about", "shipping", "returns", "privacy"):
        assert client.get(f"/api/cms/pages/{slug}").status_code == 200
    guarantees = client.get("/api/cms/guarantees").json()
    assert guarantees[0]["title"].startswith("Free shipping over ")

    again = io.StringIO()
    call_command("seed_demo", products=40, no_progress=True, stdout=again)
    assert "content already present: seeding skipped" in again.getvalue()
    assert Page.objects.count() == 4
