"""Search tasks: thin, by id, safe to run twice (indexing re-reads the database every time).

Names route to the search.index_product queue (api.celery.route_task: the queue's name or a name
under it), so indexing never waits behind emails or reports.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

logger = logging.getLogger("search.tasks")

STRUCTURE_PENDING_KEY = "search:structure-reindex-pending"


@shared_task(name="search.index_product")
def search_index_product_task(product_ids: list[int]) -> dict:
    """Re-read these products and (re)index them; deleted or hidden ones leave the index."""
    from search.backends import get_backend

    report = get_backend().index_products([int(pk) for pk in product_ids])
    return {"indexed": report.indexed, "removed": report.removed}


@shared_task(name="search.index_product.structure")
def search_structure_reindex_task() -> dict:
    """Categories, brands or attribute definitions changed (a rename, a category hidden): their
    names are in many documents, so the index is rebuilt in place, batch by batch."""
    from search.backends import get_backend

    cache.delete(STRUCTURE_PENDING_KEY)
    report = get_backend().reindex()
    logger.info("search structure reindex", extra={"indexed": report.indexed})
    return {"indexed": report.indexed, "removed": report.removed}


@shared_task(name="search.index_product.consistency")
def search_consistency_task(sample: int = 50) -> dict:
    """Beat: compare the index with the database and repair drift (counts, ids, sampled docs)."""
    from search.backends import get_backend

    report = get_backend().check_consistency(sample=sample, repair=True)
    summary = {
        "indexed": report.indexed,
        "expected": report.expected,
        "missing": len(report.missing),
        "extra": len(report.extra),
        "stale": len(report.stale),
        "repaired": report.repaired,
    }
    log = logger.info if report.consistent else logger.warning
    log("search consistency", extra=summary)
    return summary


@shared_task(name="maintenance.prune_search_query_stats")
def search_query_stats_prune_task() -> int:
    """Daily (beat, default queue): queries nobody searched for SEARCH_QUERY_STAT_KEEP_DAYS."""
    from search.services import search_query_stats_prune

    deleted = search_query_stats_prune()
    logger.info("pruned", extra={"table": "search query stats", "deleted": deleted})
    return deleted
