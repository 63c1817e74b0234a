"""Primary/replica split (docs/architecture.md §7), active when DATABASE_REPLICA_URL is set.

Everything reads and writes the primary unless a read is explicitly marked safe for the replica:

    from api.db_router import read_cursor, read_from_replica, replica

    products = replica(Product.objects.filter(is_active=True))     # one queryset
    with read_from_replica():                                      # every read in the block
        page = product_list(filters=filters)
        with read_cursor() as cursor:                              # hand-written SQL too
            cursor.execute(CATALOG_SQL)

or, for whole models, settings.REPLICA_READ_MODELS = ["products.Category", "search"]. The public
catalog and search routes mark their whole body (products/controllers/public.py,
search/controllers.py); hand-written SQL never goes through the router, so it takes its cursor
from `read_cursor()`, which follows the same marks, and never from `django.db.connection`.

Even a read marked safe goes to the primary when it must be fresh:
- inside a transaction on the primary (checkout, stock changes: they lock rows anyway);
- after the request (or task) wrote anything: it reads its own writes;
- inside `use_primary()`;
- inside `read_after(positions)` while the replica has not replayed that far. This is how a cache
  fill stays exact: a version bump (api/cache.py) records the primary's WAL position after the
  write committed, and the reads that build an entry under that token run on the replica only
  once it has replayed past it, else on the primary. A fill from a lagging replica would store
  the old answer under the new token, and serve it until the entry's TTL. The check is one
  query on the replica per fill, none once this process has seen the replica past the token's
  position (replay only moves on); while the replica lags, the primary serves the fills.
Writes always go to the primary, and migrations never run on the replica.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.db.backends.utils import CursorWrapper
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

PRIMARY = "default"
REPLICA = "replica"


@dataclass
class RoutingState:
    """Per request (or task): did it write, and is it inside a replica/primary block."""

    wrote: bool = False
    replica_blocks: int = 0
    primary_blocks: int = 0


state_var: ContextVar[RoutingState | None] = ContextVar("db_routing_state", default=None)


def _state() -> RoutingState:
    state = state_var.get()
    if state is None:  # outside a request or task (shell, command): one state for the thread
        state = RoutingState()
        state_var.set(state)
    return state


def replica_configured() -> bool:
    return REPLICA in connections.settings


def read_alias() -> str:
    """The database a safe read should use right now."""
    state = _state()
    if (
        not replica_configured()
        or state.wrote
        or state.primary_blocks
        or connections[PRIMARY].in_atomic_block
    ):
        return PRIMARY
    return REPLICA


def sql_read_alias() -> str:
    """Where hand-written read SQL goes now: as the router sends a model's reads, the replica
    inside read_from_replica() when that is safe, else the primary."""
    return read_alias() if _state().replica_blocks else PRIMARY


def read_cursor() -> CursorWrapper:
    """A cursor for hand-written read SQL, on sql_read_alias()'s database. Writes take
    django.db.connection's (the primary)."""
    return connections[sql_read_alias()].cursor()


def replica(queryset: QuerySet) -> QuerySet:
    """This queryset on the replica when that is safe now, else on the primary."""
    return queryset.using(read_alias())


@contextlib.contextmanager
def read_from_replica() -> Iterator[None]:
    """Every read in the block is safe for the replica (the rules above still apply)."""
    state = _state()
    state.replica_blocks += 1
    try:
        yield
    finally:
        state.replica_blocks -= 1


@contextlib.contextmanager
def use_primary() -> Iterator[None]:
    """Every read in the block goes to the primary, even one marked safe."""
    state = _state()
    state.primary_blocks += 1
    try:
        yield
    finally:
        state.primary_blocks -= 1


# -- WAL positions: how far the replica must have replayed ----------------------------------------
def primary_position() -> str | None:
    """The primary's WAL insert position now (e.g. "0/3000148"), None without a replica. Read
    after a commit, it is at or past that commit's record: a replica that has replayed this far
    sees the commit. (At a WAL page boundary it can sit a page header past the last record, so
    the replica reaches it with the next record: the primary serves until then.)"""
    if not replica_configured():
        return None
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        return cursor.fetchone()[0]


def _lsn(position: str) -> int:
    high, _, low = position.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


# How far this process last saw the replica replay: replay only moves on, so a position at or
# below it needs no question to the replica.
_replayed_up_to = 0


def replica_replayed(position: str) -> bool:
    """Whether the replica has replayed the primary's WAL up to `position` (primary_position())."""
    global _replayed_up_to
    wanted = _lsn(position)
    if wanted <= _replayed_up_to:
        return True
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_last_wal_replay_lsn()::text")
        (replayed,) = cursor.fetchone()
    if replayed is None:  # not a streaming standby: nothing tells how far it is
        return False
    _replayed_up_to = max(_replayed_up_to, _lsn(replayed))
    return wanted <= _replayed_up_to


@contextlib.contextmanager
def read_after(positions: Iterable[str]) -> Iterator[None]:
    """Reads in the block see every write the primary had made at these WAL positions: on the
    replica once it has replayed the furthest of them, on the primary until then."""
    furthest = max(positions, key=_lsn, default=None)
    if furthest is None or read_alias() != REPLICA or replica_replayed(furthest):
        yield
        return
    with use_primary():
        yield


def _opted_in(model: type[Model]) -> bool:
    names = getattr(settings, "REPLICA_READ_MODELS", ())
    return model._meta.app_label in names or model._meta.label in names


class PrimaryReplicaRouter:
    """Reads on the replica only when opted in and safe; everything else on the primary."""

    def db_for_read(self, model: type[Model], **hints) -> str:
        if _state().replica_blocks or _opted_in(model):
            return read_alias()
        instance = hints.get("instance")
        # A related object follows the object it was reached from, unless the request wrote.
        if instance is not None and instance._state.db == REPLICA:
            return read_alias()
        return PRIMARY

    def db_for_write(self, model: type[Model], **hints) -> str:
        _state().wrote = True
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints) -> bool | None:
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True  # the same data, whichever copy it was read from
        return None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints):
        return db != REPLICA


class RoutingScopeMiddleware:
    """Gives each request its own routing state, so "it wrote" never leaks to the next one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = state_var.set(RoutingState())
        try:
            return self.get_response(request)
        finally:
            state_var.reset(token)
