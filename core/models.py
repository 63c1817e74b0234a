from __future__ import annotations

import secrets
from datetime import datetime

from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from core.countries import COUNTRY_CODES


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        return (email or "").strip().lower()

    def get_by_natural_key(self, email: str) -> User:
        return self.get(email=self.normalize_email(email))

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        if not email:
            raise ValueError("a user needs an email address")
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer or a member of staff; signs in with an email address."""

    # Stored lower-cased (a CHECK holds it), so the unique index is case-insensitive.
    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May sign in to the admin.")
    email_verified = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Set when the password changes: access tokens issued before it are refused.
    tokens_valid_after = models.DateTimeField(null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(email=Lower("email")), name="user_email_lowercase")
        ]
        ordering = ["-date_joined"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def clean(self) -> None:
        super().clean()
        # Before the constraint checks of full_clean: an admin form typing "Ada@X.com" is fine.
        self.email = UserManager.normalize_email(self.email)

    def save(self, *args, **kwargs) -> None:
        self.email = UserManager.normalize_email(self.email)
        super().save(*args, **kwargs)

    def get_short_name(self) -> str:
        return self.first_name or self.email


def validate_country_code(value: str) -> None:
    if value not in COUNTRY_CODES:
        raise ValidationError(f"{value!r} is not an ISO 3166-1 alpha-2 country code.")


phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 ().-]{3,30}$", "Enter a phone number: digits, spaces, + ( ) . -"
)


class Address(models.Model):
    """A saved postal address of a customer; orders keep a snapshot of it, never a reference."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    company_name = models.CharField(max_length=255, blank=True)
    street_address_1 = models.CharField(max_length=255)
    street_address_2 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=128)
    postal_code = models.CharField(max_length=20, blank=True)
    country_area = models.CharField(
        max_length=128, blank=True, help_text="State, province or region."
    )
    country = models.CharField(
        max_length=2, validators=[validate_country_code], help_text="ISO 3166-1 alpha-2, e.g. FR."
    )
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    is_default_shipping = models.BooleanField(default=False)
    is_default_billing = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SNAPSHOT_FIELDS = (
        "first_name",
        "last_name",
        "company_name",
        "street_address_1",
        "street_address_2",
        "city",
        "postal_code",
        "country_area",
        "country",
        "phone",
    )

    class Meta:
        verbose_name_plural = "addresses"
        ordering = ["-is_default_shipping", "-is_default_billing", "-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="address_user_created")]
        constraints = [
            # One default of each kind per customer, whatever the application does.
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default_shipping=True),
                name="address_one_default_shipping_per_user",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default_billing=True),
                name="address_one_default_billing_per_user",
            ),
            models.CheckConstraint(
                condition=Q(country__regex=r"^[A-Z]{2}$"), name="address_country_iso_alpha2"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}, {self.street_address_1}, {self.city} ({self.country})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def as_snapshot(self) -> dict[str, str]:
        """The address as plain JSON for an order to keep; later edits here do not change it."""
        return {name: getattr(self, name) for name in self.SNAPSHOT_FIELDS}


class OneTimeToken(models.Model):
    """A single-use, expiring token sent by email (password reset, email verification).

    Only a random nonce is stored: the token is an HMAC of it under SECRET_KEY, so the task that
    sends the email derives it from the row id and a copy of the table alone cannot forge one.
    """

    class Purpose(models.TextChoices):
        PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose, not a secret
        EMAIL_VERIFICATION = "email_verification"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="one_time_tokens")
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    # The address the token went to: verifying it says nothing about another address.
    email = models.EmailField(max_length=254)
    nonce = models.CharField(max_length=64, default=secrets.token_urlsafe, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "purpose"], name="onetimetoken_user_purpose"),
            models.Index(fields=["expires_at"], name="onetimetoken_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} for {self.email}"

    def _digest(self) -> str:
        return salted_hmac(
            f"core.OneTimeToken.{self.purpose}",
            f"{self.pk}:{self.nonce}:{self.email}",
            algorithm="sha256",
        ).hexdigest()

    @property
    def token(self) -> str:
        """The value the email carries."""
        return f"{self.pk}.{self._digest()}"

    @staticmethod
    def parse(token: str) -> tuple[int, str] | None:
        pk, _, digest = token.partition(".")
        if not pk.isdigit() or len(pk) > 18 or not digest:
            return None
        return int(pk), digest

    def matches(self, digest: str) -> bool:
        return constant_time_compare(self._digest(), digest)

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.used_at is None and self.expires_at > (now or timezone.now())


class SentEmail(models.Model):
    """One email sent by core.notifications; its event key makes a repeated send a no-op."""

    event_key = models.CharField(
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text="Names the event the email is about; the same key is never sent twice.",
    )
    template = models.CharField(max_length=100)
    recipient = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"{self.template} to {self.recipient}"


class TokenRotation(models.Model):
    """One refresh-token rotation: which outstanding token replaced which, in which family.

    A family is every refresh token one sign-in led to by rotation, named by the jti of the first.
    Each token rotates at most once (token_refresh locks it), so a family is a chain, and revoking
    it from any member revokes that member's descendants: its ancestors are blacklisted already.
    """

    token = models.OneToOneField(
        "token_blacklist.OutstandingToken", on_delete=models.CASCADE, related_name="rotation"
    )
    replaced_by = models.OneToOneField(
        "token_blacklist.OutstandingToken", on_delete=models.CASCADE, related_name="rotated_from"
    )
    family = models.CharField(max_length=255, db_index=True)
    rotated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(token=models.F("replaced_by")), name="tokenrotation_not_itself"
            )
        ]

    def __str__(self) -> str:
        return f"rotation of token {self.token_id} to {self.replaced_by_id}"
