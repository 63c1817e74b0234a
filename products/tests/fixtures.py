"""The catalog tests' own factories and fixtures (registered in the root conftest.py); the shared
ones (products, variants, the small Catalog...) are in testing/factories.py."""

import factory
import pytest

from products.models import Review
from testing.factories import ProductFactory, UserFactory, bearer, staff_user


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    product = factory.SubFactory(ProductFactory)
    user = factory.SubFactory(UserFactory)
    rating = 4
    title = "Good"
    body = "Does what it says."


@pytest.fixture
def staff(db):
    return staff_user("products.*")


@pytest.fixture
def staff_headers(staff):
    return bearer(staff)


@pytest.fixture
def customer(db):
    return UserFactory(email="customer@example.com", first_name="Grace", last_name="Hopper")


@pytest.fixture
def customer_headers(customer):
    return bearer(customer)


@pytest.fixture
def local_media(settings, tmp_path):
    """Uploaded files stored under tmp_path (the directory returned), served at /media/."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": "/media/"},
        },
    }
    return tmp_path
