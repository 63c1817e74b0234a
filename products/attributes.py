"""Attribute values checked against their definitions: which definitions a category's products
may use, and whole sets of values validated (type, choices, level, required). One value's type
rules live in products/attribute_values.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q

from api.errors import InvalidInput, field_error
from products.attribute_values import coerce, filter_key
from products.models import AttributeDefinition, Category


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
            errors.append(field_error(where, "No such attribute for this category.", "unknown"))
            continue
        if definition.is_variant_attribute != variant_level:
            level = "variant" if definition.is_variant_attribute else "product"
            errors.append(field_error(where, f"This attribute is set per {level}.", "wrong_level"))
            continue
        try:
            checked.append((definition, coerce(definition, raw)))
        except ValidationError as exc:
            errors.append(field_error(where, exc.messages[0], exc.code or "invalid"))
    if require_all:
        for code, definition in definitions.items():
            if (
                definition.is_required
                and definition.is_variant_attribute == variant_level
                and values.get(code) is None
            ):
                errors.append(
                    field_error(f"{field}.{code}", "This attribute is required.", "required")
                )
    if errors:
        raise InvalidInput("Some attribute values are not valid.", details={"errors": errors})
    return checked


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
