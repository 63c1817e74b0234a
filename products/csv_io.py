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
from products import services
from products.attributes import definitions_for_category, validate_values
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


# Service field -> CSV column, for the errors a service reports by field.
PRODUCT_FIELD_COLUMNS = {
    "name": "product_name",
    "slug": "product_slug",
    "category_id": "category_slug",
    "brand_id": "brand_slug",
}
VARIANT_FIELD_COLUMNS = {"name": "variant_name", "is_active": "variant_is_active"}
# Refusals of product_create that concern the row's variant, not the product.
VARIANT_ERROR_CODES = {"sku_taken", "duplicate_sku", "duplicate_variant"}
VARIANT_PARSERS = {
    "variant_name": ("name", lambda raw, name: raw.strip()),
    "price": ("price", _money),
    "compare_at_price": ("compare_at_price", _money),
    "low_stock_threshold": ("low_stock_threshold", _int),
    "variant_is_active": ("is_active", _bool),
    "is_default": ("is_default", _bool),
    "position": ("position", lambda raw, name: _int(raw, name, minimum=-1_000_000)),
}


def _row_errors(exc: ApiError, columns: dict[str, str], default: str) -> RowInvalid:
    """A service's refusal as the row's errors, named by the CSV's columns."""
    errors = []
    for error in exc.details.get("errors", []):
        name = error["field"].split(".")[-1] if "." in error["field"] else error["field"]
        if error["field"].startswith("attributes."):
            name = f"{ATTR_PREFIX}{name}"
        elif error["field"].startswith("variants."):
            name = VARIANT_FIELD_COLUMNS.get(name, name)
        else:
            name = columns.get(name, name)
        errors.append((name or default, error["message"]))
    return RowInvalid(errors or [(default, exc.message)])


