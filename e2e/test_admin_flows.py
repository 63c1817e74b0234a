"""The merchant admin as staff use it: signing in, the start page's chart, a product made with
its inlines, an order shipped, a CSV import tried, a failed task retried; every step through the
admin's own pages in Chromium, checked by what the page shows."""

from __future__ import annotations

import csv
import io

import pytest
from PIL import Image
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

from api.models import FailedTask
from orders.models import Order
from products.models import Category, Product, Variant

pytestmark = pytest.mark.django_db

# Any pixel of the canvas drawn: Chart.js leaves an undrawn canvas fully transparent.
CANVAS_DRAWN = """
const canvas = arguments[0];
const {width, height} = canvas;
if (!width || !height) return false;
const pixels = canvas.getContext('2d').getImageData(0, 0, width, height).data;
for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
return false;
"""


# Unfold's message list: one <li class="*:mb-0!"> per message.
MESSAGES = "//li[@class='*:mb-0!']/div"


def wait_until(page, condition, seconds: float = 20):
    """The first truthy answer of `condition`; an element the page replaced meanwhile is asked
    about again."""
    wait = WebDriverWait(page.driver, seconds, ignored_exceptions=[StaleElementReferenceException])
    return wait.until(lambda driver: condition())


def readonly_value(page, label: str) -> str:
    """The text a change page shows for a read-only field, found by its label."""
    return page.driver.find_element(
        By.XPATH,
        "//div[contains(@class, 'field-line')]"
        f"[.//label[normalize-space()='{label}']]//div[contains(@class, 'readonly')]",
    ).text


def messages_shown(page) -> list[str]:
    """The messages at the top of the page ("... shipped.", "1 task(s) enqueued again.")."""
    return [element.text for element in page.driver.find_elements(By.XPATH, MESSAGES)]


def choose(page, select_name: str, search: str, option: str) -> None:
    """Pick `option` in an autocomplete (select2) field, typing `search` as a merchant would."""
    page.click(page.find(f"select[name='{select_name}'] + .select2 .select2-selection"))
    page.wait_for(".select2-container--open .select2-search__field").send_keys(search)
    wait_until(
        page,
        lambda: next(
            (o for o in page.find_all(".select2-results__option") if o.text == option), None
        ),
    ).click()
    wait_until(page, lambda: not page.find_all(".select2-container--open"))


def add_inline_row(page, prefix: str) -> int:
    """Click the inline group's "Add another"; returns the new row's index."""
    total = page.find(f"#id_{prefix}-TOTAL_FORMS")
    index = int(total.get_attribute("value"))
    page.click(page.find(f"#{prefix}-group .add-row"))
    page.wait_for(f"[name^='{prefix}-{index}-']")
    return index


# -- 1. signing in --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opened", "landing"),
    [
        ("/admin/login/", "/admin/"),
        ("/admin/login/?next=/admin/orders/order/", "/admin/orders/order/"),
        ("/admin/orders/order/", "/admin/orders/order/"),  # sent to the login page and back
    ],
)
def test_signing_in_lands_on_the_admin_or_the_page_asked_for(page, shop, opened, landing):
    page.sign_in(*shop.staff, path=opened)

    assert page.driver.current_url == shop.base + landing
    if landing == "/admin/":
        assert "Revenue and orders, last 30 days" in page.find("#content").text  # the dashboard
    else:
        assert shop.orders["paid"] in page.find("#result_list").text
    assert page.console_errors() == []


# -- 2. the start page ----------------------------------------------------------------------------


def test_start_page_draws_its_chart_at_the_asked_height(page, shop):
    page.sign_in(*shop.staff)

    canvases = page.find_all("canvas.chart")
    assert len(canvases) == 1
    chart = canvases[0]
    wait_until(page, lambda: page.driver.execute_script(CANVAS_DRAWN, chart), 10)
    assert chart.size["width"] > 600  # the card's width
    assert chart.size["height"] == 320  # the template's height, not stretched by the width
    cards = page.find("#content").text
    assert f"Orders today\n{len(shop.orders)}" in cards
    assert shop.orders["paid"] in cards  # recent orders
    assert page.console_errors() == []


# -- 3. a product, made with its inlines ----------------------------------------------------------


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "aurora.png"
    Image.new("RGB", (64, 48), (200, 30, 40)).save(path)
    return path


