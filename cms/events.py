"""The one place a committed content change announces itself: the version token of every cached
content answer (api/cache.py) is replaced after the commit, so the next read rebuilds it.

Content answers are also stamped with the catalog's list token (products/services/events.py):
a carousel's products, a featured category's name or a menu's category link change with the
catalog, and the catalog's own writes announce those. Banner windows need no write at all: an
answer is kept only until the next start or end it contains (cms/answers.py).
"""

from __future__ import annotations

from django.db import transaction

from api.cache import versions_bump

CONTENT_VERSION = "cms:content"


def content_changed_on_commit() -> None:
    """Any content row written or deleted, in the transaction that does it."""
    # robust: a cache outage is logged; the committed write still answers its caller.
    transaction.on_commit(lambda: versions_bump(CONTENT_VERSION), robust=True)
