"""JWT pairs: issue, rotate, verify, blacklist and flush (django-ninja-jwt's tokens and tables).

Every refresh token we issue has an OutstandingToken row; a refresh token without one is refused.
Rotation locks that row, so of many concurrent refreshes of one token exactly one wins: the others
wait on the lock, then find it blacklisted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from ninja_jwt.exceptions import TokenBackendError
from ninja_jwt.settings import api_settings
from ninja_jwt.state import token_backend
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from ninja_jwt.tokens import RefreshToken
from ninja_jwt.utils import datetime_from_epoch

from api.auth import TokenNotValid, issued_before_revocation
from core.models import User


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    access_expires_at: datetime
    refresh_expires_at: datetime
    token_type: str = "Bearer"  # noqa: S105


@dataclass(frozen=True)
class TokenInfo:
    token_type: str
    user_id: int
    expires_at: datetime


def token_pair_issue(*, user: User) -> TokenPair:
    """A new access + refresh pair; the refresh token is recorded as outstanding."""
    refresh = RefreshToken.for_user(user)
    access = refresh.access_token
    return TokenPair(
        access=str(access),
        refresh=str(refresh),
        access_expires_at=datetime_from_epoch(access["exp"]),
        refresh_expires_at=datetime_from_epoch(refresh["exp"]),
    )


def _decode(raw: str, *, types: tuple[str, ...]) -> dict[str, Any]:
    """Signature (our key and algorithm only: no 'none'), expiry, type and the claims we need."""
    try:
        payload = token_backend.decode(raw, verify=True)
    except TokenBackendError:
        raise TokenNotValid() from None
    if (
        payload.get(api_settings.TOKEN_TYPE_CLAIM) not in types
        or not isinstance(payload.get(api_settings.JTI_CLAIM), str)
        or not isinstance(payload.get("exp"), (int, float))
        or not isinstance(payload.get(api_settings.USER_ID_CLAIM), int)
    ):
        raise TokenNotValid()
    return payload


def _active_user(payload: dict[str, Any]) -> User:
    user = User.objects.filter(pk=payload[api_settings.USER_ID_CLAIM], is_active=True).first()
    if user is None or issued_before_revocation(user, payload.get("iat")):
        raise TokenNotValid()
    return user


def token_refresh(*, refresh: str) -> TokenPair:
    """Rotate: blacklist `refresh` and issue a new pair, once, even under concurrent calls."""
    payload = _decode(refresh, types=("refresh",))
    with transaction.atomic():
        outstanding = (
            OutstandingToken.objects.select_for_update()
            .filter(jti=payload[api_settings.JTI_CLAIM])
            .order_by("pk")  # the model orders by user: a join FOR UPDATE refuses
            .first()
        )
        if outstanding is None or outstanding.user_id != payload[api_settings.USER_ID_CLAIM]:
            raise TokenNotValid()
        # Read after the lock: a concurrent rotation that held it has committed its blacklist row.
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            raise TokenNotValid("Token is blacklisted.")
        user = _active_user(payload)
        BlacklistedToken.objects.create(token=outstanding)
        return token_pair_issue(user=user)


def token_verify(*, token: str) -> TokenInfo:
    """What a token is, if it would be accepted now; a 401 otherwise."""
    payload = _decode(token, types=("access", "refresh"))
    user = _active_user(payload)
    if payload[api_settings.TOKEN_TYPE_CLAIM] == "refresh":
        jti = payload[api_settings.JTI_CLAIM]
        if not OutstandingToken.objects.filter(jti=jti, blacklistedtoken__isnull=True).exists():
            raise TokenNotValid()
    return TokenInfo(
        token_type=payload[api_settings.TOKEN_TYPE_CLAIM],
        user_id=user.pk,
        expires_at=datetime_from_epoch(payload["exp"]),
    )


def token_blacklist(*, refresh: str, everywhere: bool = False) -> None:
    """Log out: blacklist this refresh token (again is fine), or every one of its user's."""
    payload = _decode(refresh, types=("refresh",))
    outstanding = (
        OutstandingToken.objects.filter(jti=payload[api_settings.JTI_CLAIM])
        .select_related("user")
        .order_by("pk")
        .first()
    )
    if outstanding is None or outstanding.user_id != payload[api_settings.USER_ID_CLAIM]:
        raise TokenNotValid()
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=outstanding)], ignore_conflicts=True
    )
    if everywhere and outstanding.user is not None:
        user_tokens_revoke(user=outstanding.user)


def user_tokens_revoke(*, user: User) -> int:
    """End every session of a user: blacklist their refresh tokens, refuse older access tokens."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            OutstandingToken.objects.filter(
                user=user, expires_at__gt=now, blacklistedtoken__isnull=True
            ).values_list("id", flat=True)
        )
        BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token_id=pk) for pk in ids], ignore_conflicts=True
        )
        User.objects.filter(pk=user.pk).update(tokens_valid_after=now)
    user.tokens_valid_after = now
    return len(ids)


def tokens_flush_expired(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete outstanding (and blacklisted) refresh tokens past their expiry; returns the count.

    An expired token is refused by its signature check already, so its rows serve no purpose.
    """
    cutoff = now or timezone.now()
    # Leeway against clock skew between the API hosts that issued the tokens and this worker.
    cutoff -= timedelta(minutes=1)
    deleted = 0
    while True:
        ids = list(
            OutstandingToken.objects.filter(expires_at__lte=cutoff)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            BlacklistedToken.objects.filter(token_id__in=ids).delete()
            deleted += OutstandingToken.objects.filter(id__in=ids).delete()[0]
