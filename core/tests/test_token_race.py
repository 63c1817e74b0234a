"""Twenty concurrent refreshes of one refresh token: exactly one new pair, the rest 401.

Real threads, each with its own PostgreSQL connection, on committed data (transaction=True).
"""

import threading

import pytest
from django.db import connections
from django.test import Client
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from api.auth import tokens_for
from testing.factories import UserFactory

CONCURRENCY = 20


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_give_exactly_one_pair():
    user = UserFactory()
    refresh = tokens_for(user)["refresh"]
    barrier = threading.Barrier(CONCURRENCY)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def refresh_once():
        client = Client(raise_request_exception=False)
        try:
            barrier.wait(timeout=30)
            response = client.post(
                "/api/auth/token/refresh", {"refresh": refresh}, content_type="application/json"
            )
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh_once) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [401] * (CONCURRENCY - 1), statuses
    assert all(
        body["details"]["reason"] == "token_not_valid" for status, body in results if status == 401
    )
    # one blacklist row for the used token, one new outstanding token, and it works
    assert BlacklistedToken.objects.count() == 1
    assert OutstandingToken.objects.filter(user=user).count() == 2
    new_refresh = next(body for status, body in results if status == 200)["refresh"]
    again = Client().post(
        "/api/auth/token/refresh", {"refresh": new_refresh}, content_type="application/json"
    )
    assert again.status_code == 200
