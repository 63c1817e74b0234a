"""The query report pruned of queries nobody searched for SEARCH_QUERY_STAT_KEEP_DAYS."""

from datetime import timedelta

import pytest
from django.utils import timezone

from search.models import SearchQueryStat
from search.tasks import search_query_stats_prune_task

pytestmark = pytest.mark.django_db


def test_queries_not_searched_for_their_period_go(settings):
    settings.SEARCH_QUERY_STAT_KEEP_DAYS = 90
    now = timezone.now()
    SearchQueryStat.objects.create(query="velvet sofa", searches=40, last_searched_at=now)
    SearchQueryStat.objects.create(
        query="fidget spinner", searches=900, last_searched_at=now - timedelta(days=91)
    )
    SearchQueryStat.objects.create(
        query="umbrela", searches=3, last_searched_at=now - timedelta(days=89)
    )
    assert search_query_stats_prune_task() == 1
    assert set(SearchQueryStat.objects.values_list("query", flat=True)) == {
        "velvet sofa",
        "umbrela",
    }
