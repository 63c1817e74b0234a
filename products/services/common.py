"""Helpers the catalog services share: validation errors, unique slugs, row lookups."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.utils.text import slugify

from api.errors import InvalidInput, NotFound, field_error
from products.errors import SlugTaken


def full_clean(obj: models.Model, *, exclude: list[str] | None = None, prefix: str = "") -> None:
    """Model validation as a 422 listing every field, in the API's validation error shape."""
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise InvalidInput(details={"errors": validation_errors(exc, prefix, model=obj)}) from None


def validation_errors(
    exc: ValidationError, prefix: str = "", *, model: models.Model | None = None
) -> list[dict[str, Any]]:
    errors = []
    items = exc.message_dict.items() if hasattr(exc, "error_dict") else [("", exc.messages)]
    for field, messages in items:
        field = _body_name(model, field)
        name = f"{prefix}{field}" if field and field != "__all__" else prefix.rstrip(".")
        errors.extend(field_error(name, message) for message in messages)
    return errors


def _body_name(model: models.Model | None, field: str) -> str:
    """A foreign key by the name request bodies give it (parent -> parent_id)."""
    if model is None or not field or field == "__all__":
        return field
    try:
        model_field = model._meta.get_field(field)
    except FieldDoesNotExist:
        return field
    return model_field.attname if model_field.many_to_one else field


def unique_slug(model: type[models.Model], source: str, *, max_length: int = 200) -> str:
    """slugify(source), with -2, -3... when taken."""
    base = slugify(source)[: max_length - 8].strip("-") or "item"
    taken = set(
        model.objects.filter(slug__startswith=base).values_list("slug", flat=True)  # type: ignore[attr-defined]
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def slug_free(model: type[models.Model], slug: str, *, exclude_pk: int | None = None) -> None:
    qs = model.objects.filter(slug=slug)  # type: ignore[attr-defined]
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    if qs.exists():
        raise SlugTaken(f"The slug {slug!r} is already used.", details={"slug": slug})


def get_or_404(queryset: models.QuerySet, pk: int, error: type[NotFound]) -> Any:
    """The row with this id, or `error` (ProductNotFound...) saying "No product with id 7."."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        what = error.code.removesuffix("_not_found").replace("_", " ")
        raise error(f"No {what} with id {pk}.")
    return obj


def reference_or_422(model: type[models.Model], pk: int | None, field: str) -> Any:
    """A related row named in a request body: missing is invalid input, not a missing page."""
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()  # type: ignore[attr-defined]
    if obj is None:
        raise InvalidInput.for_field(field, f"No such object: {pk}.", kind="invalid_reference")
    return obj
