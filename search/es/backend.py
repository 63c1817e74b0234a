"""Elasticsearch backend (SEARCH_BACKEND=elasticsearch).

Reads and writes go through the alias ELASTICSEARCH_INDEX_ALIAS. A reindex builds a new index
("<alias>-<timestamp>") in bulk and moves the alias in one `_aliases` call, so search never sees a
missing or half-built index; while it runs, index_products() writes to both the live index and the
one being built (the checkpoint row names it), so nothing that changes meanwhile is lost.
Synonyms live in a synonyms set (ES >= 8.10): updating it reloads the search analyzers of every
index that uses it, without closing an index or reindexing.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.utils import timezone
from elastic_transport import Transport
from elastic_transport.client_utils import DEFAULT
from elasticsearch import ApiError as ElasticsearchApiError
from elasticsearch import Elasticsearch, NotFoundError, TransportError, helpers

from products.models import AttributeDefinition, Category
from search.base import (
    ConsistencyReport,
    IndexReport,
    ProductDocument,
    Progress,
    SearchBackend,
    SearchQuery,
    SearchResult,
    Suggestion,
)
from search.documents import product_documents, searchable_product_count, searchable_product_ids
from search.es import documents, mapping, queries, results
from search.es.errors import SearchUnavailable
from search.models import ReindexCheckpoint, Synonym

logger = logging.getLogger("search.es")

BACKEND = "elasticsearch"
ID_PAGE = 5000  # ids per page when listing what the database or the index holds


class CompatTransport(Transport):
    """Sends `compatible-with=<ELASTICSEARCH_COMPATIBILITY>` instead of the 9.x client's 9 when
    that setting says 8: the same client then talks to an 8.x cluster being upgraded to 9."""

    compatibility = 9

    def perform_request(self, method, target, *, headers=DEFAULT, **kwargs):
        if headers is not DEFAULT and headers:
            headers = dict(headers)
            for name in list(headers):
                if name.lower() in ("accept", "content-type") and headers[name]:
                    headers[name] = headers[name].replace(
                        "compatible-with=9", f"compatible-with={self.compatibility}"
                    )
        return super().perform_request(method, target, headers=headers, **kwargs)


@lru_cache(maxsize=4)
def get_client(url: str, compatibility: int, timeout: float) -> Elasticsearch:
    """One client (and its connection pool) per process and URL."""
    transport = type("CompatTransport", (CompatTransport,), {"compatibility": compatibility})
    return Elasticsearch(
        url, request_timeout=timeout, max_retries=1, retry_on_timeout=False,
        transport_class=transport,
    )  # fmt: skip


def swap_alias_actions(alias: str, old_indexes: Iterable[str], new_index: str) -> list[dict]:
    """One atomic `_aliases` request: the alias leaves the old indexes and joins the new one."""
    actions = [{"remove": {"index": old, "alias": alias}} for old in sorted(old_indexes)]
    actions.append({"add": {"index": new_index, "alias": alias}})
    return actions


def _normalised(source: dict) -> dict:
    return json.loads(json.dumps(source))


class ElasticsearchBackend(SearchBackend):
    name = BACKEND

    def __init__(self, url: str) -> None:
        self.url = url
        self.alias = mapping.alias_name()

    @classmethod
    def from_settings(cls) -> ElasticsearchBackend:
        return cls(settings.ELASTICSEARCH_URL)

    @property
    def client(self) -> Elasticsearch:
        return get_client(
            self.url, settings.ELASTICSEARCH_COMPATIBILITY, settings.ELASTICSEARCH_TIMEOUT
        )

    @property
    def bulk_client(self) -> Elasticsearch:
        return self.client.options(request_timeout=settings.ELASTICSEARCH_BULK_TIMEOUT)

    # -- health and setup -------------------------------------------------------------------

    def ping(self) -> None:
        if not self.url:
            raise RuntimeError("ELASTICSEARCH_URL is not set")
        self.client.options(
            request_timeout=settings.ELASTICSEARCH_PING_TIMEOUT, max_retries=0
        ).info()

    def setup(self) -> None:
        """The synonyms set, then (unless the alias already points somewhere) a first index
        created with the alias on it."""
        self.put_synonyms()
        if targets := self.alias_targets():
            self.warn_if_outdated(targets)
            return
        if self.client.indices.exists(index=self.alias):
            raise RuntimeError(
                f"{self.alias!r} is an index, not an alias (written before setup?); delete it and"
                " run init_search again"
            )
        body = mapping.index_body()
        self.client.indices.create(index=mapping.new_index_name(), aliases={self.alias: {}}, **body)

    def warn_if_outdated(self, targets: list[str]) -> bool:
        mappings = self.client.indices.get_mapping(index=targets).body
        versions = {
            name: body.get("mappings", {}).get("_meta", {}).get("mapping_version")
            for name, body in mappings.items()
        }
        outdated = {n: v for n, v in versions.items() if v != mapping.MAPPING_VERSION}
        if outdated:
            logger.warning(
                "search index mapping is outdated; run manage.py search_reindex",
                extra={"indexes": outdated, "expected": mapping.MAPPING_VERSION},
            )
        return bool(outdated)

    def put_synonyms(self) -> None:
        rules = mapping.synonym_rules(Synonym.solr_lines())
        self.client.synonyms.put_synonym(id=settings.ELASTICSEARCH_SYNONYMS_SET, synonyms_set=rules)

    def synonyms_changed(self) -> None:
        # Updating the set reloads the (updateable) search analyzers of every index using it.
        self.put_synonyms()

    def alias_targets(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias))
        except NotFoundError:
            return []

    # -- queries ----------------------------------------------------------------------------

    def _search(self, body: dict) -> dict:
        """One search through the alias; an unreachable, failing or missing index is a 503 for
        the client (logged here), a request Elasticsearch rejects stays an error to fix."""
        try:
            return self.client.search(index=self.alias, body=body).body
        except (TransportError, ElasticsearchApiError) as exc:
            status = getattr(exc, "status_code", None)
            if isinstance(exc, ElasticsearchApiError) and status not in (404, 429) and status < 500:
                raise
            logger.exception("elasticsearch search failed", extra={"status": status})
            raise SearchUnavailable(headers={"Retry-After": "5"}) from exc

    def search(self, query: SearchQuery) -> SearchResult:
        response = self._search(queries.search_body(query))
        labels = self.labels(response) if query.facets else results.Labels()
        return results.search_result(
            response, query, labels, suggest_below=settings.ELASTICSEARCH_SUGGEST_BELOW
        )

    def labels(self, response: dict) -> results.Labels:
        aggs = response.get("aggregations", {})
        slugs = [b["key"] for b in aggs.get("f_category", {}).get("values", {}).get("buckets", [])]
        categories = dict(
            Category.objects.filter(slug__in=slugs, is_active=True).values_list("slug", "name")
        )
        # One definition per code (the first created), shown by position then code: as PostgreSQL.
        first: dict[str, tuple] = {}
        definitions = AttributeDefinition.objects.filter(is_filterable=True).order_by("code", "id")
        for row in definitions.values_list("code", "name", "type", "choices", "position"):
            first.setdefault(row[0], row)
        attributes = {
            code: results.Attribute(name=name, kind=kind, choices=tuple(choices or ()))
            for code, name, kind, choices, _position in sorted(
                first.values(), key=lambda row: (row[4], row[0])
            )
        }
        return results.Labels(categories=categories, attributes=attributes)

    def autocomplete(self, prefix: str, *, limit: int = 10) -> list[Suggestion]:
        if not prefix.strip():
            return []
        response = self._search(queries.autocomplete_body(prefix, limit=limit))
        return results.suggestions(response, limit=limit)

    # -- indexing ---------------------------------------------------------------------------

    def running_reindex_target(self) -> str | None:
        checkpoint = ReindexCheckpoint.objects.filter(
            backend=BACKEND, status=ReindexCheckpoint.Status.RUNNING
        ).first()
        return checkpoint.target if checkpoint and checkpoint.target else None

    def indexed_ids(self, index: str, product_ids: list[int]) -> dict[str, int]:
        """Document id -> product id, for the documents of these products in `index`."""
        found: dict[str, int] = {}
        for start in range(0, len(product_ids), 1000):
            chunk = product_ids[start : start + 1000]
            response = self.client.search(
                index=index,
                query={"terms": {"product_id": chunk}},
                source=["product_id"],
                size=10000,
                track_total_hits=False,
            )
            for hit in response["hits"]["hits"]:
                found[hit["_id"]] = hit["_source"]["product_id"]
        return found

    def write_actions(self, index: str, docs: list[ProductDocument], product_ids: list[int]):
        """Index the products' documents and delete the ones that no longer exist (a variant
        deactivated, a product gone or hidden)."""
        existing = self.indexed_ids(index, product_ids)
        keep = {_id for doc in docs for _id in documents.product_sources(doc)}
        stale = sorted(set(existing) - keep)
        kept_products = {doc.id for doc in docs}
        removed = {existing[_id] for _id in stale} - kept_products
        actions = documents.index_actions(index, docs) + documents.delete_actions(index, stale)
        return actions, removed

    def index_products(self, product_ids: list[int]) -> IndexReport:
        ids = sorted(set(product_ids))
        if not ids:
            return IndexReport()
        docs = product_documents(ids)
        targets = [self.alias]
        building = self.running_reindex_target()
        if building and self.client.indices.exists(index=building):
            targets.append(building)
        removed: set[int] = set()
        for target in targets:
            if target != self.alias:
                # The index being built does not refresh on its own; its documents must be
                # visible for the stale ones to be found.
                self.client.indices.refresh(index=target)
            actions, gone = self.write_actions(target, docs, ids)
            removed |= gone
            if actions:
                # Writes through the alias require it: never auto-create a stray index named
                # like the alias when setup has not run.
                options = {"require_alias": True} if target == self.alias else {}
                helpers.bulk(self.bulk_client, actions, raise_on_error=True, **options)
        return IndexReport(indexed=len(docs), removed=len(removed))

    def reindex(
        self, *, batch_size: int = 500, resume: bool = False, progress: Progress | None = None
    ) -> IndexReport:
        checkpoint = ReindexCheckpoint.objects.filter(backend=BACKEND).first()
        if (
            resume
            and checkpoint
            and checkpoint.status == ReindexCheckpoint.Status.RUNNING
            and checkpoint.target
            and self.client.indices.exists(index=checkpoint.target)
        ):
            target = checkpoint.target
            logger.info(
                "reindex resumed", extra={"index": target, "after": checkpoint.last_product_id}
            )
        else:
            if checkpoint and checkpoint.status == ReindexCheckpoint.Status.RUNNING:
                self.drop_abandoned(checkpoint.target)
            self.put_synonyms()
            target = mapping.new_index_name()
            self.client.indices.create(index=target, **mapping.index_body(building=True))
            checkpoint, _ = ReindexCheckpoint.objects.update_or_create(
                backend=BACKEND,
                defaults={
                    "target": target,
                    "status": ReindexCheckpoint.Status.RUNNING,
                    "last_product_id": 0,
                    "processed": 0,
                    "total": searchable_product_count(),
                    "started_at": timezone.now(),
                    "finished_at": None,
                },
            )
            logger.info("reindex started", extra={"index": target, "total": checkpoint.total})

        after, processed = checkpoint.last_product_id, checkpoint.processed
        indexed = 0
        while ids := searchable_product_ids(after_id=after, limit=batch_size):
            docs = product_documents(ids)
            actions = documents.index_actions(target, docs)
            if actions:
                helpers.bulk(self.bulk_client, actions, chunk_size=1000, raise_on_error=True)
            after, processed, indexed = ids[-1], processed + len(ids), indexed + len(docs)
            ReindexCheckpoint.objects.filter(pk=checkpoint.pk).update(
                last_product_id=after, processed=processed, updated_at=timezone.now()
            )
            if progress:
                progress(len(ids))

        self.client.indices.put_settings(index=target, settings=mapping.live_settings())
        self.client.indices.refresh(index=target)
        old = [name for name in self.alias_targets() if name != target]
        self.client.indices.update_aliases(actions=swap_alias_actions(self.alias, old, target))
        for name in old:
            self.client.options(ignore_status=404).indices.delete(index=name)
        ReindexCheckpoint.objects.filter(pk=checkpoint.pk).update(
            status=ReindexCheckpoint.Status.DONE, finished_at=timezone.now()
        )
        logger.info("reindex done", extra={"index": target, "processed": processed, "old": old})
        return IndexReport(indexed=indexed)

    def drop_abandoned(self, index: str) -> None:
        """An interrupted build nobody resumes: delete it unless the alias points at it."""
        if index and index not in self.alias_targets():
            self.client.options(ignore_status=404).indices.delete(index=index)

    # -- consistency ------------------------------------------------------------------------

    def index_product_ids(self) -> set[int]:
        """Every product id in the live index (composite aggregation, paged)."""
        ids: set[int] = set()
        after = None
        while True:
            composite = {"size": ID_PAGE, "sources": [{"id": {"terms": {"field": "product_id"}}}]}
            if after:
                composite["after"] = after
            response = self.client.search(
                index=self.alias, size=0, aggs={"ids": {"composite": composite}}
            )
            agg = response["aggregations"]["ids"]
            ids.update(int(b["key"]["id"]) for b in agg["buckets"])
            after = agg.get("after_key")
            if not agg["buckets"] or not after:
                return ids

    def stale_products(self, product_ids: list[int]) -> list[int]:
        """Sampled products whose documents differ from what the database gives now."""
        if not product_ids:
            return []
        expected = {
            doc.id: _normalised(documents.product_sources(doc))
            for doc in product_documents(product_ids)
        }
        response = self.client.search(
            index=self.alias, query={"terms": {"product_id": product_ids}}, size=10000
        )
        actual: dict[int, dict] = {}
        for hit in response["hits"]["hits"]:
            actual.setdefault(hit["_source"]["product_id"], {})[hit["_id"]] = hit["_source"]
        return sorted(pid for pid in product_ids if expected.get(pid, {}) != actual.get(pid, {}))

    def check_consistency(self, *, sample: int = 50, repair: bool = True) -> ConsistencyReport:
        expected: set[int] = set()
        after = 0
        while ids := searchable_product_ids(after_id=after, limit=ID_PAGE):
            expected.update(ids)
            after = ids[-1]
        indexed = self.index_product_ids()
        missing = tuple(sorted(expected - indexed))
        extra = tuple(sorted(indexed - expected))
        common = sorted(expected & indexed)
        sampled = sorted(random.sample(common, min(sample, len(common))))
        stale = tuple(self.stale_products(sampled))
        drift = missing + extra + stale
        if repair and drift:
            self.index_products(list(drift))
            logger.warning(
                "search index repaired",
                extra={"missing": len(missing), "extra": len(extra), "stale": len(stale)},
            )
        return ConsistencyReport(
            indexed=len(indexed),
            expected=len(expected),
            missing=missing,
            extra=extra,
            stale=stale,
            repaired=bool(repair and drift),
        )
