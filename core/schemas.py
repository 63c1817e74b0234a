"""Request and response schemas of accounts, authentication and addresses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from api.schemas import Email, InputSchema, Password, SingleLine
from core.countries import COUNTRY_CODES

# A JWT of ours is about 250-400 characters; the cap keeps junk out of the decoder.
JwtText = Annotated[str, Field(min_length=1, max_length=4096)]
# "<id>.<64 hex>" from a one-time email link.
OneTimeTokenText = Annotated[str, Field(min_length=1, max_length=200)]


def _country(value: str) -> str:
    value = value.upper()
    if value not in COUNTRY_CODES:
        raise PydanticCustomError(
            "country_code", "Use an ISO 3166-1 alpha-2 country code, such as FR or US."
        )
    return value


CountryCode = Annotated[
    SingleLine, Field(min_length=2, max_length=2, examples=["FR"]), AfterValidator(_country)
]
Name = Annotated[SingleLine, Field(max_length=150)]
Phone = Annotated[
    SingleLine,
    Field(max_length=32, pattern=r"^(\+?[0-9][0-9 ().-]{3,30})?$", examples=["+33 1 23 45 67 89"]),
]


# -- users and tokens -----------------------------------------------------------------------------


class UserOut(Schema):
    id: int
    email: str
    first_name: str
    last_name: str
    email_verified: bool
    is_staff: bool
    date_joined: datetime


class TokenPairOut(Schema):
    access: str = Field(description="Bearer token for the Authorization header; short-lived.")
    refresh: str = Field(description="Single use: trade it for a new pair at /auth/token/refresh.")
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    access_expires_at: datetime
    refresh_expires_at: datetime


class RegisterIn(InputSchema):
    email: Email
    password: Password = Field(description="Checked by the password validators.")
    first_name: Name = ""
    last_name: Name = ""


class AuthOut(Schema):
    user: UserOut
    tokens: TokenPairOut


class TokenObtainIn(InputSchema):
    email: Email
    password: Password


class TokenRefreshIn(InputSchema):
    refresh: JwtText


class TokenVerifyIn(InputSchema):
    token: JwtText


class TokenInfoOut(Schema):
    token_type: Literal["access", "refresh"]
    user_id: int
    expires_at: datetime


class LogoutIn(InputSchema):
    refresh: JwtText
    everywhere: bool = Field(False, description="Sign out every session of this account.")


class PasswordChangeIn(InputSchema):
    current_password: Password
    new_password: Password


class PasswordResetIn(InputSchema):
    email: Email


class PasswordResetConfirmIn(InputSchema):
    token: OneTimeTokenText
    new_password: Password


class EmailVerifyIn(InputSchema):
    token: OneTimeTokenText


class ProfileUpdateIn(InputSchema):
    """Profile fields only: email, staff flags and verification are not writable here."""

    first_name: Name = None  # type: ignore[assignment]
    last_name: Name = None  # type: ignore[assignment]


# -- addresses ------------------------------------------------------------------------------------


class AddressSnapshot(Schema):
    """An address as an order keeps it (Address.as_snapshot())."""

    first_name: str
    last_name: str
    company_name: str
    street_address_1: str
    street_address_2: str
    city: str
    postal_code: str
    country_area: str
    country: str
    phone: str


class AddressOut(AddressSnapshot):
    id: int
    is_default_shipping: bool
    is_default_billing: bool
    created_at: datetime
    updated_at: datetime


class AddressIn(InputSchema):
    first_name: Name = Field(min_length=1)
    last_name: Name = Field(min_length=1)
    company_name: Annotated[SingleLine, Field(max_length=255)] = ""
    street_address_1: Annotated[SingleLine, Field(min_length=1, max_length=255)]
    street_address_2: Annotated[SingleLine, Field(max_length=255)] = ""
    city: Annotated[SingleLine, Field(min_length=1, max_length=128)]
    postal_code: Annotated[SingleLine, Field(max_length=20)] = ""
    country_area: Annotated[SingleLine, Field(max_length=128)] = ""
    country: CountryCode
    phone: Phone = ""
    is_default_shipping: bool = Field(
        False, description="Make it the default shipping address (a first address always is)."
    )
    is_default_billing: bool = Field(
        False, description="Make it the default billing address (a first address always is)."
    )


class AddressPatchIn(InputSchema):
    """Only the fields sent change; a required field cannot be emptied."""

    first_name: Annotated[Name, Field(min_length=1)] = None  # type: ignore[assignment]
    last_name: Annotated[Name, Field(min_length=1)] = None  # type: ignore[assignment]
    company_name: Annotated[SingleLine, Field(max_length=255)] = None  # type: ignore[assignment]
    street_address_1: Annotated[SingleLine, Field(min_length=1, max_length=255)] = None  # type: ignore[assignment]
    street_address_2: Annotated[SingleLine, Field(max_length=255)] = None  # type: ignore[assignment]
    city: Annotated[SingleLine, Field(min_length=1, max_length=128)] = None  # type: ignore[assignment]
    postal_code: Annotated[SingleLine, Field(max_length=20)] = None  # type: ignore[assignment]
    country_area: Annotated[SingleLine, Field(max_length=128)] = None  # type: ignore[assignment]
    country: CountryCode = None  # type: ignore[assignment]
    phone: Phone = None  # type: ignore[assignment]
    is_default_shipping: bool = None  # type: ignore[assignment]
    is_default_billing: bool = None  # type: ignore[assignment]


# -- staff ----------------------------------------------------------------------------------------


class StaffUserOut(UserOut):
    is_active: bool
    last_login: datetime | None
    address_count: int


class StaffUserDetailOut(UserOut):
    is_active: bool
    is_superuser: bool
    last_login: datetime | None
    groups: list[str]
    addresses: list[AddressOut]

    @staticmethod
    def resolve_groups(obj) -> list[str]:
        return [group.name for group in obj.groups.all()]

    @staticmethod
    def resolve_addresses(obj) -> list:
        return list(obj.addresses.all())


class StaffUserFilter(Schema):
    search: Annotated[SingleLine, Field(max_length=100)] | None = None
    is_staff: bool | None = None
    email_verified: bool | None = None
