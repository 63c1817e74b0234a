"""CSV import and export of products with their variants, one row per variant.

Columns: product_slug, product_name, description, category_slug, brand_slug, base_price,
is_active, is_featured, sku, variant_name, price, compare_at_price, stock_quantity,
low_stock_threshold, variant_is_active, is_default, position, then one `attr:<code>` column per
attribute (product attributes repeat on each row of their product). An export imports back to the
same catalog; images are not part of the file.

Import matches products by slug and variants by SKU (creating what is missing, never deleting).
A blank cell keeps the current value, except where blank is a value of its own: price (the base
price), compare_at_price and brand_slug (none), and attr:* cells (no value; each row gives the
full set of its attributes). Modes: "atomic" applies every row or
none; "valid" applies the valid rows and reports the others. A dry run reports and rolls back.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.db import transaction
from tqdm import tqdm

from api.errors import ApiError
from products.attribute_values import coerce
from products.attributes import definitions_for_category, values_for_definitions
from products.models import (
    AttributeDefinition,
    Brand,
    Category,
    Product,
    ProductAttributeValue,
    StockReason,
    Variant,
    VariantAttributeValue,
)
from products.services.common import validation_errors
from products.services.events import products_changed_on_commit
from products.services.products import product_prices_refresh
from products.services.stock import StockChange, stock_adjust_many

PRODUCT_COLUMNS = [
    "product_slug",
    "product_name",
    "description",
    "category_slug",
    "brand_slug",
    "base_price",
    "is_active",
    "is_featured",
]
VARIANT_COLUMNS = [
    "sku",
    "variant_name",
    "price",
    "compare_at_price",
    "stock_quantity",
    "low_stock_threshold",
    "variant_is_active",
    "is_default",
    "position",
]
COLUMNS = PRODUCT_COLUMNS + VARIANT_COLUMNS
ATTR_PREFIX = "attr:"
REQUIRED_COLUMNS = {"product_slug", "sku"}
MODES = ("atomic", "valid")
EXPORT_CHUNK = 500


# -- export ---------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_rows(
    products: Iterable[Product] | None = None, *, progress: bool = False
) -> Iterator[list[str]]:
    """The header, then one row per variant; products by slug, variants by position and SKU."""
    if products is None:
        ids = list(Product.objects.order_by("slug").values_list("id", flat=True))
    else:
        ids = [p.pk for p in sorted(products, key=lambda p: p.slug)]
    codes = sorted(AttributeDefinition.objects.values_list("code", flat=True).distinct())
    yield COLUMNS + [f"{ATTR_PREFIX}{code}" for code in codes]
    bar = tqdm(total=len(ids), unit="product", disable=not progress, desc="export")
    for start in range(0, len(ids), EXPORT_CHUNK):
        chunk = ids[start : start + EXPORT_CHUNK]
        products_by_id = Product.objects.select_related("category", "brand").in_bulk(chunk)
        variants = defaultdict(list)
        for variant in Variant.objects.filter(product_id__in=chunk).order_by("position", "sku"):
            variants[variant.product_id].append(variant)
        product_values = defaultdict(dict)
        for pid, code, text in ProductAttributeValue.objects.filter(
            product_id__in=chunk
        ).values_list("product_id", "definition__code", "value_text"):
            product_values[pid][code] = text
        variant_values = defaultdict(dict)
        for vid, code, text in VariantAttributeValue.objects.filter(
            variant__product_id__in=chunk
        ).values_list("variant_id", "definition__code", "value_text"):
            variant_values[vid][code] = text
        for pid in chunk:
            product = products_by_id[pid]
            head = [
                product.slug,
                product.name,
                product.description,
                product.category.slug,
                product.brand.slug if product.brand else "",
                _fmt(product.base_price),
                _fmt(product.is_active),
                _fmt(product.is_featured),
            ]
            for variant in variants[pid]:
                values = {**product_values[pid], **variant_values[variant.pk]}
                yield (
                    head
                    + [
                        variant.sku,
                        variant.name,
                        _fmt(variant.price),
                        _fmt(variant.compare_at_price),
                        _fmt(variant.stock_quantity),
                        _fmt(variant.low_stock_threshold),
                        _fmt(variant.is_active),
                        _fmt(variant.is_default),
                        _fmt(variant.position),
                    ]
                    + [values.get(code, "") for code in codes]
                )
        bar.update(len(chunk))
    bar.close()


def export_csv(
    out: IO[str], products: Iterable[Product] | None = None, *, progress: bool = False
) -> int:
    """Write the CSV to `out`; returns the number of variant rows."""
    writer = csv.writer(out)
    rows = 0
    for rows, row in enumerate(export_rows(products, progress=progress)):  # noqa: B007
        writer.writerow(row)
    return rows


# -- import ---------------------------------------------------------------------------------------


@dataclass
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        return f"line {self.line}{where}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    stock_changes: int = 0
    errors: list[RowError] = field(default_factory=list)
    applied: bool = False
    dry_run: bool = False
    mode: str = "atomic"

    @property
    def rows_failed(self) -> int:
        return len({error.line for error in self.errors})

    def summary(self) -> str:
        verb = (
            "would change" if self.dry_run else ("changed" if self.applied else "changed nothing")
        )
        return (
            f"{self.rows} rows, {self.rows_failed} with errors; {verb}: "
            f"{self.products_created} products created, {self.products_updated} updated, "
            f"{self.variants_created} variants created, {self.variants_updated} updated, "
            f"{self.stock_changes} stock changes"
        )


class RowInvalid(Exception):
    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors


class _Rollback(Exception):
    pass


def _bool(raw: str, name: str) -> bool:
    word = raw.strip().lower()
    if word in {"true", "1", "yes", "y"}:
        return True
    if word in {"false", "0", "no", "n"}:
        return False
    raise RowInvalid([(name, f"Expected true or false, not {raw!r}.")])


def _money(raw: str, name: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise RowInvalid([(name, f"Expected an amount, not {raw!r}.")]) from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e10"):
        raise RowInvalid([(name, "Expected an amount of at least 0.")])
    if value != value.quantize(Decimal("0.01")):
        raise RowInvalid([(name, "At most 2 decimal places.")])
    return value


def _int(raw: str, name: str, minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise RowInvalid([(name, f"Expected a whole number, not {raw!r}.")]) from None
    if not minimum <= value <= 1_000_000_000:
        raise RowInvalid([(name, f"Expected a whole number from {minimum}.")])
    return value


class _Importer:
    def __init__(self, *, actor: Any, reference: str, report: ImportReport):
        self.actor = actor
        self.reference = reference[:100]
        self.report = report
        self.categories = {c.slug: c for c in Category.objects.all()}
        self.brands = {b.slug: b for b in Brand.objects.all()}
        self.definitions_cache: dict[int, dict[str, AttributeDefinition]] = {}
        self.touched: set[int] = set()

    def definitions(self, category: Category) -> dict[str, AttributeDefinition]:
        if category.pk not in self.definitions_cache:
            self.definitions_cache[category.pk] = definitions_for_category(category)
        return self.definitions_cache[category.pk]

    def error(self, line: int, name: str, message: str) -> None:
        self.report.errors.append(RowError(line, name, message))

    # One product: its first row carries the product fields; every row is one variant.
    def product_group(self, rows: list[tuple[int, dict[str, str]]]) -> None:
        first_line, first = rows[0]
        try:
            with transaction.atomic():
                product, created = self.product(first)
        except RowInvalid as exc:
            for name, message in exc.errors:
                self.error(first_line, name, message)
            for line, _row in rows[1:]:
                self.error(line, "product_slug", "Skipped: the product's first row is invalid.")
            return
        self.touched.add(product.pk)
        self.report.products_created += created
        self.report.products_updated += not created
        for line, row in rows:
            conflicts = [
                name
                for name in PRODUCT_COLUMNS[1:]
                if row.get(name) not in (None, "") and row[name] != first.get(name, "")
            ]
            if conflicts:
                self.error(line, conflicts[0], "Differs from the product's first row.")
                continue
            try:
                with transaction.atomic():
                    self.variant(product, row)
            except RowInvalid as exc:
                for name, message in exc.errors:
                    self.error(line, name, message)
        if product.variants.count() == 0:
            # Every product keeps a variant: without one, the product itself is not imported.
            raise RowInvalid([("product_slug", "No valid variant: the product is not imported.")])
        if not product.variants.filter(is_default=True).exists():
            variant = product.variants.order_by("position", "id").first()
            variant.is_default = True
            variant.save(update_fields=["is_default"])

    def product(self, row: dict[str, str]) -> tuple[Product, bool]:
        slug = row["product_slug"].strip()
        product = Product.objects.select_for_update().filter(slug=slug).first()
        created = product is None
        errors = []
        if created:
            product = Product(slug=slug)
            for name in ("product_name", "category_slug", "base_price"):
                if not row.get(name, "").strip():
                    errors.append((name, "Required for a new product."))
            if errors:
                raise RowInvalid(errors)
        if row.get("product_name", "").strip():
            product.name = row["product_name"].strip()
        if row.get("description", "").strip():
            product.description = row["description"]
        if row.get("category_slug", "").strip():
            category = self.categories.get(row["category_slug"].strip())
            if category is None:
                errors.append(("category_slug", f"No category {row['category_slug']!r}."))
            else:
                product.category = category
        if "brand_slug" in row:
            brand_slug = row["brand_slug"].strip()
            if brand_slug and brand_slug not in self.brands:
                errors.append(("brand_slug", f"No brand {brand_slug!r}."))
            else:
                product.brand = self.brands.get(brand_slug) if brand_slug else None
        for name, parse in (("base_price", _money), ("is_active", _bool), ("is_featured", _bool)):
            if row.get(name, "").strip():
                try:
                    setattr(product, name, parse(row[name], name))
                except RowInvalid as exc:
                    errors += exc.errors
        if errors:
            raise RowInvalid(errors)
        self.full_clean(product)
        product.save()
        definitions = self.definitions(product.category)
        values = {
            code: raw
            for code, raw in self.attributes(row).items()
            if code in definitions and not definitions[code].is_variant_attribute
        }
        checked = self.check_values(definitions, values, variant_level=False)
        ProductAttributeValue.objects.filter(product=product).delete()
        ProductAttributeValue.objects.bulk_create(
            values_for_definitions(checked, ProductAttributeValue, product=product)
        )
        return product, created

    def attributes(self, row: dict[str, str]) -> dict[str, str]:
        return {
            name[len(ATTR_PREFIX) :]: value.strip()
            for name, value in row.items()
            if name.startswith(ATTR_PREFIX) and value is not None and value.strip()
        }

    def check_values(self, definitions, values, *, variant_level: bool) -> list:
        errors, checked = [], []
        for code, raw in values.items():
            definition = definitions.get(code)
            if definition is None:
                errors.append((f"{ATTR_PREFIX}{code}", "No such attribute for this category."))
                continue
            if definition.is_variant_attribute != variant_level:
                continue  # the other level's column, read by the other pass
            try:
                checked.append((definition, coerce(definition, raw)))
            except Exception as exc:
                message = getattr(exc, "messages", [str(exc)])[0]
                errors.append((f"{ATTR_PREFIX}{code}", message))
        for code, definition in definitions.items():
            if (
                definition.is_required
                and definition.is_variant_attribute == variant_level
                and code not in values
            ):
                errors.append((f"{ATTR_PREFIX}{code}", "This attribute is required."))
        if errors:
            raise RowInvalid(errors)
        return checked

    def full_clean(self, obj, exclude=None) -> None:
        from django.core.exceptions import ValidationError

        try:
            obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise RowInvalid(
                [(e["field"] or "row", e["message"]) for e in validation_errors(exc)]
            ) from None

    def variant(self, product: Product, row: dict[str, str]) -> None:
        sku = row["sku"].strip().upper()
        if not sku:
            raise RowInvalid([("sku", "Required.")])
        variant = Variant.objects.select_for_update().filter(sku=sku).first()
        created = variant is None
        if not created and variant.product_id != product.pk:
            raise RowInvalid([("sku", f"{sku} belongs to another product.")])
        if created:
            variant = Variant(
                product=product, sku=sku, stock_quantity=0, position=product.variants.count()
            )
        errors = []
        parsers = {
            "variant_name": ("name", lambda raw, name: raw.strip()),
            "price": ("price", _money),
            "compare_at_price": ("compare_at_price", _money),
            "low_stock_threshold": ("low_stock_threshold", _int),
            "variant_is_active": ("is_active", _bool),
            "is_default": ("is_default", _bool),
            "position": ("position", lambda raw, name: _int(raw, name, minimum=-1_000_000)),
        }
        for column, (attribute, parse) in parsers.items():
            if column not in row:
                continue
            raw = row[column]
            if not raw.strip():
                if column in {"price", "compare_at_price"}:
                    setattr(variant, attribute, None)  # blank: the base price / none
                continue
            try:
                setattr(variant, attribute, parse(raw, column))
            except RowInvalid as exc:
                errors += exc.errors
        stock = None
        if row.get("stock_quantity", "").strip():
            try:
                stock = _int(row["stock_quantity"], "stock_quantity")
            except RowInvalid as exc:
                errors += exc.errors
        definitions = self.definitions(product.category)
        try:
            checked = self.check_values(definitions, self.attributes(row), variant_level=True)
        except RowInvalid as exc:  # reported together with the field errors of the row
            errors += exc.errors
        if errors:
            raise RowInvalid(errors)
        self.full_clean(variant, exclude=["product", "stock_quantity"])
        combo = tuple(sorted((d.code, text.casefold()) for d, (text, _n, _b) in checked))
        if combo:
            others = defaultdict(list)
            for vid, code, text in (
                VariantAttributeValue.objects.filter(variant__product=product)
                .exclude(variant_id=variant.pk)
                .values_list("variant_id", "definition__code", "value_text")
            ):
                others[vid].append((code, text.casefold()))
            if combo in {tuple(sorted(pairs)) for pairs in others.values()}:
                raise RowInvalid([("sku", "Another variant has the same attribute values.")])
        if variant.is_default:
            product.variants.exclude(pk=variant.pk).filter(is_default=True).update(is_default=False)
        variant.save()
        VariantAttributeValue.objects.filter(variant=variant).delete()
        VariantAttributeValue.objects.bulk_create(
            values_for_definitions(checked, VariantAttributeValue, variant=variant)
        )
        if stock is not None and stock != variant.stock_quantity:
            stock_adjust_many(
                changes=[StockChange(variant.pk, quantity=stock)],
                reason=StockReason.IMPORT,
                actor=self.actor,
                reference=self.reference,
                notify=False,
            )
            self.report.stock_changes += 1
        self.report.variants_created += created
        self.report.variants_updated += not created


COUNTERS = (
    "products_created",
    "products_updated",
    "variants_created",
    "variants_updated",
    "stock_changes",
)


def _counters(report: ImportReport) -> tuple[int, ...]:
    return tuple(getattr(report, name) for name in COUNTERS)


def _restore(report: ImportReport, counters: tuple[int, ...]) -> None:
    for name, value in zip(COUNTERS, counters, strict=True):
        setattr(report, name, value)


def import_csv(
    source: IO[str],
    *,
    dry_run: bool = False,
    mode: str = "atomic",
    actor: Any = None,
    reference: str = "csv import",
    progress: bool = False,
) -> ImportReport:
    """Import products and variants from CSV text; see the module docstring."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    report = ImportReport(dry_run=dry_run, mode=mode)
    reader = csv.DictReader(source)
    header = reader.fieldnames or []
    unknown = [n for n in header if n not in COLUMNS and not n.startswith(ATTR_PREFIX)]
    missing = sorted(REQUIRED_COLUMNS - set(header))
    if unknown or missing:
        for name in unknown:
            report.errors.append(RowError(1, name, "Unknown column."))
        for name in missing:
            report.errors.append(RowError(1, name, "Missing column."))
        return report
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for row in reader:
        report.rows += 1
        line = reader.line_num
        if None in row:  # more cells than the header names
            report.errors.append(RowError(line, "", "More cells than columns."))
            continue
        slug = (row.get("product_slug") or "").strip()
        if not slug:
            report.errors.append(RowError(line, "product_slug", "Required."))
            continue
        groups.setdefault(slug, []).append((line, row))
    try:
        with transaction.atomic():
            importer = _Importer(actor=actor, reference=reference, report=report)
            bar = tqdm(total=report.rows, unit="row", disable=not progress, desc="import")
            for rows in groups.values():
                counters = _counters(report)
                try:
                    with transaction.atomic():
                        importer.product_group(rows)
                except (RowInvalid, ApiError) as exc:
                    _restore(report, counters)  # the whole product was rolled back
                    errors = exc.errors if isinstance(exc, RowInvalid) else [("", exc.message)]
                    for name, message in errors:
                        report.errors.append(RowError(rows[0][0], name, message))
                bar.update(len(rows))
            bar.close()
            if dry_run or (mode == "atomic" and report.errors):
                raise _Rollback
            product_prices_refresh(importer.touched)
            products_changed_on_commit(importer.touched)
            report.applied = True
    except _Rollback:
        report.applied = False
    report.errors.sort(key=lambda e: e.line)
    return report
