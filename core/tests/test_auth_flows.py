"""Register, sign in, refresh (rotation), verify and log out, and every way a token is refused."""

import time
import warnings
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from api.auth import tokens_for
from core.models import User
from testing.factories import PASSWORD, UserFactory, bearer

pytestmark = pytest.mark.django_db


def post(client, path, body, **extra):
    return client.post(path, body, content_type="application/json", **extra)


def signing_key() -> str:
    return settings.NINJA_JWT["SIGNING_KEY"]


# -- registration ---------------------------------------------------------------------------------


def test_register_answers_201_with_the_user_and_a_working_pair(api_client):
    response = post(
        api_client,
        "/api/auth/register",
        {
            "email": " Ada@Example.com ",
            "password": "Analytical-Engine-1843",
            "first_name": "Ada",
            "last_name": "Lovelace",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["email_verified"] is False
    assert body["user"]["is_staff"] is False
    assert body["tokens"]["token_type"] == "Bearer"
    me = api_client.get("/api/me", **bearer(body["tokens"]["access"]))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    user = User.objects.get(email="ada@example.com")
    assert user.check_password("Analytical-Engine-1843")


@pytest.mark.parametrize("email", ["ada@example.com", "ADA@EXAMPLE.COM", "  Ada@example.Com"])
def test_register_with_a_used_email_in_any_case_is_409(api_client, user, email):
    response = post(
        api_client, "/api/auth/register", {"email": email, "password": "Analytical-Engine-1843"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "email_taken"
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("password", "fragment"),
    [("short1", "too short"), ("password123", "too common"), ("84736291047", "entirely numeric")],
)
def test_register_runs_the_password_validators(api_client, password, fragment):
    response = post(
        api_client, "/api/auth/register", {"email": "new@example.com", "password": password}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "password_invalid"
    assert body["details"]["errors"][0]["field"] == "password"
    assert any(fragment in e["message"] for e in body["details"]["errors"])
    assert not User.objects.exists()


def test_register_refuses_a_password_like_the_email(api_client):
    response = post(
        api_client,
        "/api/auth/register",
        {"email": "margaret.hamilton@example.com", "password": "margaret.hamilton"},
    )
    assert response.status_code == 422
    assert "too similar" in response.content.decode()


@pytest.mark.parametrize(
    "extra", [{"is_staff": True}, {"is_superuser": True}, {"email_verified": True}, {"id": 1}]
)
def test_register_refuses_privileged_fields(api_client, extra):
    response = post(
        api_client,
        "/api/auth/register",
        {"email": "mallory@example.com", "password": "Analytical-Engine-1843", **extra},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert not User.objects.exists()


# -- sign in --------------------------------------------------------------------------------------


def test_sign_in_gives_a_pair_and_records_the_login(api_client, user):
    response = post(
        api_client, "/api/auth/token", {"email": "ADA@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
        "access",
        "refresh",
        "token_type",
        "access_expires_at",
        "refresh_expires_at",
    }
    assert api_client.get("/api/me", **bearer(body["access"])).json()["id"] == user.pk
    user.refresh_from_db()
    assert user.last_login is not None
    assert OutstandingToken.objects.filter(user=user).count() == 1


def test_token_lifetimes_default_to_60_minutes_and_7_days(api_client, user):
    body = post(api_client, "/api/auth/token", {"email": user.email, "password": PASSWORD}).json()
    access = jwt.decode(body["access"], signing_key(), algorithms=["HS256"])
    refresh = jwt.decode(body["refresh"], signing_key(), algorithms=["HS256"])
    assert access["exp"] - access["iat"] == 60 * 60
    assert refresh["exp"] - refresh["iat"] == 7 * 24 * 60 * 60


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "ada@example.com", "password": "wrong-password"},
        {"email": "nobody@example.com", "password": PASSWORD},
    ],
)
def test_wrong_credentials_are_one_401(api_client, user, credentials):
    response = post(api_client, "/api/auth/token", credentials)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_an_inactive_user_cannot_sign_in(api_client, user):
    user.is_active = False
    user.save()
    response = post(api_client, "/api/auth/token", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 401


# -- refresh and rotation -------------------------------------------------------------------------


def test_refresh_rotates_and_the_old_refresh_token_is_refused(api_client, user):
    first = tokens_for(user)
    response = post(api_client, "/api/auth/token/refresh", {"refresh": first["refresh"]})
    assert response.status_code == 200, response.content
    second = response.json()
    assert second["refresh"] != first["refresh"]
    assert api_client.get("/api/me", **bearer(second["access"])).status_code == 200

    reuse = post(api_client, "/api/auth/token/refresh", {"refresh": first["refresh"]})
    assert reuse.status_code == 401
    assert reuse.json()["details"]["reason"] == "token_not_valid"
    # the new refresh token is tracked too, so logout and password changes reach it
    again = post(api_client, "/api/auth/token/refresh", {"refresh": second["refresh"]})
    assert again.status_code == 200


def test_an_access_token_is_not_a_refresh_token(api_client, user):
    pair = tokens_for(user)
    response = post(api_client, "/api/auth/token/refresh", {"refresh": pair["access"]})
    assert response.status_code == 401
    assert api_client.get("/api/me", **bearer(pair["refresh"])).status_code == 401


def test_refresh_for_a_deactivated_user_is_refused(api_client, user):
    pair = tokens_for(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert (
        post(api_client, "/api/auth/token/refresh", {"refresh": pair["refresh"]}).status_code == 401
    )
    assert api_client.get("/api/me", **bearer(pair["access"])).status_code == 401


# -- verify and logout ----------------------------------------------------------------------------


def test_verify_names_the_token_type_and_refuses_blacklisted_ones(api_client, user):
    pair = tokens_for(user)
    access = post(api_client, "/api/auth/token/verify", {"token": pair["access"]})
    assert access.status_code == 200
    assert access.json()["token_type"] == "access"
    assert access.json()["user_id"] == user.pk
    assert post(api_client, "/api/auth/token/verify", {"token": pair["refresh"]}).json()[
        "token_type"
    ] == ("refresh")
    post(api_client, "/api/auth/logout", {"refresh": pair["refresh"]})
    assert post(api_client, "/api/auth/token/verify", {"token": pair["refresh"]}).status_code == 401


def test_logout_blacklists_the_refresh_token_and_is_idempotent(api_client, user):
    pair = tokens_for(user)
    assert post(api_client, "/api/auth/logout", {"refresh": pair["refresh"]}).status_code == 204
    assert post(api_client, "/api/auth/logout", {"refresh": pair["refresh"]}).status_code == 204
    assert BlacklistedToken.objects.filter(token__user=user).count() == 1
    refresh = post(api_client, "/api/auth/token/refresh", {"refresh": pair["refresh"]})
    assert refresh.status_code == 401


def test_logout_everywhere_ends_every_session(api_client, user):
    phone, laptop = tokens_for(user), tokens_for(user)
    time.sleep(1)  # tokens carry whole seconds; the revocation must come after them
    response = post(
        api_client, "/api/auth/logout", {"refresh": phone["refresh"], "everywhere": True}
    )
    assert response.status_code == 204
    assert (
        post(api_client, "/api/auth/token/refresh", {"refresh": laptop["refresh"]}).status_code
        == 401
    )
    assert api_client.get("/api/me", **bearer(laptop["access"])).status_code == 401
    # signing in again works
    fresh = post(api_client, "/api/auth/token", {"email": user.email, "password": PASSWORD})
    assert api_client.get("/api/me", **bearer(fresh.json()["access"])).status_code == 200


# -- refused tokens -------------------------------------------------------------------------------


def _claims(user, token_type="access", **changes):
    now = int(time.time())
    claims = {
        "token_type": token_type,
        "exp": now + 600,
        "iat": now,
        "jti": "a" * 32,
        "user_id": user.pk,
    }
    claims.update(changes)
    return claims


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    # flip one character of the payload: the signature no longer matches
    payload = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    return f"{header}.{payload}.{signature}"


def _quiet_encode(*args, **kwargs) -> str:
    with (
        warnings.catch_warnings()
    ):  # PyJWT warns that our key is short for HS512: that is the point
        warnings.simplefilter("ignore")
        return jwt.encode(*args, **kwargs)


@pytest.fixture
def bad_tokens(user):
    other = UserFactory(email="other@example.com")
    return {
        "garbage": "not-a-jwt",
        "tampered": _tampered(tokens_for(user)["access"]),
        "other_key": jwt.encode(_claims(user), "another-key-" + "x" * 40, algorithm="HS256"),
        "alg_none": jwt.encode(_claims(user), None, algorithm="none"),
        "expired": jwt.encode(
            _claims(user, exp=int(time.time()) - 10, iat=int(time.time()) - 3610),
            signing_key(),
            algorithm="HS256",
        ),
        "hs512": _quiet_encode(_claims(user), signing_key(), algorithm="HS512"),
        "no_user": jwt.encode(
            {k: v for k, v in _claims(user).items() if k != "user_id"},
            signing_key(),
            algorithm="HS256",
        ),
        "deleted_user": jwt.encode(_claims(other, user_id=10**9), signing_key(), algorithm="HS256"),
    }


@pytest.mark.parametrize(
    "kind",
    ["garbage", "tampered", "other_key", "alg_none", "expired", "hs512", "no_user", "deleted_user"],
)
def test_bad_access_tokens_are_401(api_client, bad_tokens, kind):
    response = api_client.get("/api/me", **bearer(bad_tokens[kind]))
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert body["details"] == {"reason": "token_not_valid"}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("kind", ["tampered", "other_key", "alg_none", "expired"])
def test_bad_refresh_tokens_are_401(api_client, user, kind):
    good = tokens_for(user)["refresh"]
    claims = jwt.decode(good, signing_key(), algorithms=["HS256"])
    forged = {
        "tampered": _tampered(good),
        "other_key": jwt.encode(claims, "another-key-" + "x" * 40, algorithm="HS256"),
        "alg_none": jwt.encode(claims, None, algorithm="none"),
        "expired": jwt.encode({**claims, "exp": int(time.time()) - 5}, signing_key(), "HS256"),
    }[kind]
    for path, field in [
        ("/api/auth/token/refresh", "refresh"),
        ("/api/auth/logout", "refresh"),
        ("/api/auth/token/verify", "token"),
    ]:
        response = post(api_client, path, {field: forged})
        assert response.status_code == 401, (path, response.content)
    assert not BlacklistedToken.objects.exists()


def test_a_validly_signed_refresh_token_we_never_issued_is_refused(api_client, user):
    claims = _claims(user, token_type="refresh", jti="f" * 32)
    forged = jwt.encode(claims, signing_key(), algorithm="HS256")
    assert post(api_client, "/api/auth/token/refresh", {"refresh": forged}).status_code == 401


def test_no_token_is_401_not_authenticated(api_client):
    response = api_client.get("/api/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_access_tokens_older_than_a_password_change_are_refused(api_client, user):
    old = tokens_for(user)["access"]
    User.objects.filter(pk=user.pk).update(tokens_valid_after=timezone.now() + timedelta(seconds=2))
    assert api_client.get("/api/me", **bearer(old)).status_code == 401
