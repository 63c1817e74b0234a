"""The WSGI application, and what a server that forks its workers from an imported master needs.

deploy/gunicorn.conf.py imports this module once in the master (`preload_app`), calls
`warm_up` there, `close_connections` before each fork, and `after_fork` in each worker.
"""

import os
from importlib import import_module

import kombu.pools
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.wsgi import get_wsgi_application
from django.db import connections

from api import startup
from api.celery import app as celery_app

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings.dev")

application = get_wsgi_application()


def warm_up() -> None:
    """Do once in the master what each worker would otherwise do on its first request (about
    130 ms of it on the benchmark machine, so a recycled worker's first callers waited): import
    the URLconf, hence every controller and schema; ask the startup gate whether the database is
    migrated (remembered once it is; the answer imports every migration module); create the
    cache's client (django-redis imports its classes then; it connects on first use)."""
    import_module(settings.ROOT_URLCONF)
    startup.state.pending_reason()
    caches[DEFAULT_CACHE_ALIAS].client  # noqa: B018 - creating the client is the point


def close_connections() -> None:
    """Close the database and broker connections this process holds. Run in the gunicorn master
    before it forks: a connection inherited by a worker would be one socket shared by several
    processes, their queries and answers interleaved. Redis clients need nothing: redis-py drops
    its pool when it finds itself in a new process."""
    connections.close_all()
    # Closes the broker connections of every kombu pool (Celery's included) and forgets the
    # pools; Celery still holds its own, closed, until after_fork.
    kombu.pools.reset()


def after_fork() -> None:
    """Run in each worker forked from a master that ran close_connections: drop the broker pools
    Celery holds (closed there), so that the worker's first publish opens its own. Celery runs
    this cleanup itself only in the children of its own process pools."""
    celery_app._after_fork()
