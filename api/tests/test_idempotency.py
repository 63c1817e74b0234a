"""Idempotency-Key: one run per key, replays identical, another body is a 409, races wait."""

import threading

import pytest
from django.db import connection

from api.errors import BadRequest, Conflict
from api.idempotency import run_idempotent, validate_key
from api.models import IdempotencyRecord
from core.models import User


def create_user_operation(email):
    def operation():
        user = User.objects.create_user(email, "pw-Long-enough-1")
        return 201, {"id": user.pk, "email": user.email}

    return operation


@pytest.mark.django_db
def test_same_key_and_body_replays_without_running_again():
    args = {"scope": "signup", "owner": "anon", "key": "k-1", "payload": {"email": "a@x.io"}}
    first = run_idempotent(**args, operation=create_user_operation("a@x.io"))
    second = run_idempotent(**args, operation=create_user_operation("a@x.io"))
    assert (first.status_code, first.replayed) == (201, False)
    assert (second.status_code, second.body, second.replayed) == (201, first.body, True)
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_another_body_is_409():
    run_idempotent(
        scope="s", owner="o", key="k", payload={"n": 1}, operation=lambda: (200, {"n": 1})
    )
    with pytest.raises(Conflict) as caught:
        run_idempotent(
            scope="s", owner="o", key="k", payload={"n": 2}, operation=lambda: (200, {"n": 2})
        )
    assert caught.value.code == "idempotency_key_reused"


@pytest.mark.django_db
def test_keys_are_per_owner_and_scope():
    for owner in ("user:1", "user:2"):
        result = run_idempotent(
            scope="s", owner=owner, key="k", payload={}, operation=lambda: (200, {})
        )
        assert not result.replayed
    assert IdempotencyRecord.objects.count() == 2


@pytest.mark.django_db
def test_a_failed_operation_stores_nothing_and_may_be_retried():
    def failing():
        User.objects.create_user("half@x.io", "pw-Long-enough-1")
        raise Conflict("no")

    with pytest.raises(Conflict):
        run_idempotent(scope="s", owner="o", key="k", payload={}, operation=failing)
    assert not IdempotencyRecord.objects.exists()
    assert not User.objects.filter(email="half@x.io").exists()
    result = run_idempotent(
        scope="s", owner="o", key="k", payload={}, operation=lambda: (201, {"ok": True})
    )
    assert not result.replayed


@pytest.mark.parametrize("key", ["", None])
def test_missing_key_when_required(key):
    with pytest.raises(BadRequest) as caught:
        validate_key(key, required=True)
    assert caught.value.code == "idempotency_key_required"


@pytest.mark.parametrize("key", ["has space", "x" * 256, "\x00"])
def test_malformed_key(key):
    with pytest.raises(BadRequest):
        validate_key(key)


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_run_once():
    barrier = threading.Barrier(8)
    results, failures = [], []

    def worker():
        try:
            barrier.wait()
            results.append(
                run_idempotent(
                    scope="signup",
                    owner="anon",
                    key="race",
                    payload={"email": "race@x.io"},
                    operation=create_user_operation("race@x.io"),
                )
            )
        except Exception as exc:  # collected and asserted below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert User.objects.filter(email="race@x.io").count() == 1
    assert sum(not r.replayed for r in results) == 1
    assert len({str(r.body) for r in results}) == 1
