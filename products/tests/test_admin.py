"""The catalog admin: pages render, saves go through the ledger and the hooks, bulk actions."""

import io
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from products.models import CatalogImport, Product, Review, StockMovement, Variant
from products.services.stock import stock_adjust
from products.tests.fixtures import ReviewFactory
from testing.factories import UserFactory

pytestmark = pytest.mark.django_db


class FormValues(HTMLParser):
    """What a browser would submit from the page's main form (before any edit)."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in {"file", "submit", "button"}:
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.values[name] = "on"
            else:
                self.values[name] = a.get("value") or ""
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data.lstrip("\n")


def form_values(client, url) -> dict[str, str]:
    response = client.get(url)
    assert response.status_code == 200
    parser = FormValues()
    parser.feed(response.content.decode())
    parser.values.pop("csrfmiddlewaretoken", None)
    return parser.values


@pytest.fixture
def admin_client(client):
    user = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.mark.parametrize(
    "name",
    ["category", "brand", "attributedefinition", "product", "variant", "stockmovement", "review"],
)
def test_changelists_and_add_pages_render(admin_client, catalog, name):
    ReviewFactory(product=catalog.runner)
    assert admin_client.get(reverse(f"admin:products_{name}_changelist")).status_code == 200
    add = admin_client.get(reverse(f"admin:products_{name}_add"))
    assert add.status_code == (403 if name in {"stockmovement", "review"} else 200)


def test_category_list_draws_the_tree_and_products_filter(admin_client, catalog):
    page = admin_client.get(reverse("admin:products_category_changelist")).content.decode()
    assert page.index("Apparel") < page.index("Shoes") < page.index("Running")
    assert "padding-left:3.0rem" in page  # Running, two levels down
    found = admin_client.get(reverse("admin:products_product_changelist") + "?q=ZB-32")
    assert b"Zen Book" in found.content and b"Road Runner" not in found.content


def test_change_pages_render_with_inlines(admin_client, catalog):
    for name, obj in (
        ("product", catalog.runner),
        ("variant", catalog.runner_blue),
        ("category", catalog.shoes),
    ):
        response = admin_client.get(reverse(f"admin:products_{name}_change", args=[obj.pk]))
        assert response.status_code == 200
    page = admin_client.get(reverse("admin:products_product_change", args=[catalog.runner.pk]))
    assert b"RR-BLUE-42" in page.content and b"Mesh" in page.content


def test_a_stock_edit_is_a_difference_written_to_the_ledger(
    admin_client, catalog, django_capture_on_commit_callbacks
):
    url = reverse("admin:products_product_change", args=[catalog.runner.pk])
    data = form_values(admin_client, url)  # the page shows 5 for the blue variant
    index = next(
        k.split("-")[1]
        for k, v in data.items()
        if k.startswith("variants-") and k.endswith("-sku") and v == "RR-BLUE-42"
    )
    stock_adjust(variant_id=catalog.runner_blue.pk, delta=-2, reason="sale")  # sold meanwhile
    data[f"variants-{index}-stock_quantity"] = "8"  # staff received 3
    data["name"] = "Road Runner 2"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    variant = Variant.objects.get(pk=catalog.runner_blue.pk)
    assert variant.stock_quantity == 6  # 5 - 2 sold + 3 received
    movement = StockMovement.objects.filter(variant=variant).latest("id")
    assert (movement.quantity_delta, movement.reason, movement.actor) == (
        3,
        "adjustment",
        admin_client.user,
    )
    assert Product.objects.get(pk=catalog.runner.pk).name == "Road Runner 2"
    public = admin_client.get("/api/catalog/products/road-runner").json()
    assert public["name"] == "Road Runner 2"


def test_a_product_added_without_variants_gets_a_default_one(admin_client, catalog):
    url = reverse("admin:products_product_add")
    data = form_values(admin_client, url)
    data.update(name="Lace Set", slug="lace-set", category=str(catalog.shoes.pk), base_price="3.50")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[-3000:]
    product = Product.objects.get(slug="lace-set")
    variant = product.variants.get()
    assert variant.is_default and variant.sku == f"LACE-SET-{product.pk}"
    assert str(product.price_min) == "3.50"


def test_attribute_values_are_checked_in_the_admin(admin_client, catalog):
    url = reverse("admin:products_product_change", args=[catalog.laptop.pk])
    data = form_values(admin_client, url)
    data.update(
        {
            "attribute_values-TOTAL_FORMS": "1",
            "attribute_values-0-definition": str(catalog.material.pk),  # Apparel only
            "attribute_values-0-value": "Aluminium",
            "attribute_values-0-product": str(catalog.laptop.pk),
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200  # the form again, with the error
    assert b"does not apply" in response.content


def test_bulk_actions_call_the_services(admin_client, catalog):
    url = reverse("admin:products_product_changelist")
    ids = [str(catalog.runner.pk), str(catalog.laptop.pk)]
    admin_client.post(url, {"action": "deactivate", "_selected_action": ids})
    assert set(Product.objects.filter(is_active=False).values_list("slug", flat=True)) == {
        "road-runner",
        "zen-book",
    }
    admin_client.post(url, {"action": "feature", "_selected_action": ids})
    assert Product.objects.filter(is_featured=True).count() == 3
    export = admin_client.post(url, {"action": "export_csv", "_selected_action": ids})
    assert export["Content-Type"].startswith("text/csv")
    lines = export.content.decode().splitlines()
    assert lines[0].startswith("product_slug,") and len(lines) == 5  # header + 4 variants


def test_csv_import_page_dry_run_then_apply(admin_client, catalog, run_tasks):
    url = reverse("admin:products_product_import_csv")
    assert admin_client.get(url).status_code == 200
    text = "product_slug,sku,stock_quantity\nzen-book,ZB-16,3\nzen-book,ZB-32,-1\n"

    def send(dry_run, mode="valid"):
        upload = io.BytesIO(text.encode())
        upload.name = "stock.csv"
        data = {"file": upload, "mode": mode, "stock": "set"}
        if dry_run:
            data["dry_run"] = "on"
        return admin_client.post(url, data)

    report = send(dry_run=True)  # a small dry run is answered on the page
    assert report.status_code == 200
    page = report.content.decode()
    assert "would change" in page and "Expected a whole number from 0." in page
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 10
    assert not CatalogImport.objects.exists()
    with run_tasks():
        applied = send(dry_run=False)  # an import is a task; its page shows the rows
    job = CatalogImport.objects.get()
    assert applied.status_code == 302
    assert applied["Location"] == reverse("admin:products_catalogimport_change", args=[job.pk])
    assert (job.status, job.rows_total, job.stock_changes, job.rows_failed) == ("done", 2, 1, 1)
    assert Variant.objects.get(sku="ZB-16").stock_quantity == 3
    detail = admin_client.get(applied["Location"]).content.decode()
    assert "ZB-16" in detail and "Expected a whole number from 0." in detail


def test_review_moderation_actions(admin_client, catalog):
    review = ReviewFactory(product=catalog.slipper, rating=2)
    url = reverse("admin:products_review_changelist")
    admin_client.post(url, {"action": "publish", "_selected_action": [str(review.pk)]})
    assert Review.objects.get(pk=review.pk).status == "published"
    slipper = Product.objects.get(pk=catalog.slipper.pk)
    assert (str(slipper.rating_avg), slipper.rating_count) == ("2.00", 1)
    admin_client.post(url, {"action": "reject", "_selected_action": [str(review.pk)]})
    assert Product.objects.get(pk=catalog.slipper.pk).rating_count == 0


def test_the_ledger_cannot_be_edited(admin_client, catalog):
    movement = stock_adjust(variant_id=catalog.laptop_16.pk, delta=1)
    url = reverse("admin:products_stockmovement_change", args=[movement.pk])
    assert admin_client.get(url).status_code == 200  # view only
    admin_client.post(url, {"quantity_delta": "100"})
    assert StockMovement.objects.get(pk=movement.pk).quantity_delta == 1
