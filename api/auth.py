"""JWT authentication for the API (django-ninja-jwt); core/tokens.py issues and rotates tokens.

A bad, expired, foreign or revoked token is a 401 `not_authenticated` with details.reason
`token_not_valid`, like the 401 for no token at all. Access tokens issued before the user's last
password change (User.tokens_valid_after) are refused, so a password change ends every session.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja_jwt.authentication import JWTAuth as NinjaJWTAuth
from ninja_jwt.exceptions import AuthenticationFailed, TokenError
from ninja_jwt.tokens import RefreshToken

from api import context
from api.errors import TokenNotValid


def issued_before_revocation(user: Any, issued_at: Any) -> bool:
    """Whether a token's `iat` predates the user's last password change."""
    revoked_at = getattr(user, "tokens_valid_after", None)
    if revoked_at is None:
        return False
    if not isinstance(issued_at, (int, float)):
        return True
    # iat has whole seconds: the pair issued in the same second as the change must still work.
    return int(issued_at) < int(revoked_at.timestamp())


class JWTAuth(NinjaJWTAuth):
    """Bearer access token; the caller becomes request.user and names later log lines."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        try:
            validated = self.get_validated_token(token)
            user = self.get_user(validated)
        except (AuthenticationFailed, TokenError):
            raise TokenNotValid() from None
        if issued_before_revocation(user, validated.get("iat")):
            raise TokenNotValid("Token was revoked; sign in again.")
        request.user = user
        context.set_user_id(user.pk)
        return user


class OptionalJWTAuth(HttpBearer):
    """For routes open to guests that know a signed-in customer (cart, checkout).

    A valid token makes request.auth the user; no Authorization header makes it an AnonymousCaller;
    a bad token is still a 401, never silently anonymous.
    """

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization")
        if not header:
            return AnonymousCaller()
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return JWTAuth().authenticate(request, token)


class AnonymousCaller:
    """Truthy stand-in so Ninja lets a guest through; `is_authenticated` is False."""

    is_authenticated = False
    pk = None

    def __bool__(self) -> bool:
        return True


def tokens_for(user: Any) -> dict[str, str]:
    """A fresh access and refresh token pair for a user (tests, scripts, registration)."""
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}
