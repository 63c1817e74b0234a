"""Statements planned once per database connection: for the few hot reads whose planning costs
more than running them.

    OFFERS = Prepared("offers", SQL, params={"variants": "bigint[]", "now": "timestamptz"})
    with connection.cursor() as cursor:
        OFFERS.execute(cursor, {"variants": [3, 7], "now": now})
        rows = cursor.fetchall()

Django binds parameters on the client, so PostgreSQL plans every statement it runs. For most
that is a few hundredths of a millisecond; the promotions read of every cart and checkout
(promotions/selectors.py: eight EXISTS over the promotion targets) took 0.7 ms to plan and
0.05 ms to run. So:

1. The first `execute` on a connection sends `PREPARE name(types) AS sql` (the `%(name)s`
   placeholders become `$1`, `$2` in the order of `params`) in the same round trip as
   `SET plan_cache_mode = force_generic_plan`: PostgreSQL keeps one plan for every call instead
   of planning each call's values (its default tries that first and here keeps doing it). Only
   statements prepared this way are affected: Django prepares none (the settings never turn on
   psycopg's server-side binding). Like Django's own session set-up (time zone, role), this is
   sent past Django's cursor wrapper: a connection's state, not one of the request's
   statements, so a statement count does not depend on whether the connection was new.
2. Every call is `EXECUTE name(%s, ...)` through the Django cursor: counted, logged and routed
   like any other statement.
3. Which connections hold which statements is remembered per psycopg connection (a weak
   reference): a connection Django closes and reopens prepares again. A prepared statement
   outlives a rolled-back transaction, so a failure in between never leaves a connection
   believed prepared that is not. A schema change makes PostgreSQL plan it again by itself.

Not for statements whose best plan depends on their values; not behind a pooler that resets
sessions between transactions (PgBouncer in transaction mode): a deployment adding one turns
this off with `DATABASE_PREPARED_STATEMENTS=false` (the statements then run as plain SQL).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from typing import Any

from django.conf import settings

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class Prepared:
    _names: set[str] = set()

    def __init__(self, name: str, sql: str, *, params: Mapping[str, str]):
        # One name, one statement: a second PREPARE of a name fails on every connection.
        if name in Prepared._names:
            raise ValueError(f"a prepared statement is already named {name!r}")
        Prepared._names.add(name)
        self.name = name
        self.sql = sql
        self.params = tuple(params)
        positions = {param: n for n, param in enumerate(self.params, start=1)}
        body = _PLACEHOLDER.sub(lambda m: f"${positions[m.group(1)]}", sql).replace("%%", "%")
        types = f"({', '.join(params.values())})" if params else ""
        self.prepare_sql = (
            f"SET plan_cache_mode = force_generic_plan; PREPARE {name}{types} AS {body}"
        )
        args = f"({', '.join(f'%s::{kind}' for kind in params.values())})" if params else ""
        self.execute_sql = f"EXECUTE {name}{args}"
        self._prepared_on: weakref.WeakSet = weakref.WeakSet()

    def execute(self, cursor: Any, values: Mapping[str, Any]) -> None:
        """Run the statement with `values` (by placeholder name) on a Django cursor."""
        if not settings.DATABASE_PREPARED_STATEMENTS:
            cursor.execute(self.sql, values)
            return
        raw = cursor.db.connection
        if raw not in self._prepared_on:
            cursor.cursor.execute(self.prepare_sql)  # psycopg's own cursor: see 1. above
            self._prepared_on.add(raw)
        cursor.execute(self.execute_sql, [values[param] for param in self.params])
