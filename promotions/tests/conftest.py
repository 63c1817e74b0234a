import pytest


@pytest.fixture(autouse=True)
def _shop_defaults(clear_cache, shop_rules):
    """Every promotion test starts with an empty cache and known shipping and tax rules
    (flat 5.00, free from 50.00, no tax)."""
