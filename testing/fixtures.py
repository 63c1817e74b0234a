"""Fixtures any app's tests may ask for (registered in the root conftest.py, as each app's
tests/fixtures.py is).

None of them is autouse here, since that would apply it to every test of every app: an app that
wants one for all its tests asks for it from an autouse fixture in its own tests/conftest.py.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from api.celery import app
from testing.factories import Catalog


@pytest.fixture
def eager_tasks():
    """Tasks run in process when published (after commit)."""
    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def run_tasks(eager_tasks, django_capture_on_commit_callbacks):
    """Tasks enqueued after commit run at once, in process: `with run_tasks(): client.post(...)`."""

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    return runner


@pytest.fixture
def clear_cache():
    """An empty cache, so that a hit is always one the test made itself."""
    cache.clear()


@pytest.fixture
def shop_rules(settings):
    """Known shipping and tax rules, whatever the environment says."""
    settings.SHIPPING_FLAT_RATE = Decimal("5.00")
    settings.SHIPPING_FREE_THRESHOLD = Decimal("50.00")
    settings.TAX_RATE = Decimal("0")
    settings.TAX_SHIPPING = True


@pytest.fixture
def catalog(db):
    """The small catalog of testing.factories.Catalog."""
    return Catalog()
