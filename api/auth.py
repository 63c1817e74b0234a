"""JWT authentication for the API (django-ninja-jwt); the accounts app adds the token routes."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja_jwt.authentication import JWTAuth as NinjaJWTAuth
from ninja_jwt.tokens import RefreshToken

from api import context


class JWTAuth(NinjaJWTAuth):
    """Bearer access token; the caller becomes request.user and names later log lines."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = super().authenticate(request, token)
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
