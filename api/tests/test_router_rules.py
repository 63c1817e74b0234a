"""Router rules that hold without a replica (the replica itself: test_router.py)."""

from django.contrib.auth import get_user_model
from django.db import connections

from api.db_router import (
    PRIMARY,
    REPLICA,
    PrimaryReplicaRouter,
    read_alias,
    read_from_replica,
    replica,
)

User = get_user_model()


def test_without_a_replica_everything_reads_the_primary(db):
    assert REPLICA not in connections.settings
    assert read_alias() == PRIMARY
    assert replica(User.objects.all()).db == PRIMARY
    with read_from_replica():
        assert User.objects.all().db == PRIMARY


def test_migrations_never_run_on_the_replica():
    router = PrimaryReplicaRouter()
    assert router.allow_migrate(PRIMARY, "core") is True
    assert router.allow_migrate(REPLICA, "core") is False
