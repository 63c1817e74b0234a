"""Schemas and field types every app's input shares.

PostgreSQL refuses NUL characters in text, so a NUL that reaches the database is a 500; every
request schema derives from `InputSchema`, which refuses NULs in any field (nested too), refuses
unknown fields and caps every string, so bad text is a 422 before any query runs.

    class AddressIn(InputSchema):
        city: Text = Field(max_length=128)
        email: Email
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Schema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from pydantic_core import PydanticCustomError

# A string field without its own max_length is still refused above this.
MAX_TEXT_LENGTH = 10_000
# RFC 5321 caps a forward path at 254 characters; User.email has the same length.
MAX_EMAIL_LENGTH = 254


def contains_nul(value: Any) -> bool:
    """Whether a NUL character hides anywhere in a value (strings, lists, dict keys and values)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(contains_nul(item) for item in value)
    return False


def reject_nul(value: Any) -> Any:
    if contains_nul(value):
        raise PydanticCustomError("nul_character", "NUL characters are not allowed.")
    return value


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def reject_control(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError(
            "control_character", "Line breaks, tabs and other control characters are not allowed."
        )
    return value


def _email(value: str) -> str:
    value = value.strip().lower()
    try:
        validate_email(value)
    except DjangoValidationError:
        raise PydanticCustomError("email", "Enter a valid email address.") from None
    return value


# A string that may never carry a NUL (for schemas that do not derive from InputSchema).
Text = Annotated[str, BeforeValidator(reject_nul)]
# One line of human text (names, address lines): trimmed, no line breaks or control characters.
SingleLine = Annotated[
    str,
    BeforeValidator(reject_nul),
    StringConstraints(strip_whitespace=True),
    AfterValidator(reject_control),
]
# An email address, trimmed and lower-cased the way core.User stores it.
Email = Annotated[
    str,
    BeforeValidator(reject_nul),
    Field(min_length=3, max_length=MAX_EMAIL_LENGTH, examples=["ada@example.com"]),
    AfterValidator(_email),
]
# A calendar day a filter or a report reads. The span leaves a day and any time zone's offset
# on either side, so the arithmetic around it cannot overflow (9999-12-31 + 1 day would).
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


def _day_in_span(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise PydanticCustomError(
            "date_range",
            "Dates run from {first} to {last}.",
            {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )
    return value


Day = Annotated[date, AfterValidator(_day_in_span)]
# A password as typed: never trimmed; the length cap keeps hashing cheap for huge inputs.
Password = Annotated[
    str, BeforeValidator(reject_nul), Field(min_length=1, max_length=128, examples=["s3cret-Pass"])
]


class InputSchema(Schema):
    """Base of every request body: unknown fields, NUL characters and endless strings are 422s."""

    model_config = ConfigDict(extra="forbid", str_max_length=MAX_TEXT_LENGTH)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        return reject_nul(value)


class ErrorOut(Schema):
    """The one error shape (api/errors.py); listed on routes so clients see it in the schema."""

    code: str = Field(examples=["validation_error"])
    message: str
    details: dict[str, Any]


class MessageOut(Schema):
    """An answer that only confirms something was accepted."""

    detail: str
