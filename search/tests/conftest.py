import pytest


@pytest.fixture(autouse=True)
def _no_pending_structure_rebuild():
    from django.core.cache import cache

    from search.tasks import STRUCTURE_PENDING_KEY

    cache.delete(STRUCTURE_PENDING_KEY)
