"""Django settings for the database, cache and broker that api.runtime resolved."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import environ

from api.runtime import Services

from .env import env

# No parallel query on the app's connections: under concurrent requests the extra workers of a
# parallel plan take the cores other requests need (the cold product list, whose in-stock count
# scans every variant, served 11% more requests a second without them: docs/benchmarks.md).
# DATABASE_PARALLEL_QUERY=true leaves the server's own setting.
_NO_PARALLEL_QUERY = "-c max_parallel_workers_per_gather=0"


def databases(services: Services, *, conn_max_age: int = 60) -> dict[str, Any]:
    parallel = env.bool("DATABASE_PARALLEL_QUERY", default=False)

    def config(url: str) -> dict[str, Any]:
        db = environ.Env.db_url_config(url)
        db["HOST"] = unquote(db["HOST"])  # a socket folder arrives percent-encoded
        db["ENGINE"] = "django.db.backends.postgresql"
        db["CONN_MAX_AGE"] = conn_max_age
        db["CONN_HEALTH_CHECKS"] = True
        options = db.setdefault("OPTIONS", {})
        options["connect_timeout"] = 5
        if not parallel:
            options["options"] = f"{options.get('options', '')} {_NO_PARALLEL_QUERY}".strip()
        return db

    result = {"default": config(services.database_url)}
    if services.replica_url:
        result["replica"] = config(services.replica_url)
        # Tests never create a database on the replica: it mirrors the primary's test database.
        result["replica"]["TEST"] = {"MIRROR": "default"}
    return result


def caches(services: Services) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": services.redis_url,
            "KEY_PREFIX": "emporium",
            "TIMEOUT": 300,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
