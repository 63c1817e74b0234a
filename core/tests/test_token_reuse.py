"""Refresh-token reuse detection: a rotated token presented again after the grace window revokes
every token its rotation led to (401 token_reused); the tabs' race, a logged-out token and the
user's other sign-ins are left alone; the daily flush prunes the rotation rows."""

import logging
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import timezone
from ninja_jwt.token_blacklist.models import OutstandingToken

from api.auth import tokens_for
from core.models import TokenRotation
from core.tasks import tokens_flush_expired_task
from core.tokens import token_refresh
from testing.factories import UserFactory, bearer

REFRESH = "/api/auth/token/refresh"


def post(client, path, body):
    return client.post(path, body, content_type="application/json")


def rotate(client, refresh: str) -> dict:
    response = post(client, REFRESH, {"refresh": refresh})
    assert response.status_code == 200, response.content
    return response.json()


def chain(client, user, length: int) -> list[dict]:
    """A sign-in's pair followed by `length - 1` rotations of it."""
    pairs = [tokens_for(user)]
    for _ in range(length - 1):
        pairs.append(rotate(client, pairs[-1]["refresh"]))
    return pairs


def age_rotations(seconds: int = 31) -> None:
    TokenRotation.objects.update(rotated_at=timezone.now() - timedelta(seconds=seconds))


def refused(client, refresh: str) -> str:
    """The code of the 401 a refresh attempt gets."""
    response = post(client, REFRESH, {"refresh": refresh})
    assert response.status_code == 401, response.content
    return response.json()["code"]


@pytest.mark.django_db
def test_reuse_after_the_grace_window_revokes_the_descendants(api_client, user, caplog):
    pairs = chain(api_client, user, 4)
    age_rotations()
    caplog.set_level(logging.WARNING, logger="core.tokens")

    response = post(api_client, REFRESH, {"refresh": pairs[1]["refresh"]})

    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "token_reused"
    assert body["details"] == {"reason": "token_reused"}
    assert response["WWW-Authenticate"].startswith("Bearer")
    # the newest token of the chain, held by the real client or the thief, is refused too
    assert refused(api_client, pairs[-1]["refresh"]) == "not_authenticated"
    verify = post(api_client, "/api/auth/token/verify", {"token": pairs[-1]["refresh"]})
    assert verify.status_code == 401
    # a warning names the user, never a token
    [record] = [r for r in caplog.records if r.name == "core.tokens"]
    assert record.levelno == logging.WARNING
    assert record.user_id == user.pk
    assert record.revoked_tokens == 1
    logged = record.getMessage() + repr(vars(record))
    assert not any(pair["refresh"] in logged or pair["access"] in logged for pair in pairs)


@pytest.mark.django_db
def test_reusing_the_sign_in_token_itself_revokes_the_chain(api_client, user):
    pairs = chain(api_client, user, 3)
    age_rotations()
    assert refused(api_client, pairs[0]["refresh"]) == "token_reused"
    assert refused(api_client, pairs[2]["refresh"]) == "not_authenticated"
    # presenting it again is still a reuse (the family stays revoked)
    assert refused(api_client, pairs[0]["refresh"]) == "token_reused"


@pytest.mark.django_db
def test_reuse_within_the_grace_window_is_a_plain_401_and_revokes_nothing(api_client, user):
    first, second = chain(api_client, user, 2)
    age_rotations(seconds=20)
    assert refused(api_client, first["refresh"]) == "not_authenticated"
    assert rotate(api_client, second["refresh"])["refresh"]


@pytest.mark.django_db
def test_the_grace_window_is_a_setting(api_client, user, settings):
    settings.REFRESH_TOKEN_REUSE_GRACE_SECONDS = 600
    first, second = chain(api_client, user, 2)
    age_rotations(seconds=300)
    assert refused(api_client, first["refresh"]) == "not_authenticated"
    age_rotations(seconds=601)
    assert refused(api_client, first["refresh"]) == "token_reused"
    assert refused(api_client, second["refresh"]) == "not_authenticated"


