"""Idempotency-Key handling for unsafe endpoints (docs/architecture.md §6).

The first request with a key claims it by inserting its row, runs the operation and stores the
answer, all in one transaction. A concurrent repeat's insert waits on that row: when the first
commits, the repeat replays its answer; when the first fails (its transaction rolled back, nothing
stored), the repeat runs the operation itself. A repeat with another body is a 409. The claim is
one `INSERT ... ON CONFLICT DO NOTHING`: it waits exactly as a unique violation would, but fails
nothing, so it needs no savepoint.

`run_idempotent_with_followup` is for operations with a step that must come after the commit
and outside its locks (a checkout starts the payment with a provider once the order exists).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.http import JsonResponse
from django.utils import timezone

from api.errors import IdempotencyKeyInvalid, IdempotencyKeyRequired, IdempotencyKeyReused
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

_CLAIM_SQL = f"""
INSERT INTO {IdempotencyRecord._meta.db_table} (scope, owner, key, fingerprint, created_at)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (scope, owner, key) DO NOTHING
RETURNING id
"""  # noqa: S608 - table name from the model, values bound


@dataclass(frozen=True)
class IdempotentResult:
    status_code: int
    body: Any
    replayed: bool


def idempotent_response(result: IdempotentResult) -> JsonResponse:
    """The stored answer as it was first rendered (its schema rendered it then): a repeat gets
    the same bytes, marked `Idempotent-Replayed: true`."""
    response = JsonResponse(result.body, status=result.status_code, safe=False)
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: str | None, *, required: bool = False) -> str | None:
    if not key:
        if required:
            raise IdempotencyKeyRequired()
        return None
    if not _KEY.match(key):
        raise IdempotencyKeyInvalid()
    return key


def _claim(*, scope: str, owner: str, key: str, digest: str) -> tuple[IdempotencyRecord, bool]:
    """In the caller's transaction: (the key's record, whether this request claimed it).

    A concurrent claim of the same key makes the INSERT wait for that transaction: committed,
    its row is read here; rolled back, this request's row goes in. Another body is a 409."""
    created_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [scope, owner, key, digest, created_at])
        inserted = cursor.fetchone()
    if inserted is not None:
        record = IdempotencyRecord(
            id=inserted[0], scope=scope, owner=owner, key=key, fingerprint=digest
        )
        record.created_at = created_at
        return record, True
    record = IdempotencyRecord.objects.get(scope=scope, owner=owner, key=key)
    if record.fingerprint != digest:
        raise IdempotencyKeyReused()
    return record, False


def run_idempotent(
    *,
    scope: str,
    owner: str,
    key: str | None,
    payload: Any,
    operation: Callable[[], tuple[int, Any]],
) -> IdempotentResult:
    """Run `operation` once per (scope, owner, key).

    `operation` returns a status and a body already in JSON types
    (`schema.model_dump(mode="json")`), so the first answer and its replays are the same bytes.
    """
    if key is None:
        status_code, body = operation()
        return IdempotentResult(status_code, body, replayed=False)
    digest = fingerprint(payload)
    with transaction.atomic():
        record, claimed = _claim(scope=scope, owner=owner, key=key, digest=digest)
        if not claimed:
            return IdempotentResult(record.status_code, record.response_body, replayed=True)
        status_code, body = operation()
        record.status_code, record.response_body = status_code, body
        record.save(update_fields=["status_code", "response_body"])
    return IdempotentResult(status_code, body, replayed=False)


# Kept in response_body while the claiming transaction committed but the follow-up did not run.
_PENDING = "__pending__"


def idempotent_answer(
    *,
    scope: str,
    user: Any,
    key: str | None,
    payload: Any,
    operation: Callable[[], tuple[int, Any]],
) -> JsonResponse:
    """What a route that takes Idempotency-Key does: `operation` run once per (scope, the
    caller, key) (run_idempotent), and its first answer sent again on a repeat
    (idempotent_response)."""
    result = run_idempotent(
        scope=scope, owner=f"user:{user.pk}", key=key, payload=payload, operation=operation
    )
    return idempotent_response(result)


def run_idempotent_with_followup(
    *,
    scope: str,
    owner: str,
    key: str,
    payload: Any,
    operation: Callable[[], Any],
    followup: Callable[[Any], tuple[int, Any]],
) -> IdempotentResult:
    """Run `operation` once per (scope, owner, key), then `followup` after its commit.

    `operation()` runs in the transaction that claims the key and returns a JSON reference (an
    order id); it is stored with the claim. Once that transaction committed, `followup(reference)`
    runs outside it (no lock held: it may call a payment provider) and returns the (status, body)
    every request with this key then gets. `followup` must be idempotent: concurrent repeats that
    find the claim committed but not yet answered run it too, and the first answer stored wins,
    so all of them answer the same bytes. If `followup` raises, nothing is stored and the next
    repeat of the request runs it again: a client's retry with the same key finishes the job.
    """
    digest = fingerprint(payload)
    with transaction.atomic():
        record, claimed = _claim(scope=scope, owner=owner, key=key, digest=digest)
        if not claimed:
            if record.status_code is not None:
                return IdempotentResult(record.status_code, record.response_body, replayed=True)
            reference, replayed = (record.response_body or {}).get(_PENDING), True
        else:
            reference, replayed = operation(), False
            record.response_body = {_PENDING: reference}
            record.save(update_fields=["response_body"])
    status_code, body = followup(reference)
    # One conditional UPDATE stores the first answer: a concurrent repeat's waits on the row,
    # then matches nothing and answers what is stored.
    stored = IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).update(
        status_code=status_code, response_body=body
    )
    if not stored:
        record = IdempotencyRecord.objects.get(pk=record.pk)
        return IdempotentResult(record.status_code, record.response_body, replayed=replayed)
    return IdempotentResult(status_code, body, replayed=replayed)
