"""Statements planned once per connection (api/prepared.py): the same rows as the plain SQL, one
plan for every call, and a connection that was closed, or a transaction that rolled back, never
leaves a statement believed prepared that is not."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from api.prepared import Prepared

pytestmark = pytest.mark.django_db

SQUARES = Prepared(
    "test_squares",
    "SELECT n, n * n FROM unnest(%(numbers)s) AS n WHERE n > %(above)s AND 'a%%' LIKE 'a%%'"
    " ORDER BY n",
    params={"numbers": "bigint[]", "above": "integer"},
)
NO_PARAMETERS = Prepared("test_no_parameters", "SELECT 42", params={})


def squares(numbers: list[int], above: int) -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        SQUARES.execute(cursor, {"numbers": numbers, "above": above})
        return cursor.fetchall()


def plans() -> tuple[int, int]:
    """(generic, custom) plans PostgreSQL made for the statement on this connection."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = %s",
            [SQUARES.name],
        )
        return cursor.fetchone()


def test_it_answers_what_the_plain_sql_answers_and_is_planned_once():
    with connection.cursor() as cursor:
        cursor.execute(SQUARES.sql, {"numbers": [3, 1, 2], "above": 1})
        plain = cursor.fetchall()
    with CaptureQueriesContext(connection) as first:
        assert squares([3, 1, 2], 1) == plain == [(2, 4), (3, 9)]
    # The PREPARE is the connection's set-up, as Django's own: one statement is counted.
    assert [q["sql"].split()[0] for q in first] == ["EXECUTE"]
    with CaptureQueriesContext(connection) as later:
        for above in range(10):
            assert squares(list(range(20)), above) == [(n, n * n) for n in range(above + 1, 20)]
    assert [q["sql"].split()[0] for q in later] == ["EXECUTE"] * 10
    assert plans() == (11, 0)  # one generic plan, reused: no call planned its own values


@pytest.mark.django_db(transaction=True)
def test_a_reopened_connection_prepares_it_again():
    assert squares([5], 0) == [(5, 25)]
    connection.close()
    assert squares([6], 0) == [(6, 36)]
    assert plans() == (1, 0)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_keeps_the_statement_it_prepared():
    connection.close()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert squares([7], 0) == [(7, 49)]  # prepared inside the transaction
        1 / 0  # noqa: B018 - the transaction fails after it
    with CaptureQueriesContext(connection) as queries:
        assert squares([8], 0) == [(8, 64)]
    assert [q["sql"].split()[0] for q in queries] == ["EXECUTE"]


def test_a_statement_without_parameters():
    with connection.cursor() as cursor:
        NO_PARAMETERS.execute(cursor, {})
        assert cursor.fetchall() == [(42,)]


def test_turned_off_it_runs_as_plain_sql(settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    with CaptureQueriesContext(connection) as queries:
        assert squares([4, 9], 5) == [(9, 81)]
    assert [q["sql"].split()[0] for q in queries] == ["SELECT"]


def test_two_statements_cannot_share_a_name():
    with pytest.raises(ValueError, match="already named 'test_squares'"):
        Prepared("test_squares", "SELECT 1", params={})
