"""Every write to the catalog goes through these functions (HackSoft-style services).

Each one opens its transaction, validates (422 / 409 in the API's error shape) and ends with
`products_changed_on_commit(ids)` or `catalog_structure_changed_on_commit()`, so caches (and
search, later) hear of every committed change and of nothing that rolled back.
"""

from products.services.catalog import (
    attribute_definition_create,
    attribute_definition_delete,
    attribute_definition_frozen_check,
    attribute_definition_update,
    brand_create,
    brand_delete,
    brand_update,
    category_create,
    category_delete,
    category_update,
)
from products.services.events import (
    catalog_structure_changed,
    catalog_structure_changed_on_commit,
    products_changed_on_commit,
    products_changes_batched,
)
from products.services.images import (
    image_check,
    product_image_add,
    product_image_delete,
    product_image_update,
)
from products.services.products import (
    product_create,
    product_delete,
    product_prices_refresh,
    product_update,
    products_set_flags,
    variant_create,
    variant_defaults_check,
    variant_delete,
    variant_update,
    variants_bulk_create,
)
from products.services.reviews import (
    product_rating_refresh,
    review_create,
    review_is_verified_purchase,
    review_moderate,
    reviews_moderate,
)
from products.services.stock import (
    StockChange,
    StockLevel,
    stock_adjust,
    stock_adjust_many,
    stock_changes_announce,
    stock_decrement,
)

__all__ = [
    "StockChange",
    "StockLevel",
    "attribute_definition_create",
    "attribute_definition_delete",
    "attribute_definition_frozen_check",
    "attribute_definition_update",
    "brand_create",
    "brand_delete",
    "brand_update",
    "catalog_structure_changed",
    "catalog_structure_changed_on_commit",
    "category_create",
    "category_delete",
    "category_update",
    "image_check",
    "product_create",
    "product_delete",
    "product_image_add",
    "product_image_delete",
    "product_image_update",
    "product_prices_refresh",
    "product_rating_refresh",
    "product_update",
    "products_changed_on_commit",
    "products_changes_batched",
    "products_set_flags",
    "review_create",
    "review_is_verified_purchase",
    "review_moderate",
    "reviews_moderate",
    "stock_adjust",
    "stock_adjust_many",
    "stock_changes_announce",
    "stock_decrement",
    "variant_create",
    "variant_defaults_check",
    "variant_delete",
    "variant_update",
    "variants_bulk_create",
]
