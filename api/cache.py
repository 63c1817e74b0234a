"""Cached response bytes under version tokens, invalidated right after commit.

A cached entry is stored with the *stamp* of the version tokens it was built under, read before
the database was. A write replaces the tokens of what it touched, after its commit
(`versions_bump_on_commit`). An entry whose stamp no longer matches is a miss, so a reader that
raced a write (read the old rows, stored after the bump) can never serve the old data again, and
one bump invalidates every list page at once without finding or deleting keys.

    body = cached_bytes("catalog:list:<hash>", versions=["catalog:lists"], ttl=60, build=render)
    versions_bump_on_commit("catalog:lists", f"catalog:product:{product.pk}")

Tokens are random, never counters: a token that was evicted or expired is re-created with a new
value, so old entries cannot match it by accident. Any Django cache backend works; with Redis a
hit is one MGET and no database query.

With a read replica, a bumped token also carries the primary's WAL position after the write
("<random>@0/3000148"), and a miss builds its entry inside `fill_reads(stamp)`: its reads go to
the replica only once that has replayed past every position of the stamp, else to the primary
(api/db_router.py, `read_after`). So an entry stored under a token never misses a write that
token announced, even when the replica lags. A token re-created by a reader carries no position
(it announces no write).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.db import DatabaseError, transaction

from api import db_router, ratelimit
from api.errors import RateLimited

logger = logging.getLogger("api.cache")

VERSION_PREFIX = "ver:"
# Tokens outlive every entry stamped with them; an expired token only costs a miss.
VERSION_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class Entry:
    stamp: tuple[str, ...]
    body: bytes
    meta: Any = None


def _cache(alias: str = "default"):
    return caches[alias]


def _new_token(position: str | None = None) -> str:
    token = secrets.token_hex(8)
    return f"{token}@{position}" if position else token


def _positions(stamp: Iterable[str]) -> list[str]:
    return [token.partition("@")[2] for token in stamp if "@" in token]


def _version_key(name: str) -> str:
    return VERSION_PREFIX + name


def versions_get(names: Sequence[str], *, alias: str = "default") -> tuple[str, ...]:
    """The current token of each name, creating missing ones (one MGET when all exist)."""
    if not names:
        return ()
    cache = _cache(alias)
    keys = [_version_key(name) for name in names]
    found = cache.get_many(keys)
    return _fill_missing(cache, keys, found)


def _fill_missing(cache, keys: list[str], found: dict[str, Any]) -> tuple[str, ...]:
    tokens = []
    for key in keys:
        token = found.get(key)
        if token is None:
            # add() is SET NX: concurrent creators agree on whichever token landed first.
            cache.add(key, _new_token(), VERSION_TTL)
            token = cache.get(key) or _new_token()
        tokens.append(token)
    return tuple(tokens)


def versions_bump(*names: str, alias: str = "default") -> None:
    """Give each name a new token now: every entry stamped with the old one becomes a miss. With
    a replica, the token carries where the primary's WAL is now (after the caller's commit)."""
    if names:
        try:
            position = db_router.primary_position()
        except DatabaseError:
            # Still bump: an entry then waits for no replica, which beats serving the old one.
            logger.exception("primary WAL position not read", extra={"versions": list(names)})
            position = None
        _cache(alias).set_many(
            {_version_key(name): _new_token(position) for name in dict.fromkeys(names)},
            VERSION_TTL,
        )


def versions_bump_on_commit(*names: str, alias: str = "default") -> None:
    """Bump after the current transaction commits (at once outside one; never on rollback)."""
    transaction.on_commit(lambda: _bump_safely(names, alias))


def _bump_safely(names: Iterable[str], alias: str) -> None:
    try:
        versions_bump(*names, alias=alias)
    except Exception:
        # The write is committed whatever happens here; a cache outage must not turn it into
        # an error. Entries expire with their TTL.
        logger.exception("cache version bump failed", extra={"versions": list(names)})


@contextlib.contextmanager
def fill_reads(stamp: Sequence[str]) -> Iterator[None]:
    """The reads that build an entry to store under `stamp` see every write its tokens announced:
    on the replica once it has replayed them, else on the primary (without a replica: as they
    are)."""
    with db_router.read_after(_positions(stamp)):
        yield


def deferred_limit_settle() -> None:
    """Count the request's deferred rate limit now, for a read that will not start with a cache
    read (caching off, an uncached route of a deferred group): 429 when it is exhausted. The
    deferral is this module's business (the first cache read counts it); views call this, never
    the rate limiter's deferral, so the rule has one home."""
    ratelimit.settle_pending()


