"""Browser tests: headless Chromium against a real server process on the test database.

Every test module is marked `django_db` (so that pytest-django creates the test database) but
writes nothing through the test's own connection: the server process commits what it does.

1. `shop` (once for the package): seeds a small demo shop into the test database (committed, so the
   server process sees it) with a row of most admin models, starts the dev server on it
   (testing/servers.py), and places orders through the server's own API: one awaiting payment,
   one paid, one with a coupon.
2. `page` (per test): the session's Chromium, signed out, with its console log drained. When the
   test fails, the screenshot and everything the console said are kept under .data/browser/.
3. After the last browser test the database and the cache are emptied again (as a transactional
   test leaves them) for the tests that follow.
"""

from __future__ import annotations

import io
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, SolarSchedule
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from api.models import FailedTask
from cart.models import Coupon, CouponKind
from core.models import Address, SentEmail, User
from orders.inventory import inventory_upload_create, inventory_upload_process
from orders.models import LowStockAlert, Order
from orders.reports import sales_reports_write
from payments.models import WebhookEvent
from payments.tasks import payment_refund_task
from products.imports import catalog_import_create, catalog_import_process
from products.models import Variant
from promotions.models import CartPromotion, PromotionRedemption
from search.models import Synonym
from search.services import search_query_record
from testing import browser, servers
from testing.factories import ADDRESS
from webhooks.models import Delivery, DeliveryAttempt, Endpoint, Event

ARTIFACTS = Path(settings.DATA_DIR) / "browser"
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
VIEWER_EMAIL, VIEWER_PASSWORD = "viewer@emporium.test", "viewer-Pass-2026"


