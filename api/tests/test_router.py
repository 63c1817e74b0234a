"""The primary/replica router against a real streaming replica.

The replica is made from the embedded PostgreSQL binaries (api/tests/fixtures.py: pg_basebackup
of the test cluster, started as a hot standby that streams from it). Requests go through the
whole middleware stack (a small URLconf below stands in for catalog, cart and checkout views), and
every query is captured on both connections, so each scenario shows where its queries went. The
real catalog and search endpoints on the replica: test_replica_reads.py.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.http import JsonResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import path

from api.db_router import (
    PRIMARY,
    REPLICA,
    PrimaryReplicaRouter,
    RoutingScopeMiddleware,
    read_alias,
    read_from_replica,
    replica,
    use_primary,
)
from api.metrics import replica_lag
from api.tests.fixtures import replay_pause, replay_resume, sync_replica, where

User = get_user_model()

# Both aliases: the replica is a test mirror of the primary (never flushed, never created).
pytestmark = [
    pytest.mark.django_db(transaction=True, databases=[PRIMARY, REPLICA]),
    pytest.mark.usefixtures("replica_db"),
]


# -- stand-in views: a catalog read, a cart total, a write that reads back, a checkout ----------
def catalog_view(request):
    """Safe read, opted in: may be a little stale."""
    emails = list(replica(User.objects.order_by("email")).values_list("email", flat=True))
    return JsonResponse({"emails": emails})


def catalog_block_view(request):
    with read_from_replica():
        count = User.objects.count()
        first = User.objects.order_by("email").first()
    return JsonResponse({"count": count, "first": first.email if first else None})


def cart_total_view(request):
    """Not opted in (must be fresh): the primary."""
    return JsonResponse({"count": User.objects.count()})


def signup_view(request):
    """Writes, then reads its own write through a replica-marked query."""
    User.objects.create_user(request.GET["email"], "a-long-Passphrase-9")
    emails = list(replica(User.objects.order_by("email")).values_list("email", flat=True))
    return JsonResponse({"emails": emails})


def checkout_view(request):
    """Inside a transaction even a replica-marked read goes to the primary."""
    with transaction.atomic():
        count = replica(User.objects.all()).count()
    return JsonResponse({"count": count})


def forced_primary_view(request):
    with use_primary():
        count = replica(User.objects.all()).count()
    return JsonResponse({"count": count})


urlpatterns = [
    path("catalog", catalog_view),
    path("catalog-block", catalog_block_view),
    path("cart-total", cart_total_view),
    path("signup", signup_view),
    path("checkout", checkout_view),
    path("primary", forced_primary_view),
]


# -- the scenarios --------------------------------------------------------------------------------
@pytest.mark.urls("api.tests.test_router")
def test_each_kind_of_query_goes_where_it_should(client):
    User.objects.create_user("ada@example.com", "a-long-Passphrase-9")
    sync_replica()

    table = {}
    for name, url, method in [
        ("catalog read, replica() helper", "/catalog", "get"),
        ("catalog read, read_from_replica() block", "/catalog-block", "get"),
        ("cart total, not opted in", "/cart-total", "get"),
        ("write, then read own write", "/signup?email=bob@example.com", "post"),
        ("checkout: read inside a transaction", "/checkout", "get"),
        ("use_primary() block", "/primary", "get"),
    ]:
        _, on_primary, on_replica = where(client, url, method)
        table[name] = {"primary": on_primary, "replica": on_replica}
    print("\nqueries per request:", *(f"  {k}: {v}" for k, v in table.items()), sep="\n")

    users = "SELECT core_user"
    assert table == {
        "catalog read, replica() helper": {"primary": [], "replica": [users]},
        "catalog read, read_from_replica() block": {"primary": [], "replica": [users, users]},
        "cart total, not opted in": {"primary": [users], "replica": []},
        # create_user's own checks and INSERT, then the replica()-marked read-back: all primary.
        "write, then read own write": {
            "primary": [users, "SELECT", "INSERT", users],
            "replica": [],
        },
        "checkout: read inside a transaction": {
            "primary": ["BEGIN", users, "COMMIT"],
            "replica": [],
        },
        "use_primary() block": {"primary": [users], "replica": []},
    }


@pytest.mark.urls("api.tests.test_router")
def test_a_lagging_replica_serves_the_catalog_but_a_writer_reads_its_own_write(client):
    User.objects.create_user("ada@example.com", "a-long-Passphrase-9")
    sync_replica()
    replay_pause()
    try:
        response, _, on_replica = where(client, "/signup?email=bob@example.com", "post")
        assert response.json()["emails"] == ["ada@example.com", "bob@example.com"]
        assert on_replica == []

        # The next request, a catalog read, is served by the replica: it does not see bob yet.
        response, on_primary, on_replica = where(client, "/catalog")
        assert response.json()["emails"] == ["ada@example.com"]
        assert (on_primary, on_replica) == ([], ["SELECT core_user"])
        seconds, behind = replica_lag()
        assert seconds > 0
        assert behind > 0
    finally:
        replay_resume()
    sync_replica()
    assert where(client, "/catalog")[0].json()["emails"] == ["ada@example.com", "bob@example.com"]
    assert replica_lag() == (0, 0)


def test_admin_edits_and_reads_use_the_primary(client, django_user_model):
    staff = django_user_model.objects.create_superuser("ops@example.com", "a-long-Passphrase-9")
    client.force_login(staff)
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        assert client.get("/admin/core/user/").status_code == 200
        django_user_model.objects.filter(pk=staff.pk).update(first_name="Ops")
        assert User.objects.get(pk=staff.pk).first_name == "Ops"
    assert len(on_replica) == 0


# -- the rules, one by one -------------------------------------------------------------------------
def test_a_write_pins_reads_to_the_primary_for_that_request_only():
    router = PrimaryReplicaRouter()
    seen = []

    def view(request):
        seen.append(read_alias())
        router.db_for_write(User)
        seen.append(read_alias())
        return JsonResponse({})

    middleware = RoutingScopeMiddleware(view)
    middleware(RequestFactory().post("/"))
    middleware(RequestFactory().get("/"))  # the next request starts clean
    assert seen == [REPLICA, PRIMARY, REPLICA, PRIMARY]


def test_models_can_be_opted_in_by_setting(settings):
    settings.REPLICA_READ_MODELS = ["core.User"]
    middleware = RoutingScopeMiddleware(lambda request: JsonResponse({"db": User.objects.all().db}))
    assert middleware(RequestFactory().get("/")).content == b'{"db": "replica"}'
    settings.REPLICA_READ_MODELS = ["core"]
    assert middleware(RequestFactory().get("/")).content == b'{"db": "replica"}'
    settings.REPLICA_READ_MODELS = []
    assert middleware(RequestFactory().get("/")).content == b'{"db": "default"}'
