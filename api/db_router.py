"""Primary/replica split (docs/architecture.md §7), active when DATABASE_REPLICA_URL is set.

Everything reads and writes the primary unless a read is explicitly marked safe for the replica:

    from api.db_router import read_from_replica, replica

    products = replica(Product.objects.filter(is_active=True))     # one queryset
    with read_from_replica():                                      # every read in the block
        page = product_list(filters=filters)

or, for whole models, settings.REPLICA_READ_MODELS = ["products.Category", "search"].

Even a read marked safe goes to the primary when it must be fresh:
- inside a transaction on the primary (checkout, stock changes: they lock rows anyway);
- after the request (or task) wrote anything: it reads its own writes;
- inside `use_primary()`.
Writes always go to the primary, and migrations never run on the replica.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import connections
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
