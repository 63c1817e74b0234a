"""How one attribute value is read and stored, whatever its model: the type rules.

A leaf (no models): products.models stores values with it, products.attributes checks whole sets
of values against their definitions, and search compares query strings with `filter_key`.
Every value keeps a canonical text (`value_text`, what the API shows), its typed column for
numbers and booleans, and `value_key`, the lower-case canonical form filters compare against.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models


class AttributeType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    BOOLEAN = "boolean", "Yes / no"
    CHOICE = "choice", "Choice"


MAX_NUMBER = Decimal("1e12")
TRUE_WORDS = {"true", "yes", "1", "on"}
FALSE_WORDS = {"false", "no", "0", "off"}


def canonical_number(number: Decimal) -> str:
    """42, 42.0 and 4.2E+1 all read "42"; 10.50 reads "10.5"."""
    normal = number.normalize()
    if normal == normal.to_integral_value():
        normal = normal.quantize(Decimal(1))
    return format(normal, "f")


def filter_key(raw: str) -> str:
    """The canonical form of a value as typed in a query string or stored: numbers in one
    spelling, everything else case-folded."""
    text = raw.strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text.casefold()[:255]
    # Stored numbers have at most 4 decimals: "1e-1000000" is text, not a million zeros.
    if number.is_finite() and abs(number) < MAX_NUMBER and number.as_tuple().exponent >= -4:
        return canonical_number(number)
    return text.casefold()[:255]


def coerce(definition: Any, raw: Any) -> tuple[str, Decimal | None, bool | None]:
    """(canonical text, number, boolean) for `raw` under `definition`, or ValidationError."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValidationError("A value is required.", code="required")
    kind = definition.type
    if kind == AttributeType.NUMBER:
        if isinstance(raw, bool):
            raise ValidationError("Expected a number.", code="invalid_number")
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValidationError("Expected a number.", code="invalid_number") from None
        if not number.is_finite() or abs(number) >= MAX_NUMBER:
            raise ValidationError("The number is out of range.", code="invalid_number")
        if number != number.quantize(Decimal("0.0001")):
            raise ValidationError("At most 4 decimal places.", code="invalid_number")
        number = number.quantize(Decimal("0.0001"))
        return canonical_number(number), number, None
    if kind == AttributeType.BOOLEAN:
        word = str(raw).strip().lower() if not isinstance(raw, bool) else str(raw).lower()
        if word in TRUE_WORDS:
            return "true", None, True
        if word in FALSE_WORDS:
            return "false", None, False
        raise ValidationError("Expected true or false.", code="invalid_boolean")
    if isinstance(raw, (dict, list)):
        raise ValidationError("Expected a text value.", code="invalid_text")
    text = str(raw).strip()
    if "\x00" in text:
        raise ValidationError("Text may not contain NUL characters.", code="invalid_text")
    if len(text) > 255:
        raise ValidationError("At most 255 characters.", code="too_long")
    if kind == AttributeType.CHOICE:
        for choice in definition.choices:
            if choice.casefold() == text.casefold():
                return choice, None, None
        raise ValidationError(
            f"Not one of the choices: {', '.join(definition.choices)}.", code="invalid_choice"
        )
    return text, None, None


def fill_typed_value(value_obj: Any, definition: Any, raw: Any) -> None:
    text, number, boolean = coerce(definition, raw)
    value_obj.value_text = text
    value_obj.value_number = number
    value_obj.value_boolean = boolean
    value_obj.value_key = filter_key(text)
