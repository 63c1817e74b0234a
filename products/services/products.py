"""Products and variants: create, update, delete, flags, and the denormalised price range.

Every writer of products and variants comes here: the staff API, the admin, the CSV importer
(one product or variant at a time) and the demo seed (its bulk path, variants_bulk_create). The
rule "a product has exactly one default variant" lives in the three functions of the "default
variant" block below; the database refuses a second default (Variant's constraint), these make
sure there is always one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, connection, transaction

from api.errors import field_error
from products.attributes import definitions_for_category, validate_values, values_for_definitions
from products.errors import (
    AttributesNotApplicable,
    DefaultVariantRequired,
    DuplicateSku,
    DuplicateVariant,
    LastVariant,
    ManyDefaultVariants,
    ProductNotFound,
    SkuTaken,
    SkuWithVariants,
    SlugTaken,
    VariantNotFound,
)
from products.models import (
    Brand,
    Category,
    Product,
    ProductAttributeValue,
    StockMovement,
    StockReason,
    Variant,
    VariantAttributeValue,
)
from products.services.common import full_clean, get_or_404, reference_or_422, slug_free
from products.services.common import unique_slug as _unique_slug
from products.services.events import products_changed_on_commit
from products.services.images import image_files_delete_on_commit
from products.services.stock import StockChange, stock_adjust_many
from webhooks.models import EventType

PRODUCT_FIELDS = {"name", "slug", "description", "base_price", "is_active", "is_featured"}
VARIANT_FIELDS = {
    "name",
    "price",
    "compare_at_price",
    "low_stock_threshold",
    "is_active",
    "position",
}


def product_prices_refresh(product_ids: Iterable[int] | None = None) -> None:
    """Recompute price_min/price_max (effective price of active variants) in one UPDATE;
    every service that moves a price or a variant's is_active calls it in its transaction."""
    product = Product._meta.db_table
    variant = Variant._meta.db_table
    effective = "coalesce(v.price, p.base_price)"
    subquery = (
        f"SELECT {{agg}}({effective}) FROM {variant} v WHERE v.product_id = p.id AND v.is_active"  # noqa: S608
    )
    sql = (
        f"UPDATE {product} p SET price_min = ({subquery.format(agg='min')}), "  # noqa: S608
        f"price_max = ({subquery.format(agg='max')})"
    )
    params: list[Any] = []
    if product_ids is not None:
        ids = sorted(set(product_ids))
        if not ids:
            return
        sql += " WHERE p.id = ANY(%s)"
        params.append(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _check_sku_free(skus: Sequence[str], exclude_variant: int | None = None) -> None:
    normal = [s.strip().upper() for s in skus]
    seen = set()
    duplicates = {s for s in normal if s in seen or seen.add(s)}
    if duplicates:
        raise DuplicateSku(details={"skus": sorted(duplicates)})
    taken = Variant.objects.filter(sku__in=normal)
    if exclude_variant:
        taken = taken.exclude(pk=exclude_variant)
    found = sorted(taken.values_list("sku", flat=True))
    if found:
        raise SkuTaken(details={"skus": found})


def _default_sku(product: Product) -> str:
    base = product.slug.upper()[:50].strip("-") or "SKU"
    return f"{base}-{product.pk}"


def _combination(checked: list) -> tuple:
    return tuple(sorted((d.code, text.casefold()) for d, (text, _n, _b) in checked))


def _check_combinations_unique(combinations: Sequence[tuple], field: str = "variants") -> None:
    seen: set[tuple] = set()
    for index, combo in enumerate(combinations):
        if combo and combo in seen:
            raise DuplicateVariant(
                details={
                    "errors": [
                        field_error(
                            f"{field}.{index}.attributes",
                            "Another variant has the same attribute values.",
                            "duplicate_variant",
                        )
                    ]
                },
            )
        seen.add(combo)


# -- the default variant -------------------------------------------------------------------------


def variant_defaults_check(flags: Sequence[bool]) -> list[bool]:
    """The default flags of a new product's variants, in order: two defaults are refused, and
    with none the first variant is the default."""
    flags = [bool(flag) for flag in flags]
    if sum(flags) > 1:
        raise ManyDefaultVariants()
    if flags and not any(flags):
        flags[0] = True
    return flags


def _default_move(product: Product, variant: Variant) -> None:
    """`variant` becomes the product's default: the flag leaves the others first, so the
    one-default constraint holds at every step (the caller saves `variant`)."""
    product.variants.exclude(pk=variant.pk).filter(is_default=True).update(is_default=False)
    variant.is_default = True


def _default_ensure(product_id: int) -> None:
    """A product left without a default (its default deleted) gets its first variant."""
    variants = Variant.objects.filter(product_id=product_id)
    if not variants.filter(is_default=True).exists():
        first = variants.order_by("position", "id").first()
        if first is not None:
            variants.filter(pk=first.pk).update(is_default=True)


def _variant_from_spec(
    product: Product, spec: Mapping[str, Any], definitions, index: int, field: str
) -> tuple[Variant, list, int]:
    variant = Variant(
        product=product,
        sku=(spec.get("sku") or "").strip().upper(),
        name=spec.get("name") or "",
        price=spec.get("price"),
        compare_at_price=spec.get("compare_at_price"),
        low_stock_threshold=spec.get("low_stock_threshold", 5),
        is_active=spec.get("is_active", True),
        is_default=bool(spec.get("is_default", False)),
        position=spec["position"] if spec.get("position") is not None else index,
        stock_quantity=0,  # initial stock is written through the ledger below
    )
    full_clean(variant, exclude=["product"], prefix=f"{field}.{index}." if field else "")
    checked = validate_values(
        definitions,
        spec.get("attributes") or {},
        variant_level=True,
        field=f"{field}.{index}.attributes" if field else "attributes",
    )
    return variant, checked, int(spec.get("stock_quantity") or 0)


def _save_variants(
    product: Product,
    built: list[tuple[Variant, list, int]],
    *,
    actor: Any,
    reason: str,
    reference: str = "",
) -> list[Variant]:
    try:
        with transaction.atomic():
            Variant.objects.bulk_create([variant for variant, _c, _s in built])
    except IntegrityError:
        raise SkuTaken("A SKU is already used.") from None
    values = []
    for variant, checked, _stock in built:
        values += values_for_definitions(checked, VariantAttributeValue, variant=variant)
    VariantAttributeValue.objects.bulk_create(values)
    changes = [StockChange(variant.pk, delta=stock) for variant, _c, stock in built if stock]
    if changes:
        stock_adjust_many(
            changes=changes,
            reason=reason,
            actor=actor,
            reference=reference,
            note="initial stock",
            notify=False,
        )
    return [variant for variant, _c, _s in built]


def variants_bulk_create(
    variants: Sequence[Variant],
    *,
    opening_stock: Sequence[int],
    reference: str,
    at: Any = None,
    batch_size: int = 2000,
) -> list[Variant]:
    """Many new products' variants in a few statements (the demo seed, benchmarks), under the
    rules variant_create keeps one at a time: each product's first variant (by position) is its
    default, and opening stock arrives with its ledger line (reason `import`). The caller
    refreshes price ranges and announces the change once for all."""
    first: dict[int, Variant] = {}
    for variant in variants:
        current = first.get(variant.product_id)
        if current is None or variant.position < current.position:
            first[variant.product_id] = variant
    for variant, stock in zip(variants, opening_stock, strict=True):
        variant.is_default = first[variant.product_id] is variant
        variant.stock_quantity = stock
    Variant.objects.bulk_create(variants, batch_size=batch_size)
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                variant=variant,
                sku=variant.sku,
                quantity_delta=variant.stock_quantity,
                quantity_after=variant.stock_quantity,
                reason=StockReason.IMPORT,
                reference=reference,
                note="opening stock",
                **({"created_at": at} if at is not None else {}),
            )
            for variant in variants
            if variant.stock_quantity
        ],
        batch_size=batch_size,
    )
    return list(variants)


