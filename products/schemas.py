"""Request and response schemas of the catalog API.

Public answers are plain pydantic models built from dicts (selectors use .values(), not model
instances) and serialised in Rust straight to the cached bytes; request bodies are Ninja schemas
that refuse unknown fields, NUL characters and out-of-range numbers.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from products.media import image_url
from products.models import (
    AttributeType,
    Product,
    ProductImage,
    Review,
    ReviewStatus,
    StockReason,
    Variant,
)

# -- shared field types -------------------------------------------------------------------------


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=140)]
ProductSlug = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$", max_length=220)
]
Sku = Annotated[
    str,
    StringConstraints(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", strip_whitespace=True, max_length=64
    ),
]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Money = Annotated[
    Decimal, Field(ge=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2)
]
Position = Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
Quantity = Annotated[int, Field(ge=0, le=1_000_000_000)]
AttributeInput = dict[
    Annotated[str, StringConstraints(max_length=50)],
    Annotated[str, StringConstraints(max_length=255)] | bool | int | Decimal | None,
]


# -- public output ------------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CategoryRefOut(Out):
    id: int
    name: str
    slug: str


class BrandRefOut(Out):
    id: int
    name: str
    slug: str


class RatingOut(Out):
    average: Decimal = Field(description="Mean of published reviews, 0 when there are none.")
    count: int


class RatingSummaryOut(RatingOut):
    distribution: dict[str, int] = Field(description='Published reviews per star, "1" to "5".')


class ImageRefOut(Out):
    url: str
    alt: str


class ImageOut(ImageRefOut):
    id: int
    width: int | None
    height: int | None
    position: int


class ListVariantOut(Out):
    id: int
    sku: str
    name: str
    price: Decimal
    compare_at_price: Decimal | None
    in_stock: bool
    attributes: dict[str, str] = Field(description="Variant attributes, code to value.")


class ProductListItemOut(Out):
    id: int
    name: str
    slug: str
    brand: BrandRefOut | None
    category: CategoryRefOut
    price_min: Decimal
    price_max: Decimal
    compare_at_price: Decimal | None = Field(
        description="The highest compare-at price above its variant's price, if any."
    )
    currency: str
    in_stock: bool
    is_featured: bool
    image: ImageRefOut | None
    rating: RatingOut
    variants: list[ListVariantOut]


class AttributeOut(Out):
    code: str
    name: str
    type: str
    value: str
    unit: str


class OptionOut(Out):
    code: str
    name: str
    values: list[str]


class DetailVariantOut(Out):
    id: int
    sku: str
    name: str
    price: Decimal
    compare_at_price: Decimal | None
    in_stock: bool
    stock_status: Literal["in_stock", "low_stock", "out_of_stock"]
    is_default: bool
    attributes: list[AttributeOut]


class ProductDetailOut(Out):
    id: int
    name: str
    slug: str
    description: str
    brand: BrandRefOut | None
    category: CategoryRefOut
    breadcrumbs: list[CategoryRefOut] = Field(description="From the root to the category.")
    price_min: Decimal
    price_max: Decimal
    compare_at_price: Decimal | None
    currency: str
    in_stock: bool
    is_featured: bool
    images: list[ImageOut]
    attributes: list[AttributeOut]
    options: list[OptionOut] = Field(description="Variant attributes and the values on offer.")
    variants: list[DetailVariantOut]
    rating: RatingSummaryOut
    created_at: datetime
    updated_at: datetime


class CategoryNodeOut(Out):
    id: int
    name: str
    slug: str
    description: str
    position: int
    product_count: int = Field(description="Active products in this category and below it.")
    children: list[CategoryNodeOut]


class CategoryChildOut(CategoryRefOut):
    product_count: int


class CategoryDetailOut(Out):
    id: int
    name: str
    slug: str
    description: str
    product_count: int
    breadcrumbs: list[CategoryRefOut] = Field(description="From the root to this category.")
    children: list[CategoryChildOut]


class BrandOut(Out):
    id: int
    name: str
    slug: str
    description: str
    logo_url: str | None
    product_count: int


class ReviewOut(Schema):
    """A Review with its user (select_related): the author shown as a first name and an
    initial, never the email."""

    id: int
    rating: int
    title: str
    body: str
    author: str
    is_verified_purchase: bool
    created_at: datetime

    @staticmethod
    def resolve_author(review: Review) -> str:
        first, last = review.user.first_name.strip(), review.user.last_name.strip()
        if not first:
            return "A customer"
        return f"{first} {last[:1]}." if last else first


class MyReviewOut(ReviewOut):
    status: ReviewStatus


# -- public input -------------------------------------------------------------------------------

ProductSort = Literal["newest", "price", "-price", "rating", "popularity", "name", "-name"]


class ProductFilter(Schema):
    category: Slug | None = Field(None, description="Category slug; its subcategories included.")
    brand: list[Slug] = Field(
        default_factory=list, max_length=50, description="Brand slugs (repeat the parameter)."
    )
    price_min: Money | None = Field(None, description="Some variant costs at least this.")
    price_max: Money | None = Field(None, description="Some variant costs at most this.")
    in_stock: bool | None = None
    featured: bool | None = None
    attr: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list,
        max_length=50,
        description=(
            "Attribute filters as code:value (repeat for more). Filterable attribute codes also "
            "work as plain parameters: ?color=blue&size=42. Values of one code are OR-ed, codes "
            "AND-ed; variant attributes must match on the same variant."
        ),
    )
    sort: ProductSort = Field("newest", description="name / -name, price / -price, ...")


class ReviewIn(Schema):
    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5)
    title: Annotated[Text, StringConstraints(max_length=200, strip_whitespace=True)] = ""
    body: Annotated[Text, StringConstraints(max_length=5000, strip_whitespace=True)] = ""


# -- staff input --------------------------------------------------------------------------------

Name = Annotated[Text, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
ShortName = Annotated[Text, StringConstraints(min_length=1, max_length=120, strip_whitespace=True)]
Description = Annotated[Text, StringConstraints(max_length=20_000)]


class StaffIn(Schema):
    model_config = ConfigDict(extra="forbid")


class CategoryIn(StaffIn):
    name: ShortName
    slug: Slug | None = None
    parent_id: Id | None = None
    description: Description = ""
    is_active: bool = True
    position: Position = 0


# PATCH bodies: a field left out keeps its value; null is a value only where the column takes
# one (parent_id: a root category; price: the base price...). Elsewhere `= None` without `| None`
# makes an explicit null a 422 naming the field, as core.schemas.AddressPatchIn does.


class CategoryPatch(StaffIn):
    name: ShortName = None  # type: ignore[assignment]
    slug: Slug = None  # type: ignore[assignment]
    parent_id: Id | None = Field(None, description="null: a root category.")
    description: Description = None  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]
    position: Position = None  # type: ignore[assignment]


class BrandIn(StaffIn):
    name: ShortName
    slug: Slug | None = None
    description: Description = ""


class BrandPatch(StaffIn):
    name: ShortName = None  # type: ignore[assignment]
    slug: Slug = None  # type: ignore[assignment]
    description: Description = None  # type: ignore[assignment]


AttributeCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,49}$")]
ChoiceText = Annotated[Text, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]


class AttributeDefinitionIn(StaffIn):
    code: AttributeCode
    name: Annotated[Text, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
    type: AttributeType
    category_id: Id | None = None
    choices: list[ChoiceText] = Field(default_factory=list, max_length=500)
    unit: Annotated[Text, StringConstraints(max_length=20)] = ""
    is_variant_attribute: bool = False
    is_filterable: bool = True
    is_required: bool = False
    position: Position = 0


class AttributeDefinitionPatch(StaffIn):
    name: Annotated[Text, StringConstraints(min_length=1, max_length=100)] = None  # type: ignore[assignment]
    type: AttributeType = None  # type: ignore[assignment]
    category_id: Id | None = Field(None, description="null: every category.")
    choices: list[ChoiceText] = Field(None, max_length=500)  # type: ignore[assignment]
    unit: Annotated[Text, StringConstraints(max_length=20)] = None  # type: ignore[assignment]
    is_variant_attribute: bool = None  # type: ignore[assignment]
    is_filterable: bool = None  # type: ignore[assignment]
    is_required: bool = None  # type: ignore[assignment]
    position: Position = None  # type: ignore[assignment]


class VariantIn(StaffIn):
    sku: Sku
    name: Annotated[Text, StringConstraints(max_length=200)] = ""
    price: Money | None = Field(None, description="Empty: the product's base price.")
    compare_at_price: Money | None = None
    stock_quantity: Quantity = Field(0, description="Initial stock, written to the ledger.")
    low_stock_threshold: Quantity = 5
    is_active: bool = True
    is_default: bool = False
    position: Position | None = None
    attributes: AttributeInput = Field(default_factory=dict)


class VariantPatch(StaffIn):
    sku: Sku = None  # type: ignore[assignment]
    name: Annotated[Text, StringConstraints(max_length=200)] = None  # type: ignore[assignment]
    price: Money | None = Field(None, description="null: the product's base price.")
    compare_at_price: Money | None = None
    low_stock_threshold: Quantity = None  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]
    is_default: bool = None  # type: ignore[assignment]
    position: Position = None  # type: ignore[assignment]
    attributes: AttributeInput | None = Field(None, description="Replaces the variant's values.")


class ProductIn(StaffIn):
    name: Name
    slug: ProductSlug | None = None
    description: Description = ""
    category_id: Id
    brand_id: Id | None = None
    base_price: Money
    is_active: bool = True
    is_featured: bool = False
    attributes: AttributeInput = Field(default_factory=dict)
    variants: list[VariantIn] = Field(
        default_factory=list, max_length=250, description="Empty: one default variant."
    )
    sku: Sku | None = Field(None, description="The default variant's SKU (without variants).")
    stock_quantity: Quantity = Field(0, description="The default variant's initial stock.")


class ProductPatch(StaffIn):
    name: Name = None  # type: ignore[assignment]
    slug: ProductSlug = None  # type: ignore[assignment]
    description: Description = None  # type: ignore[assignment]
    category_id: Id = None  # type: ignore[assignment]
    brand_id: Id | None = Field(None, description="null: no brand.")
    base_price: Money = None  # type: ignore[assignment]
    is_active: bool = None  # type: ignore[assignment]
    is_featured: bool = None  # type: ignore[assignment]
    attributes: AttributeInput | None = Field(None, description="Replaces the product's values.")


class ImagePatch(StaffIn):
    alt: Annotated[Text, StringConstraints(max_length=200)] = None  # type: ignore[assignment]
    position: Position = None  # type: ignore[assignment]


ManualStockReason = Literal["adjustment", "return", "cancellation", "import"]


class StockAdjustIn(StaffIn):
    delta: Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)] | None = Field(
        None, description="Units received (+) or removed (-)."
    )
    quantity: Quantity | None = Field(None, description="Or: the counted stock to set.")
    reason: ManualStockReason = "adjustment"
    reference: Annotated[Text, StringConstraints(max_length=100)] = ""
    note: Annotated[Text, StringConstraints(max_length=255)] = ""


class StockBulkItemIn(StaffIn):
    variant_id: Id
    delta: Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)] | None = None
    quantity: Quantity | None = None


class StockBulkIn(StaffIn):
    items: list[StockBulkItemIn] = Field(min_length=1, max_length=1000)
    reason: ManualStockReason = "adjustment"
    reference: Annotated[Text, StringConstraints(max_length=100)] = ""
    note: Annotated[Text, StringConstraints(max_length=255)] = ""


class ReviewModerateIn(StaffIn):
    status: ReviewStatus


# -- staff output -------------------------------------------------------------------------------


class StaffCategoryOut(Schema):
    id: int
    name: str
    slug: str
    parent_id: int | None
    description: str
    is_active: bool
    position: int
    depth: int


class StaffBrandOut(Schema):
    id: int
    name: str
    slug: str
    description: str


class StaffAttributeDefinitionOut(Schema):
    id: int
    code: str
    name: str
    type: AttributeType
    category_id: int | None
    choices: list[str]
    unit: str
    is_variant_attribute: bool
    is_filterable: bool
    is_required: bool
    position: int


class StaffVariantOut(Schema):
    """A Variant with its attribute values prefetched (products.selectors.staff_variant)."""

    id: int
    product_id: int
    sku: str
    name: str
    price: Decimal | None
    effective_price: Decimal
    compare_at_price: Decimal | None
    stock_quantity: int
    low_stock_threshold: int
    is_active: bool
    is_default: bool
    position: int
    attributes: dict[str, str]

    @staticmethod
    def resolve_attributes(variant: Variant) -> dict[str, str]:
        return dump_attributes(variant.attribute_values.all())


class StaffImageOut(Schema):
    id: int
    url: str
    alt: str
    width: int | None
    height: int | None
    position: int

    @staticmethod
    def resolve_url(image: ProductImage) -> str | None:
        return image_url(image.image.name)


class StaffProductOut(Schema):
    id: int
    name: str
    slug: str
    description: str
    category_id: int
    brand_id: int | None
    base_price: Decimal
    price_min: Decimal | None
    price_max: Decimal | None
    is_active: bool
    is_featured: bool
    rating_avg: Decimal
    rating_count: int
    sales_count: int
    attributes: dict[str, str]
    variants: list[StaffVariantOut]
    images: list[StaffImageOut]
    created_at: datetime
    updated_at: datetime

    # A Product as products.selectors.staff_product loads it (variants, values, images).
    @staticmethod
    def resolve_attributes(product: Product) -> dict[str, str]:
        return dump_attributes(product.attribute_values.all())


class StaffProductListOut(Schema):
    id: int
    name: str
    slug: str
    category_id: int
    brand_id: int | None
    base_price: Decimal
    price_min: Decimal | None
    price_max: Decimal | None
    is_active: bool
    is_featured: bool
    stock_total: int
    variant_count: int
    updated_at: datetime


class StockMovementOut(Schema):
    id: int
    variant_id: int | None
    sku: str
    quantity_delta: int
    quantity_after: int
    reason: StockReason
    reference: str
    note: str
    actor_id: int | None
    created_at: datetime


class StockAdjustmentOut(Schema):
    """A variant's stock after an adjustment (products.selectors.StockAdjustment)."""

    variant_id: int
    sku: str
    stock_quantity: int
    movement: StockMovementOut | None

    @staticmethod
    def resolve_variant_id(adjustment) -> int:
        return adjustment.variant.pk

    @staticmethod
    def resolve_sku(adjustment) -> str:
        return adjustment.variant.sku

    @staticmethod
    def resolve_stock_quantity(adjustment) -> int:
        return adjustment.variant.stock_quantity


class StaffReviewOut(Schema):
    id: int
    product_id: int
    user_id: int
    rating: int
    title: str
    body: str
    status: ReviewStatus
    is_verified_purchase: bool
    created_at: datetime
    moderated_at: datetime | None


def dump_attributes(rows: Any) -> dict[str, str]:
    return {row.definition.code: row.value_text for row in rows}
