"""Account emails and token housekeeping. Tasks take ids and are safe to run twice: each email
carries an event key, so core.notifications sends it once however often the task runs."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from core.models import OneTimeToken, User
from core.notifications import send_templated_email

logger = logging.getLogger("core.tasks")


def _recipient(user: User) -> dict[str, str]:
    return {"first_name": user.first_name, "email": user.email}


def _usable_token(token_id: int | None, purpose: str) -> OneTimeToken | None:
    if token_id is None:
        return None
    token = (
        OneTimeToken.objects.select_related("user")
        .filter(pk=token_id, purpose=purpose, user__is_active=True)
        .first()
    )
    if token is None or not token.is_usable() or token.email != token.user.email:
        return None
    return token


@shared_task(name="email.send_welcome")
def user_welcome_send_task(user_id: int, verification_token_id: int | None = None) -> bool:
    """Welcome a new customer, with the link that verifies their address."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    token = _usable_token(verification_token_id, OneTimeToken.Purpose.EMAIL_VERIFICATION)
    verification_url = None
    if token is not None and not user.email_verified:
        verification_url = settings.EMAIL_VERIFICATION_URL.format(token=token.token)
    return send_templated_email(
        template="welcome",
        to=user.email,
        context={
            "user": _recipient(user),
            "verification_url": verification_url,
            "ttl_hours": settings.EMAIL_VERIFICATION_TOKEN_TTL_HOURS,
        },
        event_key=f"welcome:{user.pk}",
    )


@shared_task(name="email.send_verification")
def email_verification_send_task(token_id: int) -> bool:
    """A new verification link, asked for by the customer."""
    token = _usable_token(token_id, OneTimeToken.Purpose.EMAIL_VERIFICATION)
    if token is None or token.user.email_verified:
        return False
    return send_templated_email(
        template="email_verification",
        to=token.email,
        context={
            "user": _recipient(token.user),
            "verification_url": settings.EMAIL_VERIFICATION_URL.format(token=token.token),
            "ttl_hours": settings.EMAIL_VERIFICATION_TOKEN_TTL_HOURS,
        },
        event_key=f"email_verification:{token.pk}",
    )


@shared_task(name="email.send_password_reset")
def password_reset_send_task(token_id: int) -> bool:
    """The reset link; skipped when the token was used or replaced before the task ran."""
    token = _usable_token(token_id, OneTimeToken.Purpose.PASSWORD_RESET)
    if token is None:
        return False
    return send_templated_email(
        template="password_reset",
        to=token.email,
        context={
            "user": _recipient(token.user),
            "reset_url": settings.PASSWORD_RESET_URL.format(token=token.token),
            "ttl_minutes": settings.PASSWORD_RESET_TOKEN_TTL_MINUTES,
        },
        event_key=f"password_reset:{token.pk}",
    )


@shared_task(name="email.send_password_changed")
def password_changed_send_task(user_id: int, changed_at: int) -> bool:
    """Tell the owner their password changed, in case it was not them."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return False
    return send_templated_email(
        template="password_changed",
        to=user.email,
        context={"user": _recipient(user)},
        event_key=f"password_changed:{user.pk}:{changed_at}",
    )


@shared_task(name="maintenance.flush_expired_tokens")
def tokens_flush_expired_task() -> int:
    """Daily (beat): drop refresh-token rows past expiry and one-time tokens long dead."""
    from core.services import one_time_tokens_flush
    from core.tokens import tokens_flush_expired

    flushed = tokens_flush_expired()
    one_time = one_time_tokens_flush()
    logger.info("expired tokens flushed", extra={"refresh_tokens": flushed, "one_time": one_time})
    return flushed + one_time


@shared_task(name="maintenance.prune_sent_emails")
def sent_emails_prune_task() -> int:
    """Daily (beat): sent-email records older than SENT_EMAIL_KEEP_DAYS."""
    from core.services import sent_emails_prune

    deleted = sent_emails_prune()
    logger.info("pruned", extra={"table": "sent emails", "deleted": deleted})
    return deleted
