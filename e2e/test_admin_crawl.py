"""Every admin page a staff member can reach, opened in Chromium: for each model registered in
the admin, its list, its add page (when the user may add) and the page of one row, as the
superuser and as a staff member who may only look. None may fail on the server (a 500, or any
status but 200) or in the browser (a console error)."""

from __future__ import annotations

import time

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.test import RequestFactory
from django.urls import reverse

from core.models import User

pytestmark = pytest.mark.django_db


def admin_pages(email: str) -> dict[str, list[str]]:
    """The pages `email` may open, by kind: the start page, each model's list, add page and the
    page of its first row."""
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(email=email)
    pages = {"index": [reverse("admin:index")], "list": [], "add": [], "change": []}
    registry = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
    for model, model_admin in registry:
        if not model_admin.has_view_or_change_permission(request):
            continue
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages["list"].append(reverse(f"{name}_changelist"))
        if model_admin.has_add_permission(request):
            pages["add"].append(reverse(f"{name}_add"))
        row = model_admin.get_queryset(request).order_by("pk").first()
        if row is not None:
            pages["change"].append(reverse(f"{name}_change", args=[quote(row.pk)]))
    return pages


def model_path(path: str) -> str:
    """The model part of an admin path: "orders/order" of "/admin/orders/order/7/change/"."""
    return "/".join(path.split("/")[2:4])


@pytest.mark.parametrize("who", ["staff", "viewer"])
def test_every_admin_page_opens_without_an_error(page, shop, who):
    email, password = getattr(shop, who)
    pages = admin_pages(email)
    # Both may look at every model (the viewer holds every view_ permission), and the shop
    # fixture leaves a row in each: a list and a row's page per model, or the crawl shrank.
    assert len(pages["list"]) == len(admin.site._registry)
    without_row = {model_path(path) for path in pages["list"]} - {
        model_path(path) for path in pages["change"]
    }
    assert without_row == set()
    if who == "viewer":
        assert pages["add"] == []
    page.sign_in(email, password)
    page.console_errors()  # the sign-in's own: test_admin_flows checks them

    started = time.monotonic()
    failures = []
    for path in [path for paths in pages.values() for path in paths]:
        page.open(path)
        status = page.status()
        if status != 200:
            failures.append(f"{path}: HTTP {status} {page.driver.title!r}")
        if page.driver.current_url != page.base + path:
            failures.append(f"{path}: landed on {page.driver.current_url}")
        failures += [f"{path}: {error}" for error in page.console_errors()]
    elapsed = time.monotonic() - started

    assert failures == [], "\n".join(failures)
    print(f"{who}: {sum(map(len, pages.values()))} admin pages in {elapsed:.1f} s")
