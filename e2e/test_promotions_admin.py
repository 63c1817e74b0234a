"""The promotions admin in Chromium, on the demo shop's seeded promotions: the lists and the
change pages with their target pickers. Each page is kept as a screenshot under
.data/browser/promotions/ for a look, and none may log a console error."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from promotions.models import CartPromotion, CatalogPromotion

pytestmark = pytest.mark.django_db

SHOTS = Path(settings.DATA_DIR) / "browser" / "promotions"


def test_the_promotion_pages_open(page, shop):
    page.sign_in(*shop.staff)
    page.console_errors()
    sale = CatalogPromotion.objects.get(name="Spring sale")
    shipping = CartPromotion.objects.get()
    for name, path, marker in [
        ("catalog-list", "/admin/promotions/catalogpromotion/", "Spring sale"),
        ("catalog-change", f"/admin/promotions/catalogpromotion/{sale.pk}/change/", "Reaches"),
        ("catalog-add", "/admin/promotions/catalogpromotion/add/", "Window"),
        ("cart-list", "/admin/promotions/cartpromotion/", "Free shipping from 35.00"),
        ("cart-change", f"/admin/promotions/cartpromotion/{shipping.pk}/change/", "Buy N get M"),
        ("discounts", "/admin/promotions/orderdiscount/", "discount"),
        ("redemptions", "/admin/promotions/promotionredemption/", "redemption"),
    ]:
        page.open(path)
        page.wait_for("#content, main")
        assert page.status() == 200, path
        assert marker in page.driver.page_source, (path, marker)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.driver.save_screenshot(str(SHOTS / f"{name}.png"))
        assert page.console_errors() == [], path
