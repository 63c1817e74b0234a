# ruff: noqa: S608 - SQL built from the migrations' constants, never from input
"""Counters kept by PostgreSQL triggers (docs/architecture.md §8), for the migrations that create
them (0004: a product's variants in stock; 0005 and 0006: a category's and a brand's active
products). Django's migration loader skips modules whose name starts with an underscore.

`counter_triggers(source, key, condition, counter, column)` keeps `counter.column`, per
`source.key`, equal to the number of `source` rows that satisfy `condition`: three
statement-level triggers (insert, update, delete) sum each statement's moves per key from its
transition tables and write only the keys whose count moved, in key order (two statements that
move several counts cannot deadlock on the counter rows). An UPDATE that moves no row in or out
of the condition writes nothing. A delete writes no new counter row: the parent of the deleted
rows may be on its way out, its counter row deleted first by the same cascade.
"""

from __future__ import annotations

UPSERT = """
    INSERT INTO {counter} AS s ({key}, {column})
    {deltas}
    ON CONFLICT ({key}) DO UPDATE SET {column} = s.{column} + EXCLUDED.{column};"""
BODIES = {
    "insert": UPSERT.replace(
        "{deltas}",
        """SELECT {key}, count(*) FROM added WHERE {condition}
    GROUP BY {key} ORDER BY {key}""",
    ),
    "update": UPSERT.replace(
        "{deltas}",
        """SELECT {key}, sum(delta) FROM (
        SELECT {key}, 1 AS delta FROM after_rows WHERE {condition}
        UNION ALL
        SELECT {key}, -1 FROM before_rows WHERE {condition}
    ) moves GROUP BY {key} HAVING sum(delta) <> 0 ORDER BY {key}""",
    ),
    "delete": """
    PERFORM 1 FROM {counter}
     WHERE {key} IN (SELECT {key} FROM removed WHERE {condition})
     ORDER BY {key} FOR UPDATE;
    UPDATE {counter} s SET {column} = s.{column} - gone.n
      FROM (SELECT {key}, count(*) AS n FROM removed WHERE {condition} GROUP BY {key}) gone
     WHERE s.{key} = gone.{key};""",
}
TRANSITIONS = {
    "insert": "NEW TABLE AS added",
    "update": "OLD TABLE AS before_rows NEW TABLE AS after_rows",
    "delete": "OLD TABLE AS removed",
}


def counter_triggers(
    source: str, key: str, condition: str, counter: str, column: str, *, name: str = ""
) -> tuple[list[str], list[str]]:
    """The SQL that fills the counter from the rows already there and creates the triggers,
    and the SQL that drops them; their functions and triggers are named `{name}_{event}`
    (`name`: `{source}_{column}` unless given). A key with no counted row gets no counter row
    (it counts as 0)."""
    backfill = f"""
INSERT INTO {counter} ({key}, {column})
SELECT {key}, count(*) FROM {source} WHERE {condition} GROUP BY {key};"""
    forward, backward = [backfill], []
    for event, body in BODIES.items():
        name_ = f"{name or f'{source}_{column}'}_{event}"
        sql = body.format(key=key, condition=condition, counter=counter, column=column)
        forward.append(f"""
CREATE FUNCTION {name_}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{sql}
    RETURN NULL;
END $$;
CREATE TRIGGER {name_} AFTER {event.upper()} ON {source} REFERENCING {TRANSITIONS[event]}
FOR EACH STATEMENT EXECUTE FUNCTION {name_}();""")
        backward.append(f"DROP TRIGGER {name_} ON {source}; DROP FUNCTION {name_}();")
    return forward, backward
