"""Categories, brands and attribute definitions: the structure products hang on."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from products.errors import (
    AttributeInUse,
    AttributeNotFound,
    BrandInUse,
    BrandNotFound,
    CategoryHasChildren,
    CategoryHasProducts,
    CategoryNotFound,
)
from products.models import (
    AttributeDefinition,
    AttributeType,
    Brand,
    Category,
    Product,
    ProductAttributeValue,
    VariantAttributeValue,
)
from products.services.common import full_clean, get_or_404, reference_or_422, slug_free
from products.services.common import unique_slug as _unique_slug
from products.services.events import catalog_structure_changed_on_commit

# -- categories ---------------------------------------------------------------------------------


@transaction.atomic
def category_create(
    *,
    name: str,
    slug: str | None = None,
    parent_id: int | None = None,
    description: str = "",
    is_active: bool = True,
    position: int = 0,
) -> Category:
    parent = reference_or_422(Category, parent_id, "parent_id")
    if slug:
        slug_free(Category, slug)
    category = Category(
        name=name,
        slug=slug or _unique_slug(Category, name, max_length=140),
        parent=parent,
        description=description,
        is_active=is_active,
        position=position,
    )
    full_clean(category)
    category.save()
    catalog_structure_changed_on_commit()
    return category


@transaction.atomic
def category_update(*, category_id: int, **fields: Any) -> Category:
    category = get_or_404(Category.objects.select_for_update(), category_id, CategoryNotFound)
    if "parent_id" in fields:
        category.parent = reference_or_422(Category, fields.pop("parent_id"), "parent_id")
    if fields.get("slug"):
        slug_free(Category, fields["slug"], exclude_pk=category.pk)
    for name, value in fields.items():
        setattr(category, name, value)
    full_clean(category)
    category.save()
    catalog_structure_changed_on_commit()
    return category


@transaction.atomic
def category_delete(*, category_id: int) -> None:
    category = get_or_404(Category.objects.select_for_update(), category_id, CategoryNotFound)
    if category.children.exists():
        raise CategoryHasChildren()
    if Product.objects.filter(category=category).exists():
        raise CategoryHasProducts()
    category.delete()
    catalog_structure_changed_on_commit()


# -- brands -------------------------------------------------------------------------------------


@transaction.atomic
def brand_create(
    *, name: str, slug: str | None = None, description: str = "", logo: Any = None
) -> Brand:
    """A brand; `logo` an uploaded image file (the admin's form), stored under brands/."""
    if slug:
        slug_free(Brand, slug)
    brand = Brand(
        name=name,
        slug=slug or _unique_slug(Brand, name, max_length=140),
        description=description,
        logo=logo or "",
    )
    full_clean(brand)
    brand.save()
    catalog_structure_changed_on_commit()
    return brand


@transaction.atomic
def brand_update(*, brand_id: int, **fields: Any) -> Brand:
    brand = get_or_404(Brand.objects.select_for_update(), brand_id, BrandNotFound)
    if fields.get("slug"):
        slug_free(Brand, fields["slug"], exclude_pk=brand.pk)
    for name, value in fields.items():
        setattr(brand, name, value)
    full_clean(brand)
    brand.save()
    catalog_structure_changed_on_commit()
    return brand


@transaction.atomic
def brand_delete(*, brand_id: int) -> None:
    brand = get_or_404(Brand.objects.select_for_update(), brand_id, BrandNotFound)
    if Product.objects.filter(brand=brand).exists():
        raise BrandInUse()
    brand.delete()
    catalog_structure_changed_on_commit()


# -- attribute definitions ----------------------------------------------------------------------


def _values_of(definition: AttributeDefinition):
    return (
        ProductAttributeValue.objects.filter(definition=definition),
        VariantAttributeValue.objects.filter(definition=definition),
    )


def _in_use(definition: AttributeDefinition) -> bool:
    product_values, variant_values = _values_of(definition)
    return product_values.exists() or variant_values.exists()


def attribute_definition_frozen_check(definition: AttributeDefinition, fields: dict) -> bool:
    """What existing values were checked against may not change under them: with values, the
    type, the level and the category stay (409 attribute_in_use). Whether values exist."""
    in_use = bool(definition.pk) and _in_use(definition)
    frozen = {"type", "is_variant_attribute", "category_id"}
    if in_use:
        changed = [f for f in frozen if f in fields and fields[f] != getattr(definition, f)]
        if changed:
            raise AttributeInUse(
                f"Values exist for this attribute; {', '.join(sorted(changed))} cannot change.",
                details={"fields": sorted(changed)},
            )
    return in_use


@transaction.atomic
def attribute_definition_create(
    *,
    code: str,
    name: str,
    type: str,
    category_id: int | None = None,
    choices: list[str] | None = None,
    unit: str = "",
    is_variant_attribute: bool = False,
    is_filterable: bool = True,
    is_required: bool = False,
    position: int = 0,
) -> AttributeDefinition:
    definition = AttributeDefinition(
        code=code,
        name=name,
        type=type,
        category=reference_or_422(Category, category_id, "category_id"),
        choices=choices or [],
        unit=unit,
        is_variant_attribute=is_variant_attribute,
        is_filterable=is_filterable,
        is_required=is_required,
        position=position,
    )
    full_clean(definition)
    definition.save()
    catalog_structure_changed_on_commit()
    return definition


@transaction.atomic
def attribute_definition_update(*, definition_id: int, **fields: Any) -> AttributeDefinition:
    definition = get_or_404(
        AttributeDefinition.objects.select_for_update(), definition_id, AttributeNotFound
    )
    in_use = attribute_definition_frozen_check(definition, fields)
    if "category_id" in fields:
        definition.category = reference_or_422(Category, fields.pop("category_id"), "category_id")
    for name, value in fields.items():
        setattr(definition, name, value)
    full_clean(definition)
    if in_use and definition.type == AttributeType.CHOICE:
        _check_choices_cover_values(definition)
    definition.save()
    catalog_structure_changed_on_commit()
    return definition


def _check_choices_cover_values(definition: AttributeDefinition) -> None:
    allowed = {choice.casefold() for choice in definition.choices}
    used = set()
    for values in _values_of(definition):
        used |= set(values.values_list("value_text", flat=True).distinct())
    missing = sorted(v for v in used if v.casefold() not in allowed)
    if missing:
        raise AttributeInUse(
            "Some values in use are no longer among the choices.",
            status=422,  # the new choices are the invalid input, as they always answered
            details={"values": missing},
        )
    # Renamed spellings ("blue" -> "Blue") follow the new choice.
    canonical = {choice.casefold(): choice for choice in definition.choices}
    for values in _values_of(definition):
        for old in values.values_list("value_text", flat=True).distinct():
            if canonical[old.casefold()] != old:
                values.filter(value_text=old).update(value_text=canonical[old.casefold()])


@transaction.atomic
def attribute_definition_delete(*, definition_id: int) -> None:
    definition = get_or_404(
        AttributeDefinition.objects.select_for_update(), definition_id, AttributeNotFound
    )
    if _in_use(definition):
        raise AttributeInUse()
    definition.delete()
    catalog_structure_changed_on_commit()
