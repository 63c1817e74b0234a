"""Password change and reset, email verification, and the emails they send (HTML + text)."""

import re
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from ninja_jwt.token_blacklist.models import OutstandingToken

from api.auth import tokens_for
from core.models import OneTimeToken, SentEmail, User
from testing.factories import PASSWORD, bearer

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Difference-Engine-1822"


def post(client, path, body=None, **extra):
    return client.post(path, body or {}, content_type="application/json", **extra)


def link_token(message) -> str:
    """The token in an email's link, from the text part (the HTML part carries the same)."""
    match = re.search(r"token=([0-9]+\.[0-9a-f]{64})", message.body)
    assert match, message.body
    html = message.alternatives[0][0]
    assert match.group(1) in html
    return match.group(1)


# -- registration emails --------------------------------------------------------------------------


def test_registration_sends_one_welcome_email_with_a_verification_link(api_client, run_tasks):
    with run_tasks():
        response = post(
            api_client,
            "/api/auth/register",
            {"email": "ada@example.com", "password": NEW_PASSWORD, "first_name": "Ada"},
        )
    assert response.status_code == 201
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ada@example.com"]
    assert message.subject == "Welcome to Emporium: please verify your email"
    assert "Hello Ada" in message.body
    assert message.alternatives[0][1] == "text/html"
    assert "<html" in message.alternatives[0][0]
    token = link_token(message)

    verified = post(api_client, "/api/auth/email/verify", {"token": token})
    assert verified.status_code == 200
    assert verified.json()["email_verified"] is True
    assert User.objects.get(email="ada@example.com").email_verified
    # a second click on the same link is harmless
    assert post(api_client, "/api/auth/email/verify", {"token": token}).status_code == 200


def test_nothing_is_sent_when_the_registration_rolls_back(api_client, run_tasks, user):
    with run_tasks() as callbacks:
        response = post(
            api_client, "/api/auth/register", {"email": user.email, "password": NEW_PASSWORD}
        )
    assert response.status_code == 409
    assert callbacks == []
    assert mail.outbox == []


def test_the_welcome_task_sends_once_however_often_it_runs(user):
    from core.tasks import user_welcome_send_task

    assert user_welcome_send_task.run(user.pk) is True
    assert user_welcome_send_task.run(user.pk) is False
    assert len(mail.outbox) == 1
    assert SentEmail.objects.get().event_key == f"welcome:{user.pk}"


