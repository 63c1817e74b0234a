"""Elasticsearch backend (SEARCH_BACKEND=elasticsearch). The search issue fills in the rest."""

from __future__ import annotations


class ElasticsearchBackend:
    name = "elasticsearch"

    def __init__(self, url: str) -> None:
        from elasticsearch import Elasticsearch

        self.client = Elasticsearch(url, request_timeout=2, max_retries=0)

    def ping(self) -> None:
        self.client.info()
