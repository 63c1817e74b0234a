"""Search use cases: run a query (and count it for the merchants' report, pruned of queries nobody
searches any more), tell backends about synonym changes."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from api.retention import delete_in_batches, retention_cutoff
from search.backends import get_backend
from search.base import SearchQuery, SearchResult, Suggestion
from search.models import SearchQueryStat
from search.pg.terms import normalise

logger = logging.getLogger("search.services")

_RECORD = f"""
INSERT INTO {SearchQueryStat._meta.db_table} AS s
    (query, searches, zero_result_searches, last_searched_at, last_zero_result_at)
VALUES (%(q)s, 1, %(zero)s, now(), CASE WHEN %(zero)s = 1 THEN now() END)
ON CONFLICT (query) DO UPDATE SET
    searches = s.searches + 1,
    zero_result_searches = s.zero_result_searches + EXCLUDED.zero_result_searches,
    last_searched_at = EXCLUDED.last_searched_at,
    last_zero_result_at = coalesce(EXCLUDED.last_zero_result_at, s.last_zero_result_at)
"""  # noqa: S608 - the table name is the model's


def search_run(*, query: SearchQuery) -> SearchResult:
    result = get_backend().search(query)
    if query.page == 1 and query.q.strip():
        search_query_record(query=query.q, total=result.total)
    return result


def search_query_record(*, query: str, total: int) -> None:
    """Count one search of this (normalised) query; never fails the search it counts."""
    if not settings.SEARCH_QUERY_STATS_ENABLED:
        return
    text = normalise(query)
    if not text:
        return
    try:
        # Its own savepoint-free statement in autocommit: one upsert, no transaction held.
        with connection.cursor() as cursor:
            cursor.execute(_RECORD, {"q": text, "zero": 1 if total == 0 else 0})
    except Exception:
        logger.warning("search query not recorded", exc_info=True)


def search_query_stats_prune(*, now: datetime | None = None) -> int:
    """Drop the queries nobody searched for in SEARCH_QUERY_STAT_KEEP_DAYS from the report."""
    cutoff = retention_cutoff(settings.SEARCH_QUERY_STAT_KEEP_DAYS, now=now)
    if cutoff is None:
        return 0
    return delete_in_batches(SearchQueryStat.objects.filter(last_searched_at__lt=cutoff))


def autocomplete_run(*, prefix: str, limit: int = 10) -> list[Suggestion]:
    return get_backend().autocomplete(prefix, limit=limit)


def synonyms_changed_on_commit() -> None:
    """After a synonym set is saved or deleted: backends that compile synonyms reload them."""

    def notify() -> None:
        try:
            get_backend().synonyms_changed()
        except Exception:
            logger.exception("search backend not told about the synonym change")

    transaction.on_commit(notify, robust=True)


def search_index_bootstrap(*, rebuild: bool) -> str:
    """After seeding (seed_demo, dev startup): set the backend up and index the catalog, fully
    (`rebuild`) or by repairing what drifted; a search outage does not fail the seeding."""
    backend = get_backend()
    try:
        backend.setup()
        if rebuild:
            report = backend.reindex()
            return f"search index rebuilt: {report.indexed} products"
        consistency = backend.check_consistency(sample=20, repair=True)
        return f"search index checked: {consistency.indexed} products"
    except Exception as exc:
        logger.exception("search index not built")
        return f"search index not built ({exc.__class__.__name__}); run manage.py search_reindex"