def test_a_forged_or_foreign_verification_token_is_refused(api_client, user, other_user):
    token = OneTimeToken.objects.create(
        user=user,
        purpose=OneTimeToken.Purpose.EMAIL_VERIFICATION,
        email=user.email,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    pk, digest = token.token.split(".")
    for forged in [f"{pk}.{'0' * 64}", f"{int(pk) + 1}.{digest}", "garbage", f"{pk}."]:
        response = post(api_client, "/api/auth/email/verify", {"token": forged})
        assert response.status_code == 400, forged
        assert response.json()["code"] == "token_invalid"
    # a reset token is not a verification token
    reset = OneTimeToken.objects.create(
        user=user,
        purpose=OneTimeToken.Purpose.PASSWORD_RESET,
        email=user.email,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    assert post(api_client, "/api/auth/email/verify", {"token": reset.token}).status_code == 400
    user.refresh_from_db()
    assert not user.email_verified


def test_resending_the_verification_link(api_client, run_tasks, user):
    with run_tasks():
        response = post(api_client, "/api/auth/email/verify/resend", **bearer(user))
    assert response.status_code == 202
    assert mail.outbox[0].subject == "Verify your email address for Emporium"
    post(api_client, "/api/auth/email/verify", {"token": link_token(mail.outbox[0])})
    again = post(api_client, "/api/auth/email/verify/resend", **bearer(user))
    assert again.status_code == 409
    assert again.json()["code"] == "email_already_verified"


def test_an_expired_verification_link_is_refused(api_client, user):
    token = OneTimeToken.objects.create(
        user=user,
        purpose=OneTimeToken.Purpose.EMAIL_VERIFICATION,
        email=user.email,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert post(api_client, "/api/auth/email/verify", {"token": token.token}).status_code == 400


# -- password change ------------------------------------------------------------------------------


def test_password_change_ends_other_sessions_and_returns_a_fresh_pair(api_client, run_tasks, user):
    other_device = tokens_for(user)
    this_device = tokens_for(user)
    time.sleep(1)  # tokens carry whole seconds; the change must come after the old ones
    with run_tasks():
        response = post(
            api_client,
            "/api/auth/password/change",
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            **bearer(this_device["access"]),
        )
    assert response.status_code == 200, response.content
    fresh = response.json()

    assert api_client.get("/api/me", **bearer(fresh["access"])).status_code == 200
    for old in (other_device, this_device):
        assert api_client.get("/api/me", **bearer(old["access"])).status_code == 401
        refresh = post(api_client, "/api/auth/token/refresh", {"refresh": old["refresh"]})
        assert refresh.status_code == 401
    assert (
        post(api_client, "/api/auth/token/refresh", {"refresh": fresh["refresh"]}).status_code
        == 200
    )
    # blacklisted: every refresh token issued before the change
    assert OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count() == 1
    sign_in = post(api_client, "/api/auth/token", {"email": user.email, "password": NEW_PASSWORD})
    assert sign_in.status_code == 200
    assert [m.subject for m in mail.outbox] == ["Your Emporium password was changed"]


def test_password_change_needs_the_current_password_and_a_strong_new_one(api_client, user):
    wrong = post(
        api_client,
        "/api/auth/password/change",
        {"current_password": "not-it", "new_password": NEW_PASSWORD},
        **bearer(user),
    )
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "wrong_password"
    assert wrong.json()["details"]["errors"][0]["field"] == "current_password"
    weak = post(
        api_client,
        "/api/auth/password/change",
        {"current_password": PASSWORD, "new_password": "123"},
        **bearer(user),
    )
    assert weak.status_code == 422
    assert weak.json()["details"]["errors"][0]["field"] == "new_password"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_needs_a_token(api_client):
    response = post(
        api_client,
        "/api/auth/password/change",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 401


# -- password reset -------------------------------------------------------------------------------


def _request_reset(client, email):
    return post(client, "/api/auth/password/reset", {"email": email})


def test_reset_answers_the_same_whether_the_account_exists_or_not(api_client, run_tasks, user):
    with run_tasks():
        known = _request_reset(api_client, "ADA@example.com")
        unknown = _request_reset(api_client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert mail.outbox[0].subject == "Reset your Emporium password"


def test_reset_link_sets_a_new_password_once(api_client, run_tasks, user):
    session = tokens_for(user)
    time.sleep(1)
    with run_tasks():
        _request_reset(api_client, user.email)
    token = link_token(mail.outbox[0])

    with run_tasks():
        done = post(
            api_client,
            "/api/auth/password/reset/confirm",
            {"token": token, "new_password": NEW_PASSWORD},
        )
    assert done.status_code == 204, done.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert user.email_verified  # the link reached the inbox
    assert api_client.get("/api/me", **bearer(session["access"])).status_code == 401
    assert (
        post(api_client, "/api/auth/token/refresh", {"refresh": session["refresh"]}).status_code
        == 401
    )
    assert mail.outbox[-1].subject == "Your Emporium password was changed"

    reuse = post(
        api_client,
        "/api/auth/password/reset/confirm",
        {"token": token, "new_password": "Another-Fine-Pass-9"},
    )
    assert reuse.status_code == 400
    assert reuse.json()["code"] == "token_invalid"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_an_expired_reset_link_is_refused(api_client, run_tasks, user):
    with run_tasks():
        _request_reset(api_client, user.email)
    token = link_token(mail.outbox[0])
    OneTimeToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = post(
        api_client,
        "/api/auth/password/reset/confirm",
        {"token": token, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_reset_links_expire_after_an_hour_by_default(api_client, user):
    _request_reset(api_client, user.email)
    token = OneTimeToken.objects.get()
    assert timedelta(minutes=59) < token.expires_at - token.created_at <= timedelta(minutes=60)


def test_only_the_latest_reset_link_works(api_client, run_tasks, user):
    for _ in range(2):
        with run_tasks():
            _request_reset(api_client, user.email)
    first, second = (link_token(m) for m in mail.outbox)
    body = {"new_password": NEW_PASSWORD}
    assert (
        post(api_client, "/api/auth/password/reset/confirm", {"token": first, **body}).status_code
        == 400
    )
    assert (
        post(api_client, "/api/auth/password/reset/confirm", {"token": second, **body}).status_code
        == 204
    )


def test_a_weak_password_keeps_the_reset_link_usable(api_client, run_tasks, user):
    with run_tasks():
        _request_reset(api_client, user.email)
    token = link_token(mail.outbox[0])
    weak = post(
        api_client, "/api/auth/password/reset/confirm", {"token": token, "new_password": "1"}
    )
    assert weak.status_code == 422
    ok = post(
        api_client,
        "/api/auth/password/reset/confirm",
        {"token": token, "new_password": NEW_PASSWORD},
    )
    assert ok.status_code == 204


def test_a_password_change_kills_pending_reset_links(api_client, run_tasks, user):
    with run_tasks():
        _request_reset(api_client, user.email)
    token = link_token(mail.outbox[0])
    post(
        api_client,
        "/api/auth/password/change",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        **bearer(user),
    )
    response = post(
        api_client,
        "/api/auth/password/reset/confirm",
        {"token": token, "new_password": "Another-Fine-Pass-9"},
    )
    assert response.status_code == 400


def test_the_reset_task_skips_a_link_used_before_it_ran(user):
    from core.tasks import password_reset_send_task

    token = OneTimeToken.objects.create(
        user=user,
        purpose=OneTimeToken.Purpose.PASSWORD_RESET,
        email=user.email,
        expires_at=timezone.now() + timedelta(hours=1),
        used_at=timezone.now(),
    )
    assert password_reset_send_task.run(token.pk) is False
    assert password_reset_send_task.run(10**9) is False
    assert mail.outbox == []
