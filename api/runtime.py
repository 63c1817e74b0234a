"""The one place that decides between embedded and configured services (docs/architecture.md §2).

With no environment variables the database is embedded PostgreSQL and cache, rate limits and the
Celery broker are embedded Redis, all under .data/<profile>/. DATABASE_URL, REDIS_URL and
CELERY_BROKER_URL each replace their embedded default on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

from api.embedded import EmbeddedPostgres, EmbeddedRedis, Owned

DATABASE_NAME = "emporium"
# Redis logical databases: the cache may be flushed without touching queued tasks or results.
CACHE_DB, BROKER_DB, RESULT_DB = 0, 1, 2


@dataclass(frozen=True)
class Services:
    database_url: str
    redis_url: str
    broker_url: str
    result_backend_url: str
    replica_url: str | None = None
    embedded: tuple[str, ...] = field(default=())
    servers: tuple[EmbeddedPostgres | EmbeddedRedis, ...] = field(default=(), repr=False)

    def environ(self) -> dict[str, str]:
        """Environment that points a child process at these same services."""
        env = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_RESULT_BACKEND": self.result_backend_url,
        }
        if self.replica_url:
            env["DATABASE_REPLICA_URL"] = self.replica_url
        return env


def resolve(
    env: Mapping[str, str],
    *,
    data_dir: Path,
    allow_embedded: bool = True,
    postgres_options: dict[str, str] | None = None,
) -> Services:
    """Read the service variables from `env`, starting embedded servers for the missing ones."""
    embedded: list[str] = []
    servers: list[EmbeddedPostgres | EmbeddedRedis] = []

    def need(name: str) -> None:
        if not allow_embedded:
            raise ImproperlyConfigured(f"{name} must be set: embedded services are for development")
        embedded.append(name)

    database_url = env.get("DATABASE_URL")
    if not database_url:
        need("DATABASE_URL")
        postgres = EmbeddedPostgres(data_dir / "postgres", options=postgres_options)
        if postgres.start():
            Owned.add(postgres)
        servers.append(postgres)
        postgres.ensure_database(DATABASE_NAME)
        database_url = postgres.url(DATABASE_NAME)

    redis_url = env.get("REDIS_URL")
    embedded_redis = None
    if not redis_url:
        need("REDIS_URL")
        embedded_redis = EmbeddedRedis(data_dir / "redis")
        if embedded_redis.start():
            Owned.add(embedded_redis)
        servers.append(embedded_redis)
        redis_url = embedded_redis.url(CACHE_DB)

    broker_url = env.get("CELERY_BROKER_URL")
    if not broker_url:
        broker_url = (
            embedded_redis.broker_url(BROKER_DB)
            if embedded_redis
            else redis_with_db(redis_url, BROKER_DB)
        )
    result_backend_url = env.get("CELERY_RESULT_BACKEND")
    if not result_backend_url:
        result_backend_url = (
            embedded_redis.broker_url(RESULT_DB)
            if embedded_redis
            else redis_with_db(redis_url, RESULT_DB)
        )

    return Services(
        database_url=database_url,
        redis_url=redis_url,
        broker_url=broker_url,
        result_backend_url=result_backend_url,
        replica_url=env.get("DATABASE_REPLICA_URL") or None,
        embedded=tuple(embedded),
        servers=tuple(servers),
    )


def redis_with_db(url: str, db: int) -> str:
    """The same Redis server as `url`, on logical database `db`."""
    if url.startswith("unix://"):
        path, _, query = url.partition("?")
        params = [p for p in query.split("&") if p and not p.startswith("db=")]
        return f"{path}?{'&'.join([*params, f'db={db}'])}"
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def stop_owned() -> None:
    """Stop the embedded servers this process started (the test session, core/devserver.py)."""
    Owned.stop_all()
