# ruff: noqa: S608 - SQL built from fixed text at import; every value is a parameter
"""PostgreSQL full-text search backend (the default; works on the embedded database).

Storage and indexing: search.pg.models and search.pg.indexer. Query words: search.pg.terms
(typo correction against the vocabulary, synonyms). The search statement: search.pg.query.
A search costs three statements (vocabulary lookup, synonyms, the hits-total-facets statement)
and a fourth, an index probe, when only its words could depend on the variant (search.pg.query.
product_words); an autocomplete one to three. Searches and autocompletes read through
api.db_router.read_cursor() (the replica when the route marked them safe; a cached answer is
built inside api.cache.fill_reads, so never from a replica behind the index's version token);
indexing, its consistency check and the health probe use the primary.
"""

from __future__ import annotations

import hashlib
import logging
import random

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from api import cache
from api.db_router import read_cursor
from search.base import (
    ConsistencyReport,
    IndexReport,
    Progress,
    SearchBackend,
    SearchQuery,
    SearchResult,
    Suggestion,
)
from search.documents import product_documents, searchable_product_count, searchable_product_ids
from search.models import ReindexCheckpoint
from search.pg import indexer, terms
from search.pg import query as query_module
from search.pg.indexer import INDEX_VERSION, index_changed

logger = logging.getLogger("search.pg")

AUTOCOMPLETE_MAX = 10
CACHE_TTL = 30  # seconds; bounds the staleness of what reaches search without an index write
KIND_ORDER = "CASE s.kind WHEN 'brand' THEN 0 WHEN 'category' THEN 1 ELSE 2 END"

# Every word a prefix of a word of the suggestion ("nike air" -> "Nike Air Max 90"); the text
# pattern index serves the first word, the trigram index the others.
_AUTOCOMPLETE = f"""
SELECT s.kind, s.text, s.slug FROM search_pg_suggestion s
WHERE {{conditions}}
ORDER BY (s.norm LIKE %(first)s) DESC, {KIND_ORDER}, s.weight DESC, s.text, s.ref_id
LIMIT %(limit)s
"""

# The nearest known word for each typed word, by trigram distance on the GiST index; the last
# (unfinished) word by word similarity, so "addi" finds "adidas".
_NEAREST = """
SELECT t.i, c.word FROM unnest(%s::text[]) WITH ORDINALITY AS t(word, i)
LEFT JOIN LATERAL (
    SELECT w.word FROM search_pg_word w
    WHERE length(t.word) >= 3
    ORDER BY CASE WHEN t.i = %s THEN t.word <<-> w.word ELSE t.word <-> w.word END, w.ndoc DESC
    LIMIT 1
) c ON true
"""

_CONSISTENCY_IDS = """
SELECT DISTINCT product_id FROM search_pg_product ORDER BY product_id
"""


