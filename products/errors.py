"""The catalog's errors, each with a stable code (api/errors.py renders them)."""

from __future__ import annotations

from typing import Any

from api.errors import Conflict, InvalidInput, NotFound, field_error


class InsufficientStock(Conflict):
    """Fewer units than asked, for one variant or several.

    `lines`: one dict per short variant (variant_id, sku, requested, available, and what else the
    caller knows, e.g. in_cart). details.lines lists them all; with a single line its fields are
    also at the top of details, where a cart or stock route's client reads them.
    """

    code = "insufficient_stock"

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        first = lines[0]
        details: dict[str, Any] = {"lines": lines}
        if len(lines) == 1:
            details.update(first)
        super().__init__(f"Only {first['available']} of {first['sku']} in stock.", details=details)


# -- not found: get_or_404 (products/services/common.py) names the id in the message -------------


class ProductNotFound(NotFound):
    code, message = "product_not_found", "No such product."


class VariantNotFound(NotFound):
    code, message = "variant_not_found", "No such variant."


class CategoryNotFound(NotFound):
    code, message = "category_not_found", "No such category."


class BrandNotFound(NotFound):
    code, message = "brand_not_found", "No such brand."


class AttributeNotFound(NotFound):
    code, message = "attribute_not_found", "No such attribute."


class ImageNotFound(NotFound):
    code, message = "image_not_found", "No such image."


class ReviewNotFound(NotFound):
    code, message = "review_not_found", "No such review."


# -- products and variants ----------------------------------------------------------------------


class SlugTaken(Conflict):
    code, message = "slug_taken", "The slug is already used."


class SkuTaken(Conflict):
    code, message = "sku_taken", "These SKUs are already used."


class DuplicateSku(InvalidInput):
    code, message = "duplicate_sku", "Each variant needs its own SKU."


class DuplicateVariant(InvalidInput):
    code, message = "duplicate_variant", "Two variants have the same attribute values."


class ManyDefaultVariants(InvalidInput):
    code, message = "many_defaults", "Only one variant can be the default."


class DefaultVariantRequired(InvalidInput):
    code, message = "default_variant_required", "Make another variant the default instead."


class LastVariant(Conflict):
    code = "last_variant"
    message = "A product keeps at least one variant; delete the product instead."


class SkuWithVariants(InvalidInput):
    code = "sku_with_variants"
    message = "Give sku and stock_quantity per variant when variants are listed."


class AttributesNotApplicable(InvalidInput):
    code = "attributes_not_applicable"
    message = "Attributes of this product do not exist in the new category."


class ReviewExists(Conflict):
    code, message = "review_exists", "You have already reviewed this product."


class CatalogImportDuplicate(Conflict):
    code = "catalog_import_duplicate"
    message = "This file is already being imported, or was imported and changed the catalog."


class StockLimitExceeded(InvalidInput):
    """A change would take a variant's stock past what the column holds (products.models.
    STOCK_MAX); details.errors names the request field (`delta`, `items.2.delta`)."""

    code = "stock_limit"

    def __init__(self, *, sku: str, before: int, after: int, limit: int, field: str) -> None:
        message = f"Stock of {sku} would pass {limit} units ({before} -> {after})."
        super().__init__(
            message,
            details={
                "sku": sku,
                "before": before,
                "after": after,
                "limit": limit,
                "errors": [field_error(field, message, "stock_limit")],
            },
        )


class InvalidStockReason(InvalidInput):
    code, message = "invalid_reason", "Unknown stock reason."

    def __init__(self, reason: str) -> None:
        super().__init__(f"Unknown stock reason {reason!r}.")


# -- categories, brands, attributes -------------------------------------------------------------


class CategoryHasChildren(Conflict):
    code, message = "category_has_children", "Move or delete its subcategories first."


class CategoryHasProducts(Conflict):
    code, message = "category_has_products", "Move or delete its products first."


class BrandInUse(Conflict):
    code, message = "brand_in_use", "Products still use this brand."


class AttributeInUse(Conflict):
    """Values exist for this attribute: it may not be deleted, nor its type, level or category
    change; a choice list that drops a value in use is a 422 with the same code."""

    code, message = "attribute_in_use", "Products still have values for this attribute."


# -- the public catalog's and the search's attribute filters -----------------------------------


class InvalidFilter(InvalidInput):
    code, message = "invalid_filter", "Attribute filters look like attr=code:value."