@transaction.atomic
def product_create(
    *,
    name: str,
    category_id: int,
    base_price: Any,
    slug: str | None = None,
    description: str = "",
    brand_id: int | None = None,
    is_active: bool = True,
    is_featured: bool = False,
    attributes: Mapping[str, Any] | None = None,
    variants: Sequence[Mapping[str, Any]] | None = None,
    sku: str | None = None,
    stock_quantity: int = 0,
    actor: Any = None,
    stock_reference: str = "",
) -> Product:
    """A product and its variants; without `variants`, one default variant (`sku`, stock).
    Each variant spec: sku, name, price, compare_at_price, low_stock_threshold, is_active,
    is_default, position, stock_quantity (opening stock, written to the ledger), attributes."""
    category = reference_or_422(Category, category_id, "category_id")
    brand = reference_or_422(Brand, brand_id, "brand_id")
    if slug:
        slug_free(Product, slug)
    product = Product(
        name=name,
        slug=slug or _unique_slug(Product, name, max_length=220),
        description=description,
        brand=brand,
        category=category,
        base_price=base_price,
        is_active=is_active,
        is_featured=is_featured,
    )
    full_clean(product)
    definitions = definitions_for_category(category)
    checked = validate_values(definitions, attributes or {}, variant_level=False)
    specs = list(variants or [])
    if not specs:
        specs = [{"sku": sku or "", "stock_quantity": stock_quantity, "is_default": True}]
    elif sku or stock_quantity:
        raise SkuWithVariants()
    _check_sku_free([s["sku"] for s in specs if s.get("sku")])
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        raise SlugTaken() from None
    ProductAttributeValue.objects.bulk_create(
        values_for_definitions(checked, ProductAttributeValue, product=product)
    )
    if not specs[0].get("sku"):
        specs[0] = {**specs[0], "sku": _default_sku(product)}
    built = [
        _variant_from_spec(product, spec, definitions, index, "variants" if variants else "")
        for index, spec in enumerate(specs)
    ]
    _check_combinations_unique([_combination(checked) for _v, checked, _s in built])
    flags = variant_defaults_check([variant.is_default for variant, _c, _s in built])
    for (variant, _c, _s), flag in zip(built, flags, strict=True):
        variant.is_default = flag
    _save_variants(
        product, built, actor=actor, reason=StockReason.ADJUSTMENT, reference=stock_reference
    )
    product_prices_refresh([product.pk])
    products_changed_on_commit([product.pk], event=EventType.PRODUCT_CREATED)
    return product


