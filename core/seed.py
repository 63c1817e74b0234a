"""Demo accounts printed by scripts/dev.sh; the catalog seeding adds to seed_demo."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from core.models import User


@transaction.atomic
def demo_users_ensure() -> tuple[User, User]:
    """The demo staff login and customer, created with the documented passwords once."""
    staff = _demo_user(
        settings.DEMO_STAFF_EMAIL,
        settings.DEMO_STAFF_PASSWORD,
        first_name="Demo",
        last_name="Staff",
        is_staff=True,
        is_superuser=True,
    )
    customer = _demo_user(
        settings.DEMO_CUSTOMER_EMAIL,
        settings.DEMO_CUSTOMER_PASSWORD,
        first_name="Demo",
        last_name="Customer",
    )
    return staff, customer


def _demo_user(email: str, password: str, **fields) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, password, email_verified=True, **fields)
    return user