@dataclass
class Shop:
    base: str
    staff: tuple[str, str] = (settings.DEMO_STAFF_EMAIL, settings.DEMO_STAFF_PASSWORD)
    viewer: tuple[str, str] = (VIEWER_EMAIL, VIEWER_PASSWORD)
    # "pending", "paid", "coupon" (awaiting payment, with WELCOME10) -> order number
    orders: dict[str, str] = field(default_factory=dict)

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30)

    def token(self, email: str, password: str) -> str:
        with self.api() as http:
            response = http.post("/api/auth/token", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["access"]


def _place_order(shop: Shop, variant_id: int, coupon: str = "") -> str:
    with shop.api() as http:
        cart = http.post("/api/cart")
        assert cart.status_code == 201, cart.text
        token = cart.json()["token"]
        added = http.post(
            "/api/cart/items",
            json={"variant_id": variant_id, "quantity": 1},
            headers={"X-Cart-Token": token},
        )
        assert added.status_code == 201, added.text
        if coupon:
            applied = http.post(
                "/api/cart/coupon", json={"code": coupon}, headers={"X-Cart-Token": token}
            )
            assert applied.status_code == 200, applied.text
        placed = http.post(
            "/api/checkout",
            json={"email": "ada@example.com", "shipping_address": ADDRESS},
            headers={"X-Cart-Token": token, "Idempotency-Key": uuid.uuid4().hex},
        )
    assert placed.status_code in (200, 201), placed.text
    return placed.json()["number"]


def _viewer() -> User:
    """A staff member who may look at everything and change nothing."""
    group, _ = Group.objects.get_or_create(name="Viewers")
    group.permissions.set(Permission.objects.filter(codename__startswith="view_"))
    viewer = User.objects.create_user(VIEWER_EMAIL, VIEWER_PASSWORD, is_staff=True)
    viewer.groups.add(group)
    return viewer


def _failed_task() -> FailedTask:
    now = timezone.now()
    return FailedTask.objects.create(
        job_id=uuid.uuid4().hex,
        task_name="search.tasks.search_index_product_task",
        task_id=uuid.uuid4().hex,
        queue="search",
        args=[1],
        exception="ConnectionError: the search backend did not answer",
        attempts=5,
        first_failed_at=now,
        last_failed_at=now,
    )


def _admin_rows(actor: User) -> None:
    """A row for each admin page the seed and the orders leave empty, so that the admin crawl
    (test_admin_crawl.py) opens a change page of every model it can."""
    customer = User.objects.get(email=settings.DEMO_CUSTOMER_EMAIL)
    Address.objects.create(user=customer, is_default_shipping=True, **ADDRESS)
    Coupon.objects.create(code="WELCOME10", kind=CouponKind.PERCENT, value=Decimal("10.00"))
    SentEmail.objects.create(
        event_key=f"welcome:{customer.pk}",
        template="welcome",
        recipient=customer.email,
        subject="Welcome to Emporium",
    )
    variant = Variant.objects.order_by("-pk").first()
    LowStockAlert.objects.create(variant=variant, stock_at_alert=1, threshold=5)
    Synonym.objects.create(terms="sofa, couch")
    search_query_record(query="zeppelin", total=0)
    sales_reports_write(days=1)
    upload = inventory_upload_create(
        filename="stock.csv", content=f"sku,delta\n{variant.sku},2\nNO-SUCH-SKU,1\n", actor=actor
    )
    inventory_upload_process(upload_id=upload.pk)
    catalog = catalog_import_create(  # a dry run: its results listed, nothing changed
        filename="catalog.csv",
        content=f"product_slug,sku,price\n{variant.product.slug},{variant.sku},cheap\n",
        actor=actor,
        dry_run=True,
    )
    catalog_import_process(import_id=catalog.pk)
    WebhookEvent.objects.create(
        provider="stripe", event_id="evt_admin_crawl", type="charge.updated", payload={}
    )
    _webhook_rows(actor)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    SolarSchedule.objects.create(
        event="sunrise", latitude=Decimal("48.85"), longitude=Decimal("2.35")
    )


def _webhook_rows(actor: User) -> None:
    """An endpoint (for an event the browser tests never cause: nothing is sent), an event and a
    delivery that failed once and then succeeded, as the webhooks admin shows them."""
    endpoint = Endpoint.objects.create(
        url="https://hooks.example.com/emporium",
        description="ERP",
        events=["product.deleted"],
        secret="whsec_e2e-secret-0123456789",  # noqa: S106 - a test row
        created_by=actor,
    )
    event = Event.objects.create(type="product.deleted", subject="999", payload={"id": 999})
    now = timezone.now()
    delivery = Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        status="delivered",
        attempts=2,
        retry_until=now,
        last_status_code=200,
        delivered_at=now,
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=now,
        outcome="retry",
        status_code=503,
        latency_ms=120,
        response_excerpt="Service Unavailable",
    )
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=2,
        started_at=now,
        outcome="succeeded",
        status_code=200,
        latency_ms=85,
        response_excerpt='{"received": true}',
    )


def _promotion_redemption(number: str) -> None:
    """The demo's cart promotion used by an order, as a checkout that reached it records (the
    browser tests' one-item orders stay under its threshold)."""
    PromotionRedemption.objects.create(
        promotion=CartPromotion.objects.order_by("pk").first(),
        order=Order.objects.get(number=number),
        amount=Decimal("4.90"),
    )


def _refund_as_the_worker_would(number: str) -> None:
    """The refund task the staff refund enqueued (no worker runs here), run in this process."""
    order = Order.objects.get(number=number)
    event = order.events.order_by("-id").first()
    payment_refund_task.run(order.pk, "1.00", f"event-{event.pk}")


def _local_storage(root: Path) -> dict:
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(root), "base_url": settings.MEDIA_URL},
    }


