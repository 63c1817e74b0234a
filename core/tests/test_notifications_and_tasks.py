"""core.notifications (once per event key, HTML + text, retried after a failed send), the token
flush task on its daily beat schedule, and the checkout's verified-email rule."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.db import connections
from django.utils import timezone
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from api.auth import AnonymousCaller, tokens_for
from core import selectors
from core.models import OneTimeToken, SentEmail
from core.notifications import render_email, send_templated_email
from core.tasks import tokens_flush_expired_task
from core.tokens import token_blacklist
from testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def send(key="order:1", **overrides):
    return send_templated_email(
        **{
            "template": "password_changed",
            "to": "ada@example.com",
            "context": {"user": {"first_name": "Ada & Co", "email": "ada@example.com"}},
            "event_key": key,
            **overrides,
        }
    )


def test_an_email_has_a_text_and_an_html_part_escaped_apart():
    assert send() is True
    message = mail.outbox[0]
    assert message.subject == "Your Emporium password was changed"
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert "Hello Ada & Co" in message.body  # plain text is not HTML-escaped
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Ada &amp; Co" in html


def test_the_same_event_key_is_sent_once():
    assert send() is True
    assert send() is False
    assert send(key="order:2") is True
    assert len(mail.outbox) == 2
    assert SentEmail.objects.count() == 2


def test_without_a_key_every_call_sends():
    assert send(key=None) and send(key=None)
    assert len(mail.outbox) == 2


def test_a_failed_send_is_not_recorded_so_the_retry_sends():
    with (
        mock.patch(
            "django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("smtp down")
        ),
        pytest.raises(OSError),
    ):
        send()
    assert not SentEmail.objects.exists()
    assert send() is True
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_of_one_event_send_once():
    barrier = threading.Barrier(5)
    results = []

    def worker():
        try:
            barrier.wait(timeout=30)
            results.append(send(key="race:1"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [False] * 4 + [True]
    assert len(mail.outbox) == 1


def test_subjects_are_one_line():
    subject, _, _ = render_email("welcome", {"verification_url": "https://x.test/v?token=1.a"})
    assert "\n" not in subject


def test_flush_removes_expired_tokens_only():
    user = UserFactory()
    live = tokens_for(user)["refresh"]
    dead = tokens_for(user)["refresh"]
    token_blacklist(refresh=dead)
    OutstandingToken.objects.filter(blacklistedtoken__isnull=False).update(
        expires_at=timezone.now() - timedelta(days=1)
    )
    OneTimeToken.objects.create(
        user=user,
        purpose=OneTimeToken.Purpose.PASSWORD_RESET,
        email=user.email,
        expires_at=timezone.now() - timedelta(minutes=5),
    )
    kept = OneTimeToken.objects.create(
        user=user,
        purpose=OneTimeToken.Purpose.PASSWORD_RESET,
        email=user.email,
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    assert tokens_flush_expired_task.run() == 2
    assert not BlacklistedToken.objects.exists()
    assert OutstandingToken.objects.count() == 1
    assert list(OneTimeToken.objects.all()) == [kept]
    assert tokens_flush_expired_task.run() == 0  # idempotent
    from core.tokens import token_refresh

    assert token_refresh(refresh=live).refresh


def test_the_flush_runs_daily_from_beat():
    entry = settings.DEFAULT_BEAT_SCHEDULES["flush-expired-tokens"]
    assert entry["task"] == "maintenance.flush_expired_tokens"
    assert set(entry["crontab"]) == {"minute", "hour"}
    assert tokens_flush_expired_task.name == "maintenance.flush_expired_tokens"


def test_email_tasks_are_named_after_the_email_queue():
    from core import tasks

    names = {
        tasks.user_welcome_send_task.name,
        tasks.password_reset_send_task.name,
        tasks.email_verification_send_task.name,
        tasks.password_changed_send_task.name,
    }
    assert names == {
        "email.send_welcome",
        "email.send_password_reset",
        "email.send_verification",
        "email.send_password_changed",
    }


def test_user_may_checkout_follows_the_setting(settings):
    user = UserFactory()
    settings.REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT = False
    assert selectors.user_may_checkout(user)
    settings.REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT = True
    assert not selectors.user_may_checkout(user)
    user.email_verified = True
    assert selectors.user_may_checkout(user)
    assert selectors.user_may_checkout(AnonymousCaller())
