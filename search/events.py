"""Catalog events -> indexing tasks. products.services.events calls these after commit.

Publishing never fails the caller: the catalog write is committed already, and the hourly
consistency task repairs whatever an unreachable broker lost.
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


def products_index_publish(product_ids: Iterable[int]) -> None:
    ids = sorted({int(pk) for pk in product_ids})
    try:
        for start in range(0, len(ids), BATCH):
            search_index_product_task.apply_async(args=[ids[start : start + BATCH]])
    except Exception:
        logger.exception("search indexing event not published", extra={"product_ids": ids[:50]})


def structure_reindex_publish() -> None:
    try:
        if cache.add(STRUCTURE_PENDING_KEY, 1, timeout=STRUCTURE_DELAY_SECONDS * 20):
            search_structure_reindex_task.apply_async(countdown=STRUCTURE_DELAY_SECONDS)
    except Exception:
        logger.exception("search structure event not published")
