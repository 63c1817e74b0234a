"""The account tests' fixtures (registered in the root conftest.py); their factories are in
testing/factories.py."""

import pytest

from testing.factories import PASSWORD, UserFactory


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory(email="ada@example.com")


@pytest.fixture
def other_user(db):
    return UserFactory(email="grace@example.com", first_name="Grace", last_name="Hopper")
