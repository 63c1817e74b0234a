import pytest


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """Tasks enqueued after commit run at once, in process: `with run_tasks(): client.post(...)`."""
    from api.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    yield runner
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _shop_rules(settings):
    """Known shipping and tax rules, whatever the environment says."""
    from decimal import Decimal

    settings.SHIPPING_FLAT_RATE = Decimal("5.00")
    settings.SHIPPING_FREE_THRESHOLD = Decimal("50.00")
    settings.TAX_RATE = Decimal("0")
    settings.TAX_SHIPPING = True