@pytest.fixture(scope="package")
def shop(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Shop]:
    browser.require_browser()
    media = tmp_path_factory.mktemp("media")
    # The seed's pictures go where the server serves media from.
    storages = {**settings.STORAGES, "default": _local_storage(media)}
    with django_db_blocker.unblock(), override_settings(STORAGES=storages):
        call_command("seed_demo", products=24, no_progress=True, stdout=io.StringIO())
        _viewer()
        _failed_task()
        _admin_rows(User.objects.get(email=settings.DEMO_STAFF_EMAIL))
        variants = list(
            Variant.objects.filter(is_active=True, stock_quantity__gt=2).values_list(
                "pk", flat=True
            )[:3]
        )
    try:
        with servers.runserver(log=ARTIFACTS / "server.log", MEDIA_ROOT=str(media)) as base:
            shop = Shop(base=base)
            shop.orders["pending"] = _place_order(shop, variants[0])
            shop.orders["paid"] = _place_order(shop, variants[1])
            shop.orders["coupon"] = _place_order(shop, variants[2], coupon="WELCOME10")
            with shop.api(shop.token(*shop.staff)) as http:
                for name in ("paid", "coupon"):
                    paid = http.post(
                        f"/api/staff/orders/{shop.orders[name]}/mark-paid",
                        json={"note": "bank transfer arrived"},
                        headers={"Idempotency-Key": f"mark-paid-{name}"},
                    )
                    assert paid.status_code == 200, paid.text
                refunded = http.post(
                    f"/api/staff/orders/{shop.orders['coupon']}/refund",
                    json={"amount": "1.00", "note": "a scratch on the box"},
                    headers={"Idempotency-Key": "refund-scratch"},
                )
                assert refunded.status_code == 200, refunded.text
            with django_db_blocker.unblock():
                _refund_as_the_worker_would(shop.orders["coupon"])
                _promotion_redemption(shop.orders["paid"])
            yield shop
    finally:
        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)
        cache.clear()


@pytest.fixture(scope="session")
def driver() -> Iterator[WebDriver]:
    browser.require_browser()
    chromium = browser.new_driver()
    try:
        yield chromium
    finally:
        chromium.quit()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


class Page:
    """The browser as one test uses it: paths on the shop's server, the console kept."""

    def __init__(self, driver: WebDriver, base: str) -> None:
        self.driver, self.base = driver, base
        self.console: list[dict] = []

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def wait_for(self, css: str, seconds: float = 20):
        return WebDriverWait(self.driver, seconds).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def status(self) -> int:
        """The HTTP status of the page shown (Chromium's navigation timing)."""
        return self.driver.execute_script(
            "return performance.getEntriesByType('navigation')[0].responseStatus"
        )

    def click(self, element) -> None:
        """Click `element` after scrolling it to the middle, clear of the sticky bars."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def console_errors(self) -> list[str]:
        """Console errors since the last call (all entries are kept for the failure report)."""
        entries = self.driver.get_log("browser")
        self.console.extend(entries)
        return [entry["message"] for entry in entries if entry["level"] == "SEVERE"]

    def sign_in(self, email: str, password: str, path: str = "/admin/login/") -> None:
        self.open(path)
        self.find("input[name=username]").send_keys(email)
        self.find("input[name=password]").send_keys(password)
        self.find("#login-form button[type=submit]").click()
        WebDriverWait(self.driver, 20).until(lambda d: "/login/" not in d.current_url)


@pytest.fixture
def page(request: pytest.FixtureRequest, driver: WebDriver, shop: Shop) -> Iterator[Page]:
    driver.delete_all_cookies()
    driver.get("about:blank")
    driver.get_log("browser")  # drop what earlier tests left
    current = Page(driver, shop.base)
    yield current
    reports = request.node.stash.get(REPORTS, {})
    if any(report.failed for report in reports.values()):
        _keep_artifacts(request.node.nodeid, current)


def _keep_artifacts(nodeid: str, page: Page) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = str(ARTIFACTS / re.sub(r"[^A-Za-z0-9_-]+", "_", nodeid))
    page.driver.save_screenshot(stem + ".png")
    page.console.extend(page.driver.get_log("browser"))
    lines = [f"{e['level']} {e.get('source', '')} {e['message']}" for e in page.console]
    Path(stem + ".console.log").write_text(
        f"url: {page.driver.current_url}\n" + "\n".join(lines) + "\n"
    )


@pytest.fixture(scope="session", autouse=True)
def _fresh_artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
