"""Permission classes for Ninja Extra controllers. No token is a 401 (auth), a customer a 403."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja_extra.permissions import BasePermission


def _staff_user(request: HttpRequest) -> Any | None:
    user = getattr(request, "auth", None) or getattr(request, "user", None)
    if getattr(user, "is_authenticated", False) and user.is_active and user.is_staff:
        return user
    return None


class IsStaff(BasePermission):
    message = "Staff only."

    def has_permission(self, request: HttpRequest, controller: Any) -> bool:
        return _staff_user(request) is not None


class StaffWithPerms(BasePermission):
    """Active staff holding every listed Django permission (directly or through a group).

    `permissions=[StaffWithPerms("products.change_product")]`
    """

    message = "Your staff account lacks the permission for this action."

    def __init__(self, *perms: str) -> None:
        self.perms = perms

    def has_permission(self, request: HttpRequest, controller: Any) -> bool:
        user = _staff_user(request)
        return user is not None and user.has_perms(self.perms)
