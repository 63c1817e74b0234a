"""Idempotency-Key handling for unsafe endpoints (DESIGN.md §6).

The first request with a key claims it by inserting its row, runs the operation and stores the
answer, all in one transaction. A concurrent repeat's insert waits on that row: when the first
commits, the repeat replays its answer; when the first fails (its transaction rolled back, nothing
stored), the repeat runs the operation itself. A repeat with another body is a 409.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from api.errors import BadRequest, Conflict
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class IdempotentResult:
    status_code: int
    body: Any
    replayed: bool


def fingerprint(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_key(key: str | None, *, required: bool = False) -> str | None:
    if not key:
        if required:
            raise BadRequest(f"The {HEADER} header is required.", code="idempotency_key_required")
        return None
    if not _KEY.match(key):
        raise BadRequest(
            f"The {HEADER} header must be 1 to 255 printable ASCII characters.",
            code="idempotency_key_invalid",
        )
    return key


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
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scope=scope, owner=owner, key=key, fingerprint=digest
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(scope=scope, owner=owner, key=key)
            if record.fingerprint != digest:
                raise Conflict(
                    f"This {HEADER} was already used with a different request.",
                    code="idempotency_key_reused",
                ) from None
            return IdempotentResult(record.status_code, record.response_body, replayed=True)
        status_code, body = operation()
        record.status_code, record.response_body = status_code, body
        record.save(update_fields=["status_code", "response_body"])
    return IdempotentResult(status_code, body, replayed=False)
