import pytest

from api.auth import tokens_for
from products.tests.factories import UserFactory, staff_with_perms


def bearer(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens_for(user)['access']}"}


@pytest.fixture
def staff(db):
    return staff_with_perms("*")


@pytest.fixture
def staff_headers(staff):
    return bearer(staff)


@pytest.fixture
def customer(db):
    return UserFactory(email="customer@example.com", first_name="Grace", last_name="Hopper")


@pytest.fixture
def customer_headers(customer):
    return bearer(customer)


@pytest.fixture(autouse=True)
def _clear_cache():
    # Each test starts with an empty cache, so a hit is always one the test made itself.
    from django.core.cache import cache

    cache.clear()
    yield