@pytest.mark.django_db
def test_a_logged_out_token_is_a_plain_401_and_revokes_nothing(api_client, user):
    phone, laptop = tokens_for(user), chain(api_client, user, 2)
    assert post(api_client, "/api/auth/logout", {"refresh": phone["refresh"]}).status_code == 204
    # logging out the newest token of a chain is no rotation either
    phone_chain = chain(api_client, user, 2)
    post(api_client, "/api/auth/logout", {"refresh": phone_chain[1]["refresh"]})
    age_rotations(seconds=3600)

    assert refused(api_client, phone["refresh"]) == "not_authenticated"
    assert refused(api_client, phone_chain[1]["refresh"]) == "not_authenticated"
    assert rotate(api_client, laptop[1]["refresh"])["refresh"]


@pytest.mark.django_db
def test_the_users_other_sign_ins_survive_a_family_revocation(api_client, user):
    phone, laptop = chain(api_client, user, 3), chain(api_client, user, 2)
    age_rotations()
    assert refused(api_client, phone[0]["refresh"]) == "token_reused"
    assert refused(api_client, phone[2]["refresh"]) == "not_authenticated"
    assert api_client.get("/api/me", **bearer(laptop[1]["access"])).status_code == 200
    assert rotate(api_client, laptop[1]["refresh"])["refresh"]


@pytest.mark.django_db
def test_each_rotation_is_recorded_in_its_sign_ins_family(api_client, user):
    phone, laptop = chain(api_client, user, 3), chain(api_client, user, 2)

    def jti(pair):
        return OutstandingToken.objects.get(token=pair["refresh"]).jti

    rows = {(r.token.jti, r.replaced_by.jti, r.family) for r in TokenRotation.objects.all()}
    assert rows == {
        (jti(phone[0]), jti(phone[1]), jti(phone[0])),
        (jti(phone[1]), jti(phone[2]), jti(phone[0])),
        (jti(laptop[0]), jti(laptop[1]), jti(laptop[0])),
    }


@pytest.mark.django_db
def test_the_flush_prunes_rotation_rows_with_their_expired_tokens(api_client, user):
    pairs = chain(api_client, user, 4)
    first = OutstandingToken.objects.get(token=pairs[0]["refresh"])
    OutstandingToken.objects.filter(pk=first.pk).update(
        expires_at=timezone.now() - timedelta(days=1)
    )

    assert tokens_flush_expired_task.run() == 1

    assert not TokenRotation.objects.filter(token=first).exists()
    assert TokenRotation.objects.count() == 2
    # the rows left still hold the family: reusing the second token revokes the newest
    age_rotations()
    assert refused(api_client, pairs[1]["refresh"]) == "token_reused"
    assert refused(api_client, pairs[3]["refresh"]) == "not_authenticated"

    OutstandingToken.objects.update(expires_at=timezone.now() - timedelta(days=1))
    tokens_flush_expired_task.run()
    assert not TokenRotation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_revocation_waits_for_a_rotation_in_flight_and_revokes_its_token_too():
    """The live token rotates while the revocation runs: the token it issues is revoked as well."""
    user = UserFactory()
    pairs = chain(Client(), user, 3)
    age_rotations()
    rotated, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def rotate_and_hold():
        try:
            with transaction.atomic():  # the rotation's lock is held until this commits
                results["pair"] = token_refresh(refresh=pairs[-1]["refresh"])
                rotated.set()
                release.wait(timeout=20)
        finally:
            rotated.set()
            connections.close_all()

    def reuse():
        try:
            response = post(Client(), REFRESH, {"refresh": pairs[0]["refresh"]})
            results["reuse"] = response.status_code, response.json()["code"]
        finally:
            connections.close_all()

    holder = threading.Thread(target=rotate_and_hold)
    holder.start()
    assert rotated.wait(timeout=20)
    reuser = threading.Thread(target=reuse)
    reuser.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _someone_waits_for_a_lock():
        time.sleep(0.02)
    release.set()
    holder.join(timeout=30)
    reuser.join(timeout=30)

    assert results["reuse"] == (401, "token_reused")
    assert refused(Client(), results["pair"].refresh) == "not_authenticated"


def _someone_waits_for_a_lock() -> bool:
    # From the test's own connection, in autocommit: the view is read afresh each time.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0