def _revalidate_after_category_change(product: Product, definitions) -> None:
    """Values whose definitions no longer apply to the new category make the move invalid."""
    stray = sorted(
        set(
            ProductAttributeValue.objects.filter(product=product)
            .exclude(definition__in=definitions.values())
            .values_list("definition__code", flat=True)
        )
        | set(
            VariantAttributeValue.objects.filter(variant__product=product)
            .exclude(definition__in=definitions.values())
            .values_list("definition__code", flat=True)
        )
    )
    if stray:
        raise AttributesNotApplicable(details={"attributes": stray})


@transaction.atomic
def product_update(*, product_id: int, actor: Any = None, **fields: Any) -> Product:
    """Change the given fields; `attributes` replaces the product-level values."""
    product = get_or_404(Product.objects.select_for_update(), product_id, ProductNotFound)
    attributes = fields.pop("attributes", None)
    if "category_id" in fields:
        product.category = reference_or_422(Category, fields.pop("category_id"), "category_id")
    if "brand_id" in fields:
        product.brand = reference_or_422(Brand, fields.pop("brand_id"), "brand_id")
    unknown = set(fields) - PRODUCT_FIELDS
    if unknown:
        raise TypeError(f"product_update got unknown fields {sorted(unknown)}")
    if fields.get("slug"):
        slug_free(Product, fields["slug"], exclude_pk=product.pk)
    for name, value in fields.items():
        setattr(product, name, value)
    full_clean(product)
    definitions = definitions_for_category(product.category)
    if attributes is not None:
        checked = validate_values(definitions, attributes, variant_level=False)
        ProductAttributeValue.objects.filter(product=product).delete()
        ProductAttributeValue.objects.bulk_create(
            values_for_definitions(checked, ProductAttributeValue, product=product)
        )
    _revalidate_after_category_change(product, definitions)
    product.save()
    product_prices_refresh([product.pk])
    products_changed_on_commit([product.pk])
    return product


@transaction.atomic
def product_delete(*, product_id: int) -> None:
    product = get_or_404(Product.objects.select_for_update(), product_id, ProductNotFound)
    names = list(product.images.values_list("image", flat=True))
    product.delete()
    image_files_delete_on_commit(names)
    products_changed_on_commit([product_id], event=EventType.PRODUCT_DELETED)