class _Importer:
    """Reads rows into the catalog services' arguments: products through product_create /
    product_update, variants through variant_create / variant_update, stock through
    stock_adjust (reason import), so an import keeps every rule the API and the admin keep."""

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
                product, created, rows = self.product(first, rows)
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

    def product_fields(self, row: dict[str, str], *, new: bool) -> dict[str, Any]:
        """The product's service arguments from its first row: a blank cell keeps the value
        (brand_slug blank: no brand)."""
        errors, fields = [], {}
        if new:
            for name in ("product_name", "category_slug", "base_price"):
                if not row.get(name, "").strip():
                    errors.append((name, "Required for a new product."))
            if errors:
                raise RowInvalid(errors)
        if row.get("product_name", "").strip():
            fields["name"] = row["product_name"].strip()
        if row.get("description", "").strip():
            fields["description"] = row["description"]
        if row.get("category_slug", "").strip():
            category = self.categories.get(row["category_slug"].strip())
            if category is None:
                errors.append(("category_slug", f"No category {row['category_slug']!r}."))
            else:
                fields["category_id"] = category.pk
        if "brand_slug" in row:
            brand_slug = row["brand_slug"].strip()
            if brand_slug and brand_slug not in self.brands:
                errors.append(("brand_slug", f"No brand {brand_slug!r}."))
            else:
                fields["brand_id"] = self.brands[brand_slug].pk if brand_slug else None
        for name, parse in (("base_price", _money), ("is_active", _bool), ("is_featured", _bool)):
            if row.get(name, "").strip():
                try:
                    fields[name] = parse(row[name], name)
                except RowInvalid as exc:
                    errors += exc.errors
        if errors:
            raise RowInvalid(errors)
        return fields

    def attributes(self, row: dict[str, str], category_id: int, *, variant_level: bool):
        """The row's attr: cells of one level, {code: value}, checked as the services check
        them (products.attributes.validate_values). A code the category does not have is
        reported with the variant's cells, on every row."""
        definitions = self.definitions(self.category(category_id))
        values = {}
        for name, value in row.items():
            if not name.startswith(ATTR_PREFIX) or value is None or not value.strip():
                continue
            code = name[len(ATTR_PREFIX) :]
            definition = definitions.get(code)
            level = definition.is_variant_attribute if definition else True
            if level == variant_level:
                values[code] = value.strip()
        try:
            validate_values(definitions, values, variant_level=variant_level)
        except ApiError as exc:
            raise _row_errors(exc, {}, "") from None
        return values

    def category(self, category_id: int) -> Category:
        return next(c for c in self.categories.values() if c.pk == category_id)

    def product(self, first: dict[str, str], rows: list) -> tuple[Product, bool, list]:
        """The product of the group, created with its first valid variant when new; the
        rows that remain to be read as variants."""
        slug = first["product_slug"].strip()
        product = Product.objects.select_for_update().filter(slug=slug).first()
        fields = self.product_fields(first, new=product is None)
        if product is not None:
            category_id = fields.get("category_id", product.category_id)
            fields["attributes"] = self.attributes(first, category_id, variant_level=False)
            try:
                services.product_update(product_id=product.pk, actor=self.actor, **fields)
            except ApiError as exc:
                raise _row_errors(exc, PRODUCT_FIELD_COLUMNS, "product_slug") from None
            return product, False, rows
        attributes = self.attributes(first, fields["category_id"], variant_level=False)
        # Every product keeps a variant: a new one is created with the first row that makes a
        # valid variant, and the rows before it report why they do not.
        for index, (line, row) in enumerate(rows):
            try:
                with transaction.atomic():
                    spec, stock = self.variant_spec(row, fields["category_id"], new=True)
                    product = services.product_create(
                        slug=slug,
                        attributes=attributes,
                        variants=[spec],
                        actor=self.actor,
                        **fields,
                    )
                    self.stock(product.variants.get(), stock)
            except RowInvalid as exc:
                for name, message in exc.errors:
                    self.error(line, name, message)
                continue
            except ApiError as exc:
                fields = [e["field"] for e in exc.details.get("errors", [])]
                if exc.code in VARIANT_ERROR_CODES or (
                    fields and all(f.startswith("variants.") for f in fields)
                ):
                    for name, message in _row_errors(exc, {}, "sku").errors:
                        self.error(line, name, message)
                    continue
                # the product itself is refused
                raise _row_errors(exc, PRODUCT_FIELD_COLUMNS, "product_slug") from None
            self.report.variants_created += 1
            return product, True, rows[index + 1 :]
        raise RowInvalid([("product_slug", "No valid variant: the product is not imported.")])

    def variant_spec(self, row: dict[str, str], category_id: int, *, new: bool):
        """(variant service arguments, stock to set or None) from a row."""
        errors, spec = [], {}
        for column, (attribute, parse) in VARIANT_PARSERS.items():
            if column not in row:
                continue
            raw = row[column]
            if not raw.strip():
                if column in {"price", "compare_at_price"}:
                    spec[attribute] = None  # blank: the base price / none
                continue
            try:
                spec[attribute] = parse(raw, column)
            except RowInvalid as exc:
                errors += exc.errors
        if spec.get("is_default") is False:
            # A variant stops being the default only when another becomes it.
            del spec["is_default"]
        stock = None
        if row.get("stock_quantity", "").strip():
            try:
                stock = _int(row["stock_quantity"], "stock_quantity")
            except RowInvalid as exc:
                errors += exc.errors
        try:
            spec["attributes"] = self.attributes(row, category_id, variant_level=True)
        except RowInvalid as exc:  # reported together with the field errors of the row
            errors += exc.errors
        if new:
            spec["sku"] = row["sku"].strip().upper()
            if not spec["sku"]:
                errors.insert(0, ("sku", "Required."))
            elif Variant.objects.filter(sku=spec["sku"]).exists():
                errors.insert(0, ("sku", f"{spec['sku']} belongs to another product."))
        if errors:
            raise RowInvalid(errors)
        return spec, stock

    def variant(self, product: Product, row: dict[str, str]) -> None:
        sku = row["sku"].strip().upper()
        if not sku:
            raise RowInvalid([("sku", "Required.")])
        variant = Variant.objects.filter(sku=sku).first()
        if variant is not None and variant.product_id != product.pk:
            raise RowInvalid([("sku", f"{sku} belongs to another product.")])
        product.refresh_from_db(fields=["category"])
        spec, stock = self.variant_spec(row, product.category_id, new=variant is None)
        try:
            if variant is None:
                variant = services.variant_create(product_id=product.pk, actor=self.actor, **spec)
                self.report.variants_created += 1
            else:
                variant = services.variant_update(variant_id=variant.pk, **spec)
                self.report.variants_updated += 1
        except ApiError as exc:
            raise _row_errors(exc, VARIANT_FIELD_COLUMNS, "sku") from None
        self.stock(variant, stock)

    def stock(self, variant: Variant, stock: int | None) -> None:
        if stock is not None and stock != variant.stock_quantity:
            services.stock_adjust(
                variant_id=variant.pk,
                quantity=stock,
                reason=StockReason.IMPORT,
                actor=self.actor,
                reference=self.reference,
            )
            self.report.stock_changes += 1


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
        with transaction.atomic(), services.products_changes_batched():
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
            report.applied = True
    except _Rollback:
        report.applied = False
    report.errors.sort(key=lambda e: e.line)
    return report
