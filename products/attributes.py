"""Attribute values checked against their definitions: type, choices, level, required.

Every value keeps a canonical text (`value_text`, what the API shows), its typed column for
numbers and booleans, and `value_key`, the lower-case canonical form filters compare against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q

from api.errors import InvalidInput
from products.models import AttributeDefinition, AttributeType, Category

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


def coerce(definition: AttributeDefinition, raw: Any) -> tuple[str, Decimal | None, bool | None]:
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


def fill_typed_value(value_obj: Any, definition: AttributeDefinition, raw: Any) -> None:
    text, number, boolean = coerce(definition, raw)
    value_obj.value_text = text
    value_obj.value_number = number
    value_obj.value_boolean = boolean
    value_obj.value_key = filter_key(text)


def display_value(value_obj: Any) -> str:
    return value_obj.value_text


def definitions_for_category(category: Category) -> dict[str, AttributeDefinition]:
    """The definitions a product in `category` may use: its own, its ancestors', global ones."""
    ids = [*category.ancestor_ids, category.pk]
    found = AttributeDefinition.objects.filter(Q(category__isnull=True) | Q(category_id__in=ids))
    return {definition.code: definition for definition in found}


def validate_values(
    definitions: Mapping[str, AttributeDefinition],
    values: Mapping[str, Any],
    *,
    variant_level: bool,
    field: str = "attributes",
    require_all: bool = True,
) -> list[tuple[AttributeDefinition, tuple[str, Decimal | None, bool | None]]]:
    """Check `values` ({code: raw}) for one product or variant; InvalidInput lists every error."""
    errors: list[dict[str, Any]] = []
    checked = []
    for code, raw in values.items():
        definition = definitions.get(code)
        where = f"{field}.{code}"
        if definition is None:
            errors.append(_error(where, "No such attribute for this category.", "unknown"))
            continue
        if definition.is_variant_attribute != variant_level:
            level = "variant" if definition.is_variant_attribute else "product"
            errors.append(_error(where, f"This attribute is set per {level}.", "wrong_level"))
            continue
        try:
            checked.append((definition, coerce(definition, raw)))
        except ValidationError as exc:
            errors.append(_error(where, exc.messages[0], exc.code or "invalid"))
    if require_all:
        for code, definition in definitions.items():
            if (
                definition.is_required
                and definition.is_variant_attribute == variant_level
                and values.get(code) is None
            ):
                errors.append(_error(f"{field}.{code}", "This attribute is required.", "required"))
    if errors:
        raise InvalidInput("Some attribute values are not valid.", details={"errors": errors})
    return checked


def _error(field: str, message: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", *field.split(".")], "field": field, "message": message, "type": kind}


def values_for_definitions(
    checked: Iterable[tuple[AttributeDefinition, tuple[str, Decimal | None, bool | None]]],
    model: type,
    **owner: Any,
) -> list[Any]:
    """Unsaved value rows for `checked`, owned by `owner` (product=... or variant=...)."""
    rows = []
    for definition, (text, number, boolean) in checked:
        rows.append(
            model(
                definition=definition,
                value_text=text,
                value_number=number,
                value_boolean=boolean,
                value_key=filter_key(text),
                **owner,
            )
        )
    return rows
