"""seed_demo: a realistic catalog, the same for the same seed, skipped when one exists."""

import io

import pytest
from django.core.management import call_command

from core.models import User
from products.csv_io import export_csv
from products.models import Category, Product, ProductImage, Review, StockMovement, Variant
from products.seed import seed_catalog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(local_media):
    return local_media


def exported() -> str:
    out = io.StringIO()
    export_csv(out)
    return out.getvalue()


def test_the_demo_catalog_looks_like_a_shop(client, media):
    report = seed_catalog(products=80, seed=3, progress=False)
    assert (report.products, report.skipped) == (80, False)
    assert (
        Category.objects.filter(depth=2).exists() and not Category.objects.filter(depth=3).exists()
    )
    assert Category.objects.get(slug="running").parent.parent.slug == "apparel"
    counts = [p.variants.count() for p in Product.objects.all()]
    assert 1 in counts and max(counts) > 2  # with and without options
    assert not Product.objects.filter(price_min__isnull=True).exists()
    assert Review.objects.filter(status="published").exists()
    assert Product.objects.filter(rating_count__gt=0).exists()
    assert len(list(media.glob("seed/*.jpg"))) == 12
    assert ProductImage.objects.count() >= 80
    # The ledger explains every unit in stock.
    stock = sum(Variant.objects.values_list("stock_quantity", flat=True))
    assert stock == sum(StockMovement.objects.values_list("quantity_delta", flat=True))
    tree = client.get("/api/catalog/categories").json()
    assert [n["slug"] for n in tree] == ["apparel", "electronics", "home", "sports"]
    laptops = client.get("/api/catalog/products?category=laptops&page_size=100").json()
    assert any(
        item["variants"][0]["attributes"].keys() >= {"ram", "storage"}
        for item in laptops["results"]
    )


def test_the_same_seed_gives_the_same_catalog():
    seed_catalog(products=40, seed=11, progress=False)
    first = exported()
    seed_catalog(products=40, seed=11, progress=False, reset=True)
    assert exported() == first
    seed_catalog(products=40, seed=12, progress=False, reset=True)
    assert exported() != first


def test_seeding_again_is_a_no_op_and_variants_can_be_fixed():
    seed_catalog(products=10, seed=1, progress=False, variants=4)
    assert set(Product.objects.values_list("variants__product", flat=True)) and all(
        p.variants.count() == 4 for p in Product.objects.all()
    )
    assert seed_catalog(products=10, seed=1, progress=False).skipped
    assert Product.objects.count() == 10


def test_seed_demo_command_keeps_the_demo_logins(capsys):
    out = io.StringIO()
    call_command("seed_demo", "--products", "20", "--no-progress", stdout=out)
    text = out.getvalue()
    assert "seeded" in text and "staff@emporium.test" in text
    assert User.objects.get(email="staff@emporium.test").is_staff
    assert User.objects.filter(email="customer@emporium.test").exists()
    call_command("seed_demo", stdout=out)
    assert "skipped" in out.getvalue()
    assert Product.objects.count() == 20
