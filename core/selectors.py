"""Reads for accounts and addresses."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from core.errors import AddressNotFound, UserNotFound
from core.models import Address, User


def user_may_checkout(user: Any) -> bool:
    """Whether this caller may place an order, as far as their account goes.

    Guests (no account) are for the checkout to decide; a signed-in customer needs a verified email
    when REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT is on. Raise core.errors.EmailNotVerified on False.
    """
    if not getattr(user, "is_authenticated", False):
        return True
    if not user.is_active:
        return False
    return user.email_verified or not settings.REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT


def staff_emails() -> list[str]:
    """Every active staff user's email: who staff alerts go to when no address is configured."""
    return list(
        User.objects.filter(is_staff=True, is_active=True)
        .order_by("pk")
        .values_list("email", flat=True)
    )


def address_list(*, user: User) -> QuerySet[Address]:
    """The customer's addresses, defaults first, then newest."""
    return Address.objects.filter(user=user)


def address_get(*, user: User, address_id: int) -> Address:
    """One of the customer's addresses; another customer's is a 404 like a missing one."""
    address = Address.objects.filter(user=user, pk=address_id).first()
    if address is None:
        raise AddressNotFound()
    return address


def address_default(*, user: User, kind: str) -> Address | None:
    """The default 'shipping' or 'billing' address, if the customer has one."""
    return Address.objects.filter(user=user, **{f"is_default_{kind}": True}).first()


def user_list_for_staff(
    *, search: str | None = None, is_staff: bool | None = None, email_verified: bool | None = None
) -> QuerySet[User]:
    users = User.objects.annotate(address_count=Count("addresses")).order_by("-date_joined", "-id")
    if search:
        users = users.filter(
            Q(email__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    if is_staff is not None:
        users = users.filter(is_staff=is_staff)
    if email_verified is not None:
        users = users.filter(email_verified=email_verified)
    return users


def user_get_for_staff(*, user_id: int) -> User:
    user = User.objects.prefetch_related("addresses", "groups").filter(pk=user_id).first()
    if user is None:
        raise UserNotFound()
    return user