def _like_escape(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresBackend(SearchBackend):
    name = "postgres"

    def ping(self) -> None:
        """Raise unless the database answers and has the extensions full-text search uses."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_extension WHERE extname IN ('pg_trgm', 'unaccent')"
            )
            (count,) = cursor.fetchone()
        if count != 2:
            raise RuntimeError("the pg_trgm and unaccent extensions are missing; run migrate")

    def setup(self) -> None:
        """The tables, indexes and text search configuration come with the migrations; this
        only checks them and fills the brand and category suggestions."""
        self.ping()
        indexer.refresh_structure_suggestions()

    # -- queries ------------------------------------------------------------------------------

    def search(self, query: SearchQuery) -> SearchResult:
        """Every word (or one of its corrections or synonyms) must match: zero means zero, so
        the merchants' report of queries that found nothing is exact.

        Answers are cached for SEARCH_CACHE_TTL seconds (default 30; 0 turns it off) under the
        search index's version token, which every index write, vocabulary rebuild and synonym
        change replaces: a change that went through the index is seen at once; one that did not
        (a brand, category or attribute definition renamed) shows within the TTL."""
        analysis = terms.analyse(query.q)
        ttl = getattr(settings, "SEARCH_CACHE_TTL", CACHE_TTL)
        if ttl <= 0:
            return self._search(query, analysis)
        # The words' analysis (vocabulary, synonyms: two cheap statements) is part of the key,
        # so a synonym or correction change applies at once without a bump.
        words = "" if analysis.empty else analysis.tsquery(any_group=False)
        fingerprint = repr((query, words, analysis.raw_tokens, analysis.corrected_text()))
        key = "search:pg:" + hashlib.sha256(fingerprint.encode()).hexdigest()
        try:
            entry, stamp = cache.entry_get(key, [INDEX_VERSION])
        except Exception:
            logger.exception("search cache read failed")
            return self._search(query, analysis)
        if entry is not None and entry.stamp == stamp and isinstance(entry.meta, SearchResult):
            return entry.meta
        with cache.fill_reads(stamp):
            result = self._search(query, analysis)
        try:
            cache.entry_set(key, stamp, b"", ttl, meta=result)
        except Exception:
            logger.exception("search cache write failed")
        return result

    def _search(self, query: SearchQuery, analysis: terms.Analysis) -> SearchResult:
        result = query_module.run(query, analysis)
        suggestion = analysis.corrected_text()
        if suggestion is None:
            return result
        return SearchResult(
            total=result.total, hits=result.hits, facets=result.facets, suggestion=suggestion
        )

    def autocomplete(self, prefix: str, *, limit: int = AUTOCOMPLETE_MAX) -> list[Suggestion]:
        limit = max(1, min(limit, AUTOCOMPLETE_MAX))
        words = terms.normalise(prefix).split()[: terms.MAX_WORDS]
        words = [w for w in (terms.TOKEN.findall(w) for w in words) for w in w]
        if not words:
            return []
        found = self._suggest(words, limit)
        if len(found) < limit:
            corrected = self._nearest(words)
            if corrected != words:
                seen = {(s.kind, s.slug) for s in found}
                found += [
                    s for s in self._suggest(corrected, limit) if (s.kind, s.slug) not in seen
                ][: limit - len(found)]
        return found

    def _suggest(self, words: list[str], limit: int) -> list[Suggestion]:
        params: dict[str, object] = {"limit": limit, "first": _like_escape(words[0]) + "%"}
        conditions = []
        for i, word in enumerate(words):
            params[f"w{i}"] = _like_escape(word) + "%"
            params[f"m{i}"] = "% " + _like_escape(word) + "%"
            conditions.append(f"(s.norm LIKE %(w{i})s OR s.norm LIKE %(m{i})s)")
        with read_cursor() as cursor:
            cursor.execute(_AUTOCOMPLETE.replace("{conditions}", " AND ".join(conditions)), params)
            return [Suggestion(kind=k, text=t, slug=s) for k, t, s in cursor.fetchall()]

    def _nearest(self, words: list[str]) -> list[str]:
        with read_cursor() as cursor:
            cursor.execute(_NEAREST, [words, len(words)])
            nearest = dict(cursor.fetchall())
        return [nearest.get(i + 1) or word for i, word in enumerate(words)]

    # -- indexing -----------------------------------------------------------------------------

    def index_products(self, product_ids: list[int]) -> IndexReport:
        indexed, removed = indexer.index_products(product_ids)
        return IndexReport(indexed=indexed, removed=removed)

    def reindex(
        self, *, batch_size: int = 500, resume: bool = False, progress: Progress | None = None
    ) -> IndexReport:
        """Batches in id order, each replacing its id range in one transaction, so searches keep
        answering throughout; what left the catalog since the last run leaves the index."""
        checkpoint, _ = ReindexCheckpoint.objects.get_or_create(backend=self.name)
        if not (resume and checkpoint.status == ReindexCheckpoint.Status.RUNNING):
            checkpoint.status = ReindexCheckpoint.Status.RUNNING
            checkpoint.last_product_id = 0
            checkpoint.processed = 0
            checkpoint.started_at = timezone.now()
            checkpoint.finished_at = None
        checkpoint.total = searchable_product_count()
        checkpoint.save()
        indexed = removed = 0
        after = checkpoint.last_product_id
        while True:
            ids = searchable_product_ids(after_id=after, limit=batch_size)
            upper = ids[-1] if ids else None
            with transaction.atomic():
                removed += self._remove_gone(after, upper, ids)
                if ids:
                    docs = product_documents(ids)
                    indexer.write_documents(ids, docs)
                    indexed += len(docs)
                    checkpoint.last_product_id = upper
                    checkpoint.processed += len(ids)
                    checkpoint.save(update_fields=["last_product_id", "processed", "updated_at"])
            if progress and ids:
                progress(len(ids))
            if not ids:
                break
            after = upper
        indexer.rebuild_vocabulary()
        indexer.refresh_structure_suggestions()
        checkpoint.status = ReindexCheckpoint.Status.DONE
        checkpoint.finished_at = timezone.now()
        checkpoint.save(update_fields=["status", "finished_at", "updated_at"])
        return IndexReport(indexed=indexed, removed=removed)

    def _remove_gone(self, after: int, upper: int | None, wanted: list[int]) -> int:
        """Drop indexed products in (after, upper] that are not searchable any more."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT product_id FROM search_pg_product WHERE product_id > %s"
                " AND (%s::bigint IS NULL OR product_id <= %s)",
                [after, upper, upper],
            )
            indexed = [row[0] for row in cursor.fetchall()]
        if not indexed:
            return 0
        keep = set(wanted)
        gone = [pk for pk in indexed if pk not in keep]
        if gone:
            indexer.write_documents(gone, [])
        return len(gone)

    def check_consistency(self, *, sample: int = 50, repair: bool = True) -> ConsistencyReport:
        expected = set(_all_searchable_ids())
        with connection.cursor() as cursor:
            cursor.execute(_CONSISTENCY_IDS)
            indexed = {row[0] for row in cursor.fetchall()}
            # A product whose rows went missing but whose payload stayed is drift too.
            cursor.execute(
                "SELECT p.product_id FROM search_pg_product p WHERE NOT EXISTS "
                "(SELECT 1 FROM search_pg_entry e WHERE e.product_id = p.product_id)"
            )
            hollow = {row[0] for row in cursor.fetchall()}
        missing = sorted((expected - indexed) | (hollow & expected))
        extra = sorted(indexed - expected)
        candidates = sorted(expected & indexed - hollow)
        sampled = random.sample(candidates, min(sample, len(candidates)))
        stale = []
        if sampled:
            docs = {doc.id: doc for doc in product_documents(sampled)}
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT product_id, checksum FROM search_pg_product WHERE product_id = ANY(%s)",
                    [sampled],
                )
                stored = dict(cursor.fetchall())
            stale = sorted(
                pk
                for pk in sampled
                if pk in docs and stored.get(pk) != indexer.document_checksum(docs[pk])
            )
        report = ConsistencyReport(
            indexed=len(indexed - hollow),
            expected=len(expected),
            missing=tuple(missing),
            extra=tuple(extra),
            stale=tuple(stale),
        )
        if repair and not report.consistent:
            for start in range(0, len(missing), 500):
                indexer.index_products(missing[start : start + 500])
            for start in range(0, len(extra), 500):
                indexer.write_documents(extra[start : start + 500], [])
            if stale:
                indexer.index_products(stale)
            indexer.rebuild_vocabulary()
            indexer.refresh_structure_suggestions()
            report = ConsistencyReport(
                indexed=report.indexed,
                expected=report.expected,
                missing=report.missing,
                extra=report.extra,
                stale=report.stale,
                repaired=True,
            )
        return report

    def synonyms_changed(self) -> None:
        """Synonyms are read at query time: nothing to rebuild, but cached answers go."""
        index_changed()


def _all_searchable_ids() -> list[int]:
    ids: list[int] = []
    after = 0
    while True:
        batch = searchable_product_ids(after_id=after, limit=50_000)
        ids += batch
        if len(batch) < 50_000:
            return ids
        after = batch[-1]