@dataclass
class _Probe:
    """An entry_get() of this request that found no fresh entry, for the next identical read."""

    key: str
    versions: tuple[str, ...]
    alias: str
    found: tuple[Entry | None, tuple[str, ...]]


_probe: ContextVar[list[_Probe] | None] = ContextVar("cache_probe", default=None)


@contextlib.contextmanager
def probe_scope() -> Iterator[None]:
    """Within it, a read that found no fresh entry is remembered once: the same read repeated
    later in the scope (the view after api.cached_reads missed) costs no second round trip."""
    token = _probe.set([])
    try:
        yield
    finally:
        _probe.reset(token)


def entry_fresh(key: str, versions: Sequence[str] = (), *, alias: str = "default") -> Entry | None:
    """The entry under `key` when it is fresh (built under the current `versions`), else None;
    entry_get() counting the request's deferred rate limit. Inside a probe_scope() a miss is
    remembered for the view that builds the entry next."""
    entry, stamp = entry_get(key, versions, alias=alias, count_deferred_limit=True)
    if entry is not None and entry.stamp == stamp:
        return entry
    remembered = _probe.get()
    if remembered is not None:
        remembered.append(_Probe(key, tuple(versions), alias, (entry, stamp)))
    return None


def _remembered(key: str, versions: Sequence[str], alias: str):
    remembered = _probe.get()
    if remembered:
        for probe in remembered:
            if probe.key == key and probe.versions == tuple(versions) and probe.alias == alias:
                remembered.remove(probe)
                return probe.found
    return None


def entry_get(
    key: str,
    versions: Sequence[str] = (),
    *,
    alias: str = "default",
    count_deferred_limit: bool = False,
) -> tuple[Entry | None, tuple[str, ...]]:
    """The stored entry under `key` (None when absent) and the current stamp of `versions`,
    read together in one MGET. The entry is fresh when `entry.stamp == stamp`. With
    `count_deferred_limit`, the request's deferred rate limit (if any) is counted in the same
    round trip, and an exhausted one raises RateLimited before anything is read. A read this
    request already made in a probe_scope() is not made again."""
    found = _remembered(key, versions, alias)
    if found is not None:
        return found
    pending = ratelimit.take_pending() if count_deferred_limit else None
    cache = _cache(alias)
    version_keys = [_version_key(name) for name in versions]
    keys = [key, *version_keys]
    if pending is None:
        found = cache.get_many(keys)
    elif alias == "default" and hasattr(getattr(cache, "client", None), "get_client"):
        found = _get_many_counting(cache, keys, pending)
    else:  # a cache the limiter does not live in: count apart
        ratelimit.count_pending(pending)
        found = cache.get_many(keys)
    stamp = _fill_missing(cache, version_keys, found)
    raw = found.get(key)
    entry = Entry(*raw) if isinstance(raw, tuple) and len(raw) == 3 else None
    return entry, stamp


def _get_many_counting(cache, keys: list[str], pending: ratelimit.PendingLimit) -> dict:
    """cache.get_many(keys) in the round trip that counts the pending limit (django-redis: the
    same keys and value encoding as get_many; the limiter lives in the default cache's Redis)."""
    client = cache.client
    made = [client.make_key(k) for k in keys]
    result, raw = ratelimit.hit_and_read(
        pending.limits, [str(k) for k in made], client=client.get_client(write=True)
    )
    pending.result = result
    if not result.allowed:
        raise RateLimited(result.retry_after)
    return {k: client.decode(v) for k, v in zip(keys, raw, strict=True) if v is not None}


def entry_set(
    key: str, stamp: tuple[str, ...], body: bytes, ttl: int, *, meta: Any = None, alias="default"
) -> None:
    _cache(alias).set(key, (stamp, body, meta), ttl)


def cached_bytes(
    key: str,
    *,
    versions: Sequence[str],
    ttl: int,
    build: Callable[[], bytes],
    alias: str = "default",
) -> bytes:
    """The bytes under `key` when built under the current `versions`, else `build()` stored."""
    if ttl <= 0:
        deferred_limit_settle()
        return build()
    try:
        entry, stamp = entry_get(key, versions, alias=alias, count_deferred_limit=True)
    except RateLimited:
        raise
    except Exception:
        logger.exception("cache read failed", extra={"key": key})
        return build()
    if entry is not None and entry.stamp == stamp:
        return entry.body
    with fill_reads(stamp):
        body = build()
    try:
        entry_set(key, stamp, body, ttl, alias=alias)
    except Exception:
        logger.exception("cache write failed", extra={"key": key})
    return body
