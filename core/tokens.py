"""JWT pairs: issue, rotate, verify, blacklist and flush (django-ninja-jwt's tokens and tables).

Every refresh token we issue has an OutstandingToken row; a refresh token without one is refused.
Rotation locks that row, so of many concurrent refreshes of one token exactly one wins: the others
wait on the lock, then find it blacklisted.

Each rotation is recorded (core.models.TokenRotation) with the family of its sign-in. A rotated
token presented again after REFRESH_TOKEN_REUSE_GRACE_SECONDS means two parties hold it (OAuth 2.0
Security BCP, refresh token rotation): the whole family is revoked and the answer is 401
`token_reused`. Within the grace window it is the race of two tabs, and a plain 401.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from ninja_jwt.exceptions import TokenBackendError
from ninja_jwt.settings import api_settings
from ninja_jwt.state import token_backend
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from ninja_jwt.tokens import RefreshToken
from ninja_jwt.utils import datetime_from_epoch

from api.auth import issued_before_revocation
from api.errors import TokenNotValid
from core.errors import RefreshTokenReused
from core.models import TokenRotation, User

logger = logging.getLogger("core.tokens")


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
    return _pair(RefreshToken.for_user(user))


def _pair(refresh: RefreshToken) -> TokenPair:
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
    """Rotate: blacklist `refresh` and issue a new pair, once, even under concurrent calls.

    A token rotated longer than the grace window ago revokes its family and is a 401 token_reused.
    """
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
        if not BlacklistedToken.objects.filter(token=outstanding).exists():
            return _rotate(outstanding, user=_active_user(payload))
        rotation = TokenRotation.objects.filter(token=outstanding).first()
        grace = timedelta(seconds=settings.REFRESH_TOKEN_REUSE_GRACE_SECONDS)
        if rotation is None or timezone.now() - rotation.rotated_at <= grace:
            raise TokenNotValid("Token is blacklisted.")  # logged out, or the tabs' race
        revoked = _family_revoke(family=rotation.family)
    # Outside the transaction: the revocation is committed before the 401 leaves.
    logger.warning(
        "refresh token reused after rotation; its token family is revoked",
        extra={"user_id": outstanding.user_id, "revoked_tokens": revoked},
    )
    raise RefreshTokenReused()


def _rotate(outstanding: OutstandingToken, *, user: User) -> TokenPair:
    """Blacklist the locked token and issue its successor, in its family (runs in the lock)."""
    BlacklistedToken.objects.create(token=outstanding)
    refresh = RefreshToken.for_user(user)
    parent_family = (
        TokenRotation.objects.filter(replaced_by=outstanding)
        .values_list("family", flat=True)
        .first()
    )
    TokenRotation.objects.create(
        token=outstanding,
        replaced_by=OutstandingToken.objects.only("pk").get(jti=refresh[api_settings.JTI_CLAIM]),
        # The first rotation of a sign-in names the family after the sign-in's own token.
        family=parent_family or outstanding.jti,
    )
    return _pair(refresh)


def _family_revoke(*, family: str) -> int:
    """Blacklist every token of a rotation family; returns how many were still live.

    A live member may be rotating right now: locking it waits for that rotation to commit, and the
    next read of the family then finds the token it issued, which is locked in turn.
    """
    members: set[int] = set()
    live: list[int] = []
    while True:
        found = set(
            TokenRotation.objects.filter(family=family).values_list("replaced_by_id", flat=True)
        )
        new = found - members
        if not new:
            break
        members |= new
        live += (
            OutstandingToken.objects.select_for_update()
            .filter(id__in=new)
            .exclude(id__in=BlacklistedToken.objects.values("token_id"))
            .order_by("pk")
            .values_list("id", flat=True)
        )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in live], ignore_conflicts=True
    )
    return len(live)


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
    """Log out: blacklist this refresh token (again is fine), or every one of its user's.

    Ending every session takes a live token: one already revoked (logged out, rotated, ended by
    an earlier "everywhere") is a 401, or an old stolen token could end its owner's sessions
    again and again. The row is locked as a rotation locks it, so a refresh racing this call
    either finishes first (and this token is then revoked) or waits for the revocation.
    """
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
        if not everywhere:
            BlacklistedToken.objects.bulk_create(
                [BlacklistedToken(token=outstanding)], ignore_conflicts=True
            )
            return
        if BlacklistedToken.objects.filter(token=outstanding).exists():
            raise TokenNotValid("Token is blacklisted.")
        user_tokens_revoke(user=_active_user(payload))


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
    """Delete outstanding (and blacklisted) refresh tokens past their expiry, with their rotation
    rows; returns the count of tokens.

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
            # A rotation row lives as long as the token it rotated: reusing it is refused by then.
            TokenRotation.objects.filter(Q(token_id__in=ids) | Q(replaced_by_id__in=ids)).delete()
            BlacklistedToken.objects.filter(token_id__in=ids).delete()
            deleted += OutstandingToken.objects.filter(id__in=ids).delete()[0]
