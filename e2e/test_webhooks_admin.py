"""The webhooks admin in Chromium: the endpoint list and form, a delivery with its attempt log,
and Send again asking first (its dialog) before it sends anything."""

from __future__ import annotations

import pytest
from django.conf import settings

from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

SHOTS = settings.DATA_DIR / "browser" / "webhooks"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.driver.save_screenshot(str(SHOTS / f"{name}.png"))


def test_staff_see_endpoints_deliveries_and_their_attempts(page, shop):
    page.sign_in(*shop.staff)
    page.console_errors()
    endpoint = Endpoint.objects.get(url="https://hooks.example.com/emporium")
    delivery = Delivery.objects.get(endpoint=endpoint)

    page.open("/admin/webhooks/endpoint/")
    page.wait_for("#result_list")
    assert "hooks.example.com" in page.find("#result_list").text
    shot(page, "endpoints")

    page.open(f"/admin/webhooks/endpoint/{endpoint.pk}/change/")
    page.wait_for("input[name=url]")
    assert page.find("input[name=url]").get_attribute("value") == endpoint.url
    boxes = page.find_all("input[name=events]")
    assert len(boxes) == 11 and [b.get_attribute("value") for b in boxes if b.is_selected()] == [
        "product.deleted"
    ]
    shot(page, "endpoint-form")

    page.open(f"/admin/webhooks/delivery/{delivery.pk}/change/")
    page.wait_for("body")
    text = page.find("body").text
    assert "Service Unavailable" in text and "503" in text and "Send again" in text
    shot(page, "delivery")
    assert page.console_errors() == []

    page.open(f"/admin/webhooks/delivery/{delivery.pk}/redeliver/")
    page.wait_for("form")
    assert "Send this delivery again?" in page.find("body").text
    shot(page, "send-again-dialog")
    delivery.refresh_from_db()
    assert delivery.attempts == 2  # the question sent nothing
    # Opened on its own (not from the page's button) the dialog is a fragment without the admin's
    # <head>, so the browser asks for /favicon.ico; nothing else may fail.
    assert [error for error in page.console_errors() if "favicon.ico" not in error] == []