def test_product_made_with_variants_attributes_and_an_image_is_in_the_catalog(page, shop, photo):
    assert Category.objects.get(slug="headphones").is_active
    page.sign_in(*shop.staff, path="/admin/products/product/add/")
    page.find("input[name=name]").send_keys("Aurora ANC Headphones")
    wait_until(
        page,
        lambda: page.find("input[name=slug]").get_attribute("value") == "aurora-anc-headphones",
    )
    page.find("textarea[name=description]").send_keys("Closed-back, 30 hours of battery.")
    choose(page, "category", "Headph", "Headphones")
    page.find("input[name=base_price]").send_keys("149.00")

    for sku, name, price, stock in [
        ("AURORA-BLK", "Black", "", "7"),
        ("AURORA-WHT", "White", "159.00", "3"),
    ]:
        row = add_inline_row(page, "variants")
        page.find(f"input[name=variants-{row}-sku]").send_keys(sku)
        page.find(f"input[name=variants-{row}-name]").send_keys(name)
        if price:
            page.find(f"input[name=variants-{row}-price]").send_keys(price)
        for field, value in [("stock_quantity", stock), ("position", str(row))]:
            box = page.find(f"input[name=variants-{row}-{field}]")
            box.clear()
            box.send_keys(value)

    for search, option, value in [
        ("Material", "Material (material)", "Aluminium"),
        ("Battery", "Battery life (battery_life)", "30"),
    ]:
        row = add_inline_row(page, "attribute_values")
        choose(page, f"attribute_values-{row}-definition", search, option)
        page.find(f"input[name=attribute_values-{row}-value]").send_keys(value)

    row = add_inline_row(page, "images")
    page.find(f"input[name=images-{row}-image]").send_keys(str(photo))
    page.find(f"input[name=images-{row}-alt]").send_keys("Aurora in red")

    page.find("button[name=_save]").click()
    page.wait_for("#result_list")
    assert any("Aurora ANC Headphones" in m for m in messages_shown(page)), messages_shown(page)
    assert page.console_errors() == []

    # Colour is set per variant, on each variant's own page.
    product = Product.objects.get(slug="aurora-anc-headphones")
    for variant in Variant.objects.filter(product=product).order_by("sku"):
        page.open(f"/admin/products/variant/{variant.pk}/change/")
        row = add_inline_row(page, "attribute_values")
        choose(page, f"attribute_values-{row}-definition", "Color", "Color (color)")
        colour = "Black" if variant.sku.endswith("BLK") else "White"
        page.find(f"input[name=attribute_values-{row}-value]").send_keys(colour)
        page.find("button[name=_save]").click()
        page.wait_for("#result_list")
        assert any(variant.sku in m for m in messages_shown(page)), messages_shown(page)
    assert page.console_errors() == []

    with shop.api() as http:
        response = http.get("/api/catalog/products/aurora-anc-headphones")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["category"]["slug"] == "headphones"
        assert {(v["sku"], v["price"], v["in_stock"]) for v in body["variants"]} == {
            ("AURORA-BLK", "149.00", True),
            ("AURORA-WHT", "159.00", True),
        }
        assert (body["price_min"], body["price_max"]) == ("149.00", "159.00")
        attributes = {a["code"]: a["value"] for a in body["attributes"]}
        assert attributes == {"material": "Aluminium", "battery_life": "30"}
        assert body["options"] == [{"code": "color", "name": "Color", "values": ["Black", "White"]}]
        [image] = body["images"]
        assert (image["alt"], image["width"], image["height"]) == ("Aurora in red", 64, 48)
        served = http.get(image["url"])
    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.content)).size == (64, 48)


# -- 4. shipping an order -------------------------------------------------------------------------


def test_shipping_a_paid_order_from_its_page_records_the_shipment(page, shop):
    order = Order.objects.get(number=shop.orders["paid"])
    page.sign_in(*shop.staff, path=f"/admin/orders/order/{order.pk}/change/")
    assert readonly_value(page, "Status") == "Paid"

    page.driver.find_element(By.LINK_TEXT, "Ship").click()
    page.wait_for("input[name=tracking_number]").send_keys("1Z999AA10123456784")
    page.find("input[name=carrier]").send_keys("UPS")
    page.find("input[name=note]").send_keys("Two boxes")
    page.find("#content form button[type=submit]").click()

    wait_until(page, lambda: page.driver.current_url.endswith(f"/order/{order.pk}/change/"))
    assert f"{order.number} shipped." in messages_shown(page)
    assert readonly_value(page, "Status") == "Shipped"
    assert readonly_value(page, "Tracking number") == "1Z999AA10123456784"
    assert readonly_value(page, "Carrier") == "UPS"
    events = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td") if cell.text]
        for row in page.find_all("#events-group tr.form-row")
    ]
    # Created at, kind, from, to, actor type, actor, note: the last event is the shipment.
    assert events[-1][1:] == [
        "Status changed",
        "paid",
        "shipped",
        "Staff",
        shop.staff[0],
        "Two boxes",
    ], events
    assert page.console_errors() == []


