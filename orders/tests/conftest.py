import pytest


@pytest.fixture(autouse=True)
def _shop_defaults(clear_cache, shop_rules):
    """Every order test starts with an empty cache and known shipping and tax rules."""
