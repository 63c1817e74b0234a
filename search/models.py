"""Search tuning and bookkeeping shared by both backends.

The backends' own storage (the PostgreSQL backend's document table, Elasticsearch's indexes) lives
with each backend; these tables are what merchants edit and what the commands remember.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Synonym(models.Model):
    """A set of words that mean the same to shoppers: "sneakers, trainers, running shoes".

    Every term finds what any other term finds. Both backends read the active rows: PostgreSQL
    expands query terms, Elasticsearch compiles them into its synonym_graph filter.
    """

    terms = models.CharField(
        max_length=500,
        help_text="Comma-separated words or phrases that mean the same, e.g. sneakers, trainers.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["terms"]

    def __str__(self) -> str:
        return self.terms

    @property
    def term_list(self) -> list[str]:
        return [term for term in (part.strip().lower() for part in self.terms.split(",")) if term]

    @classmethod
    def active_sets(cls) -> list[list[str]]:
        """The active synonym sets, each a list of lower-cased terms (two or more)."""
        sets = [row.term_list for row in cls.objects.filter(is_active=True)]
        return [terms for terms in sets if len(terms) > 1]

    @classmethod
    def solr_lines(cls) -> list[str]:
        """The active sets in the Solr format Elasticsearch's synonym_graph filter takes."""
        return [", ".join(terms) for terms in cls.active_sets()]


class SearchQueryStat(models.Model):
    """How often a (normalised) query was searched, and how often it found nothing."""

    query = models.CharField(max_length=200, unique=True)
    searches = models.PositiveIntegerField(default=0)
    zero_result_searches = models.PositiveIntegerField(default=0)
    last_searched_at = models.DateTimeField(default=timezone.now)
    last_zero_result_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-zero_result_searches", "-searches"]
        indexes = [models.Index(fields=["-zero_result_searches"], name="search_zero_result_idx")]
        verbose_name = "search query"
        verbose_name_plural = "search queries"

    def __str__(self) -> str:
        return self.query


class ReindexCheckpoint(models.Model):
    """Where a bulk reindex got to, so an interrupted `search_reindex --resume` carries on.

    One row per backend. `target` is what is being built (the new Elasticsearch index, or "" for
    PostgreSQL); products are processed in id order, `last_product_id` is the last one done.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"

    backend = models.CharField(max_length=30, unique=True)
    target = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    last_product_id = models.BigIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.backend} reindex ({self.status})"


# The PostgreSQL backend's storage (registered with this app so migrations and test flushes see it).
from search.pg.models import (  # noqa: E402
    SearchCard,
    SearchEntry,
    SearchProduct,
    SearchSuggestion,
    SearchVariantWord,
    SearchWord,
)

__all__ = [
    "ReindexCheckpoint",
    "SearchCard",
    "SearchEntry",
    "SearchProduct",
    "SearchQueryStat",
    "SearchSuggestion",
    "SearchVariantWord",
    "SearchWord",
    "Synonym",
]
