"""Catalog events -> indexing tasks, called by products.services.events.

A product change is indexed through the outbox (api/outbox.py): its messages are written in the
transaction of the change, so a broker outage delays indexing and loses nothing. A structure
change (a category renamed, hidden) is a debounced rebuild published after the commit: rare,
and the hourly consistency task repairs one an outage lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.cache import cache

from search.tasks import (
    STRUCTURE_PENDING_KEY,
    search_index_product_task,
    search_structure_reindex_task,
)

logger = logging.getLogger("search.events")

BATCH = 500
# Structure changes come in bursts (an admin renaming a few categories): one rebuild a bit later.
STRUCTURE_DELAY_SECONDS = 30


def products_index_enqueue(product_ids: Iterable[int]) -> None:
    """Index these products after the current transaction commits (outbox rows written now)."""
    ids = sorted({int(pk) for pk in product_ids})
    for start in range(0, len(ids), BATCH):
        search_index_product_task.apply_async_on_commit(args=[ids[start : start + BATCH]])


def structure_reindex_publish() -> None:
    try:
        if cache.add(STRUCTURE_PENDING_KEY, 1, timeout=STRUCTURE_DELAY_SECONDS * 20):
            search_structure_reindex_task.apply_async(countdown=STRUCTURE_DELAY_SECONDS)
    except Exception:
        logger.exception("search structure event not published")