@transaction.atomic
def products_set_flags(
    *, product_ids: Iterable[int], is_active: bool | None = None, is_featured: bool | None = None
) -> int:
    """Bulk activate / deactivate / feature (admin actions); returns how many rows changed."""
    ids = sorted(set(product_ids))
    changes = {
        name: value
        for name, value in (("is_active", is_active), ("is_featured", is_featured))
        if value is not None
    }
    if not ids or not changes:
        return 0
    count = Product.objects.filter(pk__in=ids).update(**changes)
    products_changed_on_commit(ids)
    return count


# -- variants -----------------------------------------------------------------------------------


@transaction.atomic
def variant_create(
    *, product_id: int, actor: Any = None, stock_reference: str = "", **spec: Any
) -> Variant:
    """A variant of the product (spec as in product_create's variants); the product's first
    variant, or one with is_default, becomes its default."""
    product = get_or_404(
        Product.objects.select_for_update().select_related("category"), product_id, ProductNotFound
    )
    _check_sku_free([spec.get("sku") or ""])
    definitions = definitions_for_category(product.category)
    position = spec.pop("position", None)
    if position is None:
        position = product.variants.count()
    built = _variant_from_spec(product, {**spec, "position": position}, definitions, 0, "")
    existing = _existing_combinations(product)
    _check_combinations_unique([*existing, _combination(built[1])], field="attributes")
    if built[0].is_default or not product.variants.exists():
        _default_move(product, built[0])
    (variant,) = _save_variants(
        product, [built], actor=actor, reason=StockReason.ADJUSTMENT, reference=stock_reference
    )
    product_prices_refresh([product.pk])
    products_changed_on_commit([product.pk])
    return variant


def _existing_combinations(product: Product, exclude_variant: int | None = None) -> list[tuple]:
    combos: dict[int, list] = {}
    rows = VariantAttributeValue.objects.filter(variant__product=product)
    if exclude_variant:
        rows = rows.exclude(variant_id=exclude_variant)
    for variant_id, code, text in rows.values_list("variant_id", "definition__code", "value_text"):
        combos.setdefault(variant_id, []).append((code, text.casefold()))
    return [tuple(sorted(pairs)) for pairs in combos.values()]


@transaction.atomic
def variant_update(*, variant_id: int, **fields: Any) -> Variant:
    """Change the given fields; `attributes` replaces the variant's values. Stock is not a field
    here: it changes through stock_adjust, which writes the ledger."""
    variant = get_or_404(
        Variant.objects.select_for_update().select_related("product__category"),
        variant_id,
        VariantNotFound,
    )
    product = variant.product
    attributes = fields.pop("attributes", None)
    make_default = fields.pop("is_default", None)
    if "sku" in fields:
        _check_sku_free([fields["sku"]], exclude_variant=variant.pk)
        variant.sku = fields.pop("sku").strip().upper()
    unknown = set(fields) - VARIANT_FIELDS
    if unknown:
        raise TypeError(f"variant_update got unknown fields {sorted(unknown)}")
    for name, value in fields.items():
        setattr(variant, name, value)
    full_clean(variant, exclude=["product"])
    if attributes is not None:
        definitions = definitions_for_category(product.category)
        checked = validate_values(definitions, attributes, variant_level=True)
        existing = _existing_combinations(product, exclude_variant=variant.pk)
        _check_combinations_unique([*existing, _combination(checked)], field="attributes")
        VariantAttributeValue.objects.filter(variant=variant).delete()
        VariantAttributeValue.objects.bulk_create(
            values_for_definitions(checked, VariantAttributeValue, variant=variant)
        )
    if make_default and not variant.is_default:
        _default_move(product, variant)
    elif make_default is False and variant.is_default:
        raise DefaultVariantRequired()
    try:
        with transaction.atomic():
            variant.save()
    except IntegrityError:
        raise SkuTaken("The SKU is already used.") from None
    product_prices_refresh([product.pk])
    products_changed_on_commit([product.pk])
    return variant


@transaction.atomic
def variant_delete(*, variant_id: int) -> None:
    variant = get_or_404(Variant.objects.select_for_update(), variant_id, VariantNotFound)
    siblings = Variant.objects.filter(product_id=variant.product_id).exclude(pk=variant.pk)
    if not siblings.exists():
        raise LastVariant()
    variant.delete()
    _default_ensure(variant.product_id)
    product_prices_refresh([variant.product_id])
    products_changed_on_commit([variant.product_id])
