"""Accounts: registration, sign-in, passwords, email verification, profile and addresses."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from api import ratelimit
from api.errors import InvalidInput, field_error
from api.retention import delete_in_batches, retention_cutoff
from core import tasks
from core.errors import (
    AddressLimitReached,
    AddressNotFound,
    EmailAlreadyVerified,
    EmailTaken,
    InvalidCredentials,
    OneTimeTokenInvalid,
    PasswordInvalid,
    WrongPassword,
)
from core.models import Address, OneTimeToken, SentEmail, User
from core.tokens import TokenPair, token_pair_issue, user_tokens_revoke

PROFILE_FIELDS = ("first_name", "last_name")


def _field_errors(errors: dict[str, list[str]], *, code: str = "invalid") -> dict[str, Any]:
    """Field errors in the shape api/errors.py gives validation errors."""
    return {
        "errors": [
            field_error(field, message, code)
            for field, messages in errors.items()
            for message in messages
        ]
    }


def _password_check(password: str, user: User, *, field: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise PasswordInvalid(
            details=_field_errors({field: list(exc.messages)}, code=PasswordInvalid.code)
        ) from None


# -- registration and sign-in ---------------------------------------------------------------------


def user_register(
    *, email: str, password: str, first_name: str = "", last_name: str = "", ip: str
) -> tuple[User, TokenPair]:
    """A new customer, signed in; the welcome email (with its verification link) follows commit."""
    ratelimit.enforce("register", ip=ip)
    email = User.objects.normalize_email(email)
    user = User(email=email, first_name=first_name, last_name=last_name)
    _password_check(password, user, field="password")
    if User.objects.filter(email=email).exists():
        raise EmailTaken()
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            token = _one_time_token_create(
                user=user, purpose=OneTimeToken.Purpose.EMAIL_VERIFICATION
            )
            pair = token_pair_issue(user=user)
            tasks.user_welcome_send_task.delay_on_commit(user.pk, token.pk)
    except IntegrityError:
        raise EmailTaken() from None  # a concurrent registration took the address first
    return user, pair


def user_authenticate(*, email: str, password: str, ip: str) -> User:
    """The active user with these credentials, or a 401; failures are limited per IP and email."""
    attempt = ratelimit.enforce("login_failure", ip=ip, email=email)
    user = authenticate(None, email=User.objects.normalize_email(email), password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials()
    attempt.release()  # only failed attempts count against the limit
    update_last_login(None, user)
    return user


def token_obtain(*, email: str, password: str, ip: str) -> TokenPair:
    return token_pair_issue(user=user_authenticate(email=email, password=password, ip=ip))


# -- passwords ------------------------------------------------------------------------------------


def _password_set(*, user: User, password: str) -> None:
    """New password; every session ends and pending reset links die (runs inside a transaction)."""
    user.set_password(password)
    user.save(update_fields=["password", "email_verified"])
    user_tokens_revoke(user=user)
    OneTimeToken.objects.filter(
        user=user, purpose=OneTimeToken.Purpose.PASSWORD_RESET, used_at__isnull=True
    ).update(used_at=timezone.now())
    tasks.password_changed_send_task.delay_on_commit(user.pk, int(timezone.now().timestamp()))


def password_change(*, user: User, current_password: str, new_password: str) -> TokenPair:
    """Change the caller's password; their other sessions end, this one gets a fresh pair."""
    ratelimit.enforce("password_change", user=user.pk)
    if not user.check_password(current_password):
        raise WrongPassword(
            details=_field_errors(
                {"current_password": [WrongPassword.message]}, code=WrongPassword.code
            )
        )
    _password_check(new_password, user, field="new_password")
    with transaction.atomic():
        _password_set(user=user, password=new_password)
        return token_pair_issue(user=user)


def password_reset_request(*, email: str, ip: str) -> None:
    """Email a reset link if an active account has this address; the caller learns nothing."""
    ratelimit.enforce("password_reset", ip=ip, email=email)
    user = User.objects.filter(email=User.objects.normalize_email(email), is_active=True).first()
    if user is None:
        return
    with transaction.atomic():
        # Only the latest link works: an older email lying in an inbox is no way in.
        OneTimeToken.objects.filter(
            user=user, purpose=OneTimeToken.Purpose.PASSWORD_RESET, used_at__isnull=True
        ).update(used_at=timezone.now())
        token = _one_time_token_create(user=user, purpose=OneTimeToken.Purpose.PASSWORD_RESET)
        tasks.password_reset_send_task.delay_on_commit(token.pk)


def password_reset_confirm(*, token: str, new_password: str) -> None:
    """Set a new password with a reset link's token; the token works once, until it expires."""
    with transaction.atomic():
        row = _one_time_token_lock(token, purpose=OneTimeToken.Purpose.PASSWORD_RESET)
        if row is None or not row.is_usable():
            raise OneTimeTokenInvalid()
        user = row.user
        _password_check(new_password, user, field="new_password")
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        user.email_verified = True  # the link reached this address
        _password_set(user=user, password=new_password)


# -- email verification ---------------------------------------------------------------------------


