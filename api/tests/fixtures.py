"""The api tests' fixtures (registered in the root conftest.py): a real streaming replica of the
test database, and the helpers that show where a request's queries went.

The replica is made from the embedded PostgreSQL binaries: pg_basebackup of the test cluster,
started as a hot standby that streams from it. `replica_db` configures the "replica" alias as
DATABASE_REPLICA_URL would, for one test module (api/tests/test_router.py,
api/tests/test_replica_reads.py):

    pytestmark = [
        pytest.mark.django_db(transaction=True, databases=[PRIMARY, REPLICA]),
        pytest.mark.usefixtures("replica_db"),
    ]
    response, on_primary, on_replica = where(client, "/api/catalog/products")
"""

from __future__ import annotations

import copy
import re
import shutil
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from api.db_router import PRIMARY, REPLICA
from api.embedded import EmbeddedPostgres


def _primary_server() -> EmbeddedPostgres:
    for server in settings.SERVICES.servers:
        if isinstance(server, EmbeddedPostgres):
            return server
    pytest.skip("DATABASE_URL names an external server: no replica can be made of it here")


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


@pytest.fixture(scope="module")
def streaming_replica(django_db_setup) -> EmbeddedPostgres:
    primary = _primary_server()
    root = Path(settings.DATA_DIR) / "test" / f"replica-{uuid.uuid4().hex[:8]}"
    server = EmbeddedPostgres(root / "postgres", options=primary.options)
    try:
        server._prepare_permissions()  # the folder, owned by the system user when run as root
        server._run(
            "pg_basebackup",
            "--host",
            str(primary.socket_dir),
            "--port",
            "5432",
            "--username",
            "postgres",
            "--pgdata",
            str(server.pgdata),
            "--write-recovery-conf",  # standby.signal + primary_conninfo: stream from the primary
            "--wal-method=stream",
            "--checkpoint=fast",
            "--no-sync",
        )
        # Copied along with the data: the primary's log, and the lock of its socket (which lives
        # in its data folder) that would make the replica think a server already runs here.
        for leftover in ("server.log", ".s.PGSQL.5432.lock"):
            (server.pgdata / leftover).unlink(missing_ok=True)
        server.start()
        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is True
        with psycopg.connect(primary.url("postgres"), autocommit=True) as conn:
            _wait(
                lambda: conn.execute(
                    "SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'"
                ).fetchone(),
                15,
                "the replica to stream",
            )
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def replica_db(streaming_replica):
    """The "replica" alias, as DATABASE_REPLICA_URL would configure it (a test mirror)."""
    config = copy.deepcopy(connections["default"].settings_dict)
    config["HOST"] = str(streaming_replica.socket_dir)
    config["TEST"] = {**config.get("TEST", {}), "MIRROR": PRIMARY}  # never flushed: read-only
    connections.settings[REPLICA] = config
    try:
        yield streaming_replica
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]


def replayed() -> bool:
    """Whether the replica has replayed everything the primary wrote so far."""
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")
        lsn = cursor.fetchone()[0]
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn])
        return cursor.fetchone()[0]


def sync_replica() -> None:
    _wait(replayed, 10, "the replica to catch up")


def replay_pause() -> None:
    """The replica stops replaying (it still receives): it falls behind from now on."""
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")


def replay_resume() -> None:
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_resume()")


_TABLE = re.compile(r'\bFROM "?(\w+)"?')


def statements(captured: CaptureQueriesContext) -> list[str]:
    """What each captured query was: its first word, and the first table for a SELECT (quoted by
    the ORM or not, as hand-written SQL names it), the statement's name for an EXECUTE (a
    statement prepared per connection, api/prepared.py)."""
    result = []
    for query in captured.captured_queries:
        sql = query["sql"]
        verb = sql.split()[0].upper()
        if verb == "EXECUTE":
            result.append(f"{verb} {sql.split()[1].partition('(')[0]}")
            continue
        table = _TABLE.search(sql) if verb == "SELECT" else None
        result.append(f"{verb} {table[1]}" if table else verb)
    return result


def where(client, url: str, method: str = "get", *, status: int = 200, **kwargs):
    """Run one request (kwargs go to the test client); (response, statements on the primary,
    statements on the replica)."""
    with (
        CaptureQueriesContext(connections[PRIMARY]) as on_primary,
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
    ):
        response = getattr(client, method)(url, **kwargs)
    assert response.status_code == status, response.content
    return response, statements(on_primary), statements(on_replica)
