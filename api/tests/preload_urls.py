"""The API plus /_whoami, for api/tests/test_gunicorn.py: which process imported the project,
which answered, and the database, Redis and broker-pool connections each used.

Importing this module opens all three, as a module touching the database or publishing at import
would: under preload_app that is the gunicorn master, and the workers forked from it must not use
them.
"""

import os

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django_redis import get_redis_connection

from api.celery import app as celery_app
from api.urls import urlpatterns as api_urlpatterns


def _connections() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend_pid,) = cursor.fetchone()
    # A publish's first step (api/outbox.py): a worker given the pool the master closed before
    # the fork is refused ("Acquire on closed pool"), and /_whoami answers 500.
    with celery_app.pool.acquire(block=True, timeout=5):
        pass
    return {
        "db_backend_pid": backend_pid,
        "redis_client_id": get_redis_connection("default").client_id(),
    }


IMPORTED = {"pid": os.getpid(), **_connections()}


def whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {"imported": IMPORTED, "pid": os.getpid(), "parent": os.getppid(), **_connections()}
    )


urlpatterns = [path("_whoami", whoami), *api_urlpatterns]
