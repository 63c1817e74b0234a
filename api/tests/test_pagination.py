"""Page-number pagination: capped page size, totals, links, and a bounded number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.urls("api.tests.error_urls")]


@pytest.fixture
def users():
    User.objects.bulk_create(User(email=f"u{i:03}@example.com") for i in range(130))


def test_page_shape_and_links(api_client, users):
    body = api_client.get("/test-api/probe/users?page=2&page_size=50").json()
    assert (body["count"], body["page"], body["page_size"], body["pages"]) == (130, 2, 50, 3)
    assert len(body["results"]) == 50
    assert body["results"][0]["email"] == "u050@example.com"
    assert body["next"].endswith("page=3&page_size=50")
    assert "page=" not in body["previous"].split("?")[1].replace("page_size", "")


def test_page_size_is_capped_at_100(api_client, users):
    body = api_client.get("/test-api/probe/users?page_size=500").json()
    assert body["page_size"] == 100
    assert len(body["results"]) == 100


def test_page_past_the_end_is_404(api_client, users):
    response = api_client.get("/test-api/probe/users?page=9")
    assert response.status_code == 404
    assert response.json()["code"] == "page_not_found"


@pytest.mark.parametrize("page_size", [1, 20, 100])
def test_query_count_does_not_grow_with_page_size(api_client, users, page_size):
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(f"/test-api/probe/users?page_size={page_size}")
    assert response.status_code == 200
    assert len(queries) == 2  # the count and the page
