import pytest


@pytest.fixture(autouse=True)
def _empty_cache(clear_cache):
    """Every content test starts with an empty cache, so a hit is always one it made itself."""