# -- 5. a CSV import, tried first -----------------------------------------------------------------


def test_csv_import_dry_run_shows_the_row_errors_and_changes_nothing(page, shop, tmp_path):
    rows = [
        ["product_slug", "product_name", "category_slug", "base_price", "sku", "price"],
        ["dry-run-lamp", "Dry-run lamp", "desks", "40.00", "DRY-LAMP-1", ""],
        ["dry-run-chair", "Dry-run chair", "chairs", "99.00", "DRY-CHAIR-1", "12,50"],
    ]
    path = tmp_path / "catalog.csv"
    with path.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    products_before = Product.objects.count()

    page.sign_in(*shop.staff, path="/admin/products/product/")
    page.driver.find_element(By.LINK_TEXT, "Import CSV").click()
    page.wait_for("input[name=file]").send_keys(str(path))
    assert page.find("input[name=dry_run]").is_selected()  # a dry run unless unticked
    page.find("#content form button[type=submit]").click()

    page.wait_for("#content table")
    errors = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in page.find_all("#content table tbody tr")
    ]
    assert errors == [
        ["3", "price", "Expected an amount, not '12,50'."],
        ["3", "product_slug", "No valid variant: the product is not imported."],
    ]
    summary = (
        "2 rows, 1 with errors; would change: 1 products created, 0 updated, "
        "1 variants created, 0 updated, 0 stock changes"
    )
    assert page.find("#content h2").text == summary
    assert summary in messages_shown(page)
    assert Product.objects.count() == products_before
    assert not Variant.objects.filter(sku__startswith="DRY-").exists()
    page.open("/admin/products/product/?q=dry-run")
    assert "No results found" in page.find("#content").text
    assert page.console_errors() == []


# -- 6. retrying a failed task --------------------------------------------------------------------


def test_retrying_a_failed_task_asks_first(page, shop):
    task = FailedTask.objects.get()
    assert (task.status, task.retry_count) == (FailedTask.Status.FAILED, 0)
    page.sign_in(*shop.staff, path=f"/admin/api/failedtask/{task.pk}/change/")

    def ask() -> WebElement:
        """Click Retry: the confirmation dialog that opens."""
        page.driver.find_element(By.LINK_TEXT, "Retry").click()
        return wait_until(
            page, lambda: next((d for d in page.find_all("#dialog") if d.is_displayed()), None)
        )

    dialog = ask()
    assert "Retry this task?" in dialog.text
    dialog.find_element(By.LINK_TEXT, "Cancel").click()  # asked, and turned down
    wait_until(page, lambda: not dialog.is_displayed())
    task.refresh_from_db()
    assert (task.status, task.retry_count) == (FailedTask.Status.FAILED, 0)
    assert readonly_value(page, "Status") == "Failed"

    ask().find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(page, lambda: "1 task(s) enqueued again." in messages_shown(page))
    task.refresh_from_db()
    assert (task.status, task.retry_count) == (FailedTask.Status.RETRIED, 1)
    assert readonly_value(page, "Status") == "Retried, waiting for the outcome"
    assert readonly_value(page, "Retry count") == "1"
    assert page.console_errors() == []


# -- 7. cancelling an order: asked first ----------------------------------------------------------


def test_cancelling_an_order_from_its_page_asks_first(page, shop):
    order = Order.objects.get(number=shop.orders["pending"])
    page.sign_in(*shop.staff, path=f"/admin/orders/order/{order.pk}/change/")
    assert readonly_value(page, "Status") == "Pending payment"

    def ask() -> WebElement:
        page.driver.find_element(By.LINK_TEXT, "Cancel order").click()
        return wait_until(
            page, lambda: next((d for d in page.find_all("#dialog") if d.is_displayed()), None)
        )

    dialog = ask()
    assert "Cancel this order?" in dialog.text
    assert "cannot be undone" in dialog.text
    dialog.find_element(By.LINK_TEXT, "Cancel").click()  # the dialog's own "Cancel": turned down
    wait_until(page, lambda: not dialog.is_displayed())
    order.refresh_from_db()
    assert order.status == "pending_payment"

    ask().find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(page, lambda: "Cancelled: 1 order(s)." in messages_shown(page))
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert readonly_value(page, "Status") == "Cancelled"
    assert page.console_errors() == []
