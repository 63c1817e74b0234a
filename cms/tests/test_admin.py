"""The content admin: every page opens, saves announce themselves, publishing asks first, and
the preview shows the API's answer at any instant."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cms.models import Banner, Footer, HomepageSection, Menu, MenuItem, Page
from cms.tests.fixtures import BannerFactory, MenuFactory, MenuItemFactory, PageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss@example.com", "a-long-Passphrase-9")
    client.force_login(boss)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/cms/page/",
        "/admin/cms/page/add/",
        "/admin/cms/banner/",
        "/admin/cms/banner/add/",
        "/admin/cms/homepagesection/",
        "/admin/cms/homepagesection/add/",
        "/admin/cms/homepagesection/preview/",
        "/admin/cms/menu/",
        "/admin/cms/menu/add/",
        "/admin/cms/footer/",
        "/admin/cms/footer/add/",
        "/admin/cms/guarantee/",
        "/admin/cms/guarantee/add/",
    ],
)
def test_every_page_opens(admin_client, homepage, url):
    assert admin_client.get(url).status_code == 200


def test_saving_a_page_sanitises_it_and_the_api_shows_it_at_once(
    admin_client, django_capture_on_commit_callbacks
):
    page = PageFactory(slug="about", title="About", body="<p>Old</p>")
    assert admin_client.get("/api/cms/pages/about").json()["body"] == "<p>Old</p>"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/cms/page/{page.pk}/change/",
            {
                "title": "About us",
                "slug": "about",
                "summary": "",
                "body": '<p onclick="steal()">New<script>steal()</script></p>',
                "is_published": "on",
            },
        )
    assert response.status_code == 302, response.content[:2000]
    page.refresh_from_db()
    assert page.body == "<p>New</p>"
    answer = admin_client.get("/api/cms/pages/about").json()
    assert (answer["title"], answer["body"]) == ("About us", "<p>New</p>")


def test_a_banner_link_must_be_safe(admin_client):
    response = admin_client.post(
        "/admin/cms/banner/add/",
        {"placement": "home_hero", "title": "X", "link_url": "javascript:alert(1)", "position": 0},
    )
    assert response.status_code == 200  # the form again
    assert b"Use a path on this site" in response.content
    assert not Banner.objects.exists()


def test_a_banner_must_end_after_it_starts(admin_client):
    now = timezone.now()
    response = admin_client.post(
        "/admin/cms/banner/add/",
        {
            "placement": "home_hero",
            "title": "X",
            "starts_at_0": (now + timedelta(days=2)).strftime("%Y-%m-%d"),
            "starts_at_1": "10:00",
            "ends_at_0": (now + timedelta(days=1)).strftime("%Y-%m-%d"),
            "ends_at_1": "10:00",
            "position": 0,
        },
    )
    assert response.status_code == 200
    assert b"must end after it starts" in response.content
    assert not Banner.objects.exists()


def test_publish_from_the_list_and_from_the_page_asks_first(
    admin_client, django_capture_on_commit_callbacks
):
    page = PageFactory(slug="returns", is_published=False)
    assert admin_client.get("/api/cms/pages/returns").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/cms/page/", {"action": "publish", "_selected_action": [page.pk]}
        )
    assert response.status_code == 302
    assert admin_client.get("/api/cms/pages/returns").status_code == 200

    url = f"/admin/cms/page/{page.pk}/unpublish/"
    assert admin_client.get(url).status_code == 200  # the question only
    page.refresh_from_db()
    assert page.is_published
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"_form_submitted": "on"})
    assert response.status_code == 302
    page.refresh_from_db()
    assert not page.is_published
    assert admin_client.get("/api/cms/pages/returns").status_code == 404


def test_the_preview_shows_the_homepage_at_any_instant(admin_client, homepage):
    BannerFactory(title="Next week", starts_at=timezone.now() + timedelta(days=7))
    now = admin_client.get("/admin/cms/homepagesection/preview/")
    assert now.status_code == 200
    assert b"Autumn sale" in now.content and b"Next week" not in now.content
    later = (timezone.now() + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M")
    then = admin_client.get(f"/admin/cms/homepagesection/preview/?at={later}")
    assert b"Next week" in then.content
    assert admin_client.get("/admin/cms/homepagesection/preview/?at=garbage").status_code == 200


def test_dragging_sections_reorders_the_homepage(
    admin_client, homepage, django_capture_on_commit_callbacks
):
    """The changelist's drag and drop posts every row's position (Unfold's ordering_field)."""
    assert admin_client.get("/api/cms/homepage").json()["sections"][0]["kind"] == "banners"
    sections = list(HomepageSection.objects.order_by("position", "id"))
    moved = [sections[-1], *sections[:-1]]  # the text section dragged to the top
    data = {"form-TOTAL_FORMS": len(moved), "form-INITIAL_FORMS": len(moved), "_save": "Save"}
    for n, section in enumerate(moved):
        data[f"form-{n}-id"] = section.pk
        data[f"form-{n}-position"] = n
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/cms/homepagesection/", data)
    assert response.status_code == 302, response.content[:3000]
    titles = [s["title"] for s in admin_client.get("/api/cms/homepage").json()["sections"]]
    assert titles[0] == "About us"


def test_a_menu_item_parent_must_be_in_the_same_menu():
    from django.core.exceptions import ValidationError

    one, other = MenuFactory(), MenuFactory()
    parent = MenuItemFactory(menu=other)
    item = MenuItem(menu=one, parent=parent, label="x", url="/x")
    with pytest.raises(ValidationError):
        item.full_clean()
    a = MenuItemFactory(menu=one)
    b = MenuItemFactory(menu=one, parent=a)
    c = MenuItemFactory(menu=one, parent=b)
    too_deep = MenuItem(menu=one, parent=c, label="x", url="/x")
    with pytest.raises(ValidationError):
        too_deep.full_clean()


def test_one_footer(admin_client):
    Footer.objects.create(copyright="©")
    assert admin_client.get("/admin/cms/footer/add/").status_code == 403
    assert Menu.objects.count() == 0 and Page.objects.count() == 0