def email_verify(*, token: str) -> User:
    """Mark the address the token was sent to as verified; a second click changes nothing."""
    with transaction.atomic():
        row = _one_time_token_lock(token, purpose=OneTimeToken.Purpose.EMAIL_VERIFICATION)
        if row is None:
            raise OneTimeTokenInvalid()
        user = row.user
        if row.used_at is not None and user.email_verified:
            return user
        if not row.is_usable():
            raise OneTimeTokenInvalid()
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        return user


def email_verification_resend(*, user: User) -> None:
    if user.email_verified:
        raise EmailAlreadyVerified()
    ratelimit.enforce("email_verification", user=user.pk)
    with transaction.atomic():
        token = _one_time_token_create(user=user, purpose=OneTimeToken.Purpose.EMAIL_VERIFICATION)
        tasks.email_verification_send_task.delay_on_commit(token.pk)


def _one_time_token_create(*, user: User, purpose: str) -> OneTimeToken:
    if purpose == OneTimeToken.Purpose.PASSWORD_RESET:
        ttl = timedelta(minutes=settings.PASSWORD_RESET_TOKEN_TTL_MINUTES)
    else:
        ttl = timedelta(hours=settings.EMAIL_VERIFICATION_TOKEN_TTL_HOURS)
    return OneTimeToken.objects.create(
        user=user, purpose=purpose, email=user.email, expires_at=timezone.now() + ttl
    )


def one_time_tokens_flush(*, now: datetime | None = None) -> int:
    """Delete one-time tokens past expiry (used or not): they can never work again."""
    return OneTimeToken.objects.filter(expires_at__lte=now or timezone.now()).delete()[0]


def sent_emails_prune(*, now: datetime | None = None) -> int:
    """Forget emails sent longer than SENT_EMAIL_KEEP_DAYS ago: no event asks for its key again."""
    cutoff = retention_cutoff(settings.SENT_EMAIL_KEEP_DAYS, now=now)
    if cutoff is None:
        return 0
    return delete_in_batches(SentEmail.objects.filter(sent_at__lt=cutoff))


def _one_time_token_lock(token: str, *, purpose: str) -> OneTimeToken | None:
    """The token's row, locked, if the token is genuine and still names its user's address."""
    parsed = OneTimeToken.parse(token)
    if parsed is None:
        return None
    pk, digest = parsed
    row = (
        OneTimeToken.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=pk, purpose=purpose)
        .first()
    )
    if row is None or not row.matches(digest):
        return None
    if row.email != row.user.email or not row.user.is_active:
        return None
    return row


# -- profile --------------------------------------------------------------------------------------


def user_profile_update(*, user: User, data: dict[str, Any]) -> User:
    """Change profile fields only; anything else in `data` is a programming error."""
    unknown = set(data) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    if not data:
        return user
    for name, value in data.items():
        setattr(user, name, value)
    user.save(update_fields=list(data))
    return user


# -- addresses ------------------------------------------------------------------------------------

ADDRESS_FIELDS = (*Address.SNAPSHOT_FIELDS, "is_default_shipping", "is_default_billing")


def _address_save(*, user: User, address: Address, data: dict[str, Any], creating: bool) -> Address:
    unknown = set(data) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValueError(f"not address fields: {sorted(unknown)}")
    for name, value in data.items():
        setattr(address, name, value)
    try:
        address.full_clean(exclude=["user"])
    except DjangoValidationError as exc:
        raise InvalidInput(details=_field_errors(exc.message_dict)) from None
    # Switch the default in the same transaction, so the database's one-default rule always holds.
    others = Address.objects.filter(user=user).exclude(pk=address.pk)
    if address.is_default_shipping:
        others.filter(is_default_shipping=True).update(is_default_shipping=False)
    if address.is_default_billing:
        others.filter(is_default_billing=True).update(is_default_billing=False)
    address.save(force_insert=creating)
    return address


def _lock_owner(user: User) -> None:
    # Serialises one customer's address writes: two default switches never interleave.
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()


def address_create(*, user: User, data: dict[str, Any]) -> Address:
    """Save a new address; a customer's first address becomes their default of each kind."""
    with transaction.atomic():
        _lock_owner(user)
        existing = Address.objects.filter(user=user)
        if existing.count() >= settings.MAX_ADDRESSES_PER_USER:
            raise AddressLimitReached(details={"limit": settings.MAX_ADDRESSES_PER_USER})
        data = dict(data)
        for flag in ("is_default_shipping", "is_default_billing"):
            if flag not in data and not existing.filter(**{flag: True}).exists():
                data[flag] = True
        return _address_save(user=user, address=Address(user=user), data=data, creating=True)


def address_update(*, user: User, address_id: int, data: dict[str, Any]) -> Address:
    with transaction.atomic():
        _lock_owner(user)
        address = Address.objects.filter(user=user, pk=address_id).first()
        if address is None:
            raise AddressNotFound()
        return _address_save(user=user, address=address, data=data, creating=False)


def address_delete(*, user: User, address_id: int) -> None:
    with transaction.atomic():
        _lock_owner(user)
        deleted, _ = Address.objects.filter(user=user, pk=address_id).delete()
    if not deleted:
        raise AddressNotFound()
