"""Log out everywhere takes a live refresh token (issue 15, item 7): an already revoked one is a
401, so an old stolen token cannot end its owner's sessions again and again."""

import time

import pytest
from ninja_jwt.token_blacklist.models import BlacklistedToken
from ninja_jwt.tokens import RefreshToken

from api.auth import tokens_for
from testing.factories import bearer

pytestmark = pytest.mark.django_db


def logout(client, refresh, everywhere=False):
    return client.post(
        "/api/auth/logout",
        {"refresh": refresh, "everywhere": everywhere},
        content_type="application/json",
    )


def test_a_revoked_token_cannot_end_the_sessions_again(api_client, user):
    stolen = tokens_for(user)
    time.sleep(1)  # tokens carry whole seconds; the revocation must come after them
    assert logout(api_client, stolen["refresh"], everywhere=True).status_code == 204
    # The owner signs in again on a new device...
    time.sleep(1)
    fresh = tokens_for(user)
    # ...and the old token, revoked by the first "everywhere", is refused: before, a 204 that
    # ended the new session too.
    replay = logout(api_client, stolen["refresh"], everywhere=True)
    assert replay.status_code == 401
    assert replay.json()["code"] == "not_authenticated"
    assert api_client.get("/api/me", **bearer(fresh["access"])).status_code == 200
    refreshed = api_client.post(
        "/api/auth/token/refresh", {"refresh": fresh["refresh"]}, content_type="application/json"
    )
    assert refreshed.status_code == 200


def test_a_logged_out_token_cannot_end_every_session(api_client, user):
    laptop, phone = tokens_for(user), tokens_for(user)
    assert logout(api_client, laptop["refresh"]).status_code == 204
    assert logout(api_client, laptop["refresh"]).status_code == 204  # plain logout: idempotent
    assert logout(api_client, laptop["refresh"], everywhere=True).status_code == 401
    assert api_client.get("/api/me", **bearer(phone["access"])).status_code == 200
    phone_jti = RefreshToken(phone["refresh"])["jti"]
    assert not BlacklistedToken.objects.filter(token__jti=phone_jti).exists()
