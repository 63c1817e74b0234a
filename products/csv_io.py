"""CSV import and export of products with their variants, one row per variant.

Columns: product_slug, product_name, description, category_slug, brand_slug, base_price,
is_active, is_featured, sku, variant_name, price, compare_at_price, stock_quantity,
low_stock_threshold, variant_is_active, is_default, position, then one `attr:<code>` column per
attribute code (product attributes repeat on each row of their product). An export imports back
into the catalog it came from changing nothing; images are not part of the file.

Import matches products by slug and variants by SKU, creating what is missing and never deleting
(docs/architecture.md §8, "The CSV importer reads rows into the services"):

1. The file is read whole: a header with an unknown column is refused before any row; a row
   without a product slug, with more cells than columns, or repeating a SKU is reported.
2. Rows are grouped by product, and the products cut into batches of
   CATALOG_IMPORT_BATCH_PRODUCTS in file order. Each batch is one short transaction that locks
   its products' variants, then the products, each in primary-key order, and reads them under
   the locks: a checkout locks variants in that order and then, through its order lines'
   foreign keys, their products, so an import and a checkout never wait for each other in a
   circle.
3. Each row is compared with the catalog. An unchanged row calls no service and writes nothing
   (counted, not listed); a changed one goes through the services (product_create /
   product_update, variant_create / variant_update) in a savepoint of its own, so an import
   keeps every rule the API and the admin keep.
4. Stock is left alone unless asked: with stock="ignore" (the default) stock_quantity is not
   read, so a file exported an hour ago cannot undo the sales since; "set" makes the cell the
   level and "delta" adds it (a signed number), through stock_adjust_many (reason import).
5. Modes: "valid" commits each batch's valid rows and reports the others. "atomic" first runs
   every batch as a dry run and applies only a file without errors, batch by batch; a row that
   fails only then (the catalog changed in between) rolls its batch back and stops the import
   there, the batches before it applied (report.stopped_at). A dry run rolls every batch back.

A blank cell keeps the current value, except where blank is a value of its own: price (the base
price), compare_at_price and brand_slug (none), and attr:* cells (no value). An attribute code
without a column in the file keeps its values.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.conf import settings
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
from products.services import StockChange

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
STOCK_MODES = ("ignore", "set", "delta")
# What a batch does: read and roll back (a dry run, atomic mode's check), or commit.
VALIDATING, APPLYING = "validating", "applying"
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
    """What an import did (or, in a dry run, would do). `results` lists the rows that changed
    something or failed, one dict each (line, sku, status created / updated / error, errors);
    unchanged rows are only counted."""

    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    stock_changes: int = 0
    rows_unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    results: list[dict[str, Any]] = field(default_factory=list)
    applied: bool = False
    dry_run: bool = False
    mode: str = "atomic"
    stock: str = "ignore"
    stage: str = ""  # the last pass run: VALIDATING, or APPLYING once batches commit
    stopped_at: int | None = None

    @property
    def rows_failed(self) -> int:
        return len({error.line for error in self.errors})

    def summary(self, rows_failed: int | None = None) -> str:
        verb = (
            "would change" if self.dry_run else ("changed" if self.applied else "changed nothing")
        )
        failed = self.rows_failed if rows_failed is None else rows_failed
        text = (
            f"{self.rows} rows, {failed} with errors; {verb}: "
            f"{self.products_created} products created, {self.products_updated} updated, "
            f"{self.variants_created} variants created, {self.variants_updated} updated, "
            f"{self.stock_changes} stock changes"
        )
        if self.rows_unchanged:
            text += f"; {self.rows_unchanged} rows unchanged"
        if self.stopped_at is not None:
            text += f"; stopped at line {self.stopped_at}: it and the rows after it not imported"
        return text


@dataclass(frozen=True)
class BatchDone:
    """One batch of an import finished: what import_csv's on_batch receives. A committed batch
    calls it inside its transaction (what the callback writes commits with the batch, so a
    resumed import knows exactly which batches are in); a rolled-back one, after the rollback."""

    stage: str  # VALIDATING or APPLYING
    number: int  # batches of this stage done, skipped ones included
    batches: int
    rows_done: int
    results: list[dict[str, Any]]
    committed: bool


class RowInvalid(Exception):
    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors


class _Rollback(Exception):
    def __init__(self, results: list[dict[str, Any]] | None = None):
        self.results = results or []


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


def _changed(current: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """The fields whose value differs from `current`'s."""
    return {name: value for name, value in fields.items() if getattr(current, name) != value}


Group = tuple[str, list[tuple[int, dict[str, str]]]]  # a product slug and its (line, row)s


class _Importer:
    """Reads rows into the catalog services' arguments: products through product_create /
    product_update, variants through variant_create / variant_update, stock through
    stock_adjust_many (reason import), so an import keeps every rule the API and the admin keep.
    A row that would change nothing calls none of them."""

    def __init__(
        self, *, actor: Any, reference: str, report: ImportReport, stock: str, header: list[str]
    ):
        self.actor = actor
        self.reference = reference[:100]
        self.report = report
        self.stock_mode = stock
        self.attribute_codes = [n[len(ATTR_PREFIX) :] for n in header if n.startswith(ATTR_PREFIX)]
        self.categories = {c.pk: c for c in Category.objects.all()}
        self.category_slugs = {c.slug: c for c in self.categories.values()}
        self.brands = {b.slug: b for b in Brand.objects.all()}
        self.definitions_cache: dict[int, dict[str, AttributeDefinition]] = {}

    def definitions(self, category_id: int) -> dict[str, AttributeDefinition]:
        if category_id not in self.definitions_cache:
            category = self.categories[category_id]
            self.definitions_cache[category_id] = definitions_for_category(category)
        return self.definitions_cache[category_id]

    def error(self, line: int, name: str, message: str) -> None:
        self.report.errors.append(RowError(line, name, message))
        self.batch_errors.setdefault(line, []).append({"field": name, "message": message})

    # -- one batch: one transaction, opened by the caller ----------------------------------------
    def batch(self, groups: list[Group]) -> list[dict[str, Any]]:
        """Import the batch's products; the results of its rows that changed or failed (the
        unchanged ones are counted in the report)."""
        self.batch_errors: dict[int, list[dict[str, str]]] = {}
        self.outcomes: dict[int, str] = {}
        self.lock([slug for slug, _rows in groups], [row for _s, rows in groups for row in rows])
        for slug, rows in groups:
            self.group(slug, rows)
        results = []
        for _slug, rows in groups:
            for line, row in rows:
                sku = (row.get("sku") or "").strip().upper()
                if line in self.batch_errors:
                    results.append(
                        {
                            "line": line,
                            "sku": sku,
                            "status": "error",
                            "errors": self.batch_errors[line],
                        }
                    )
                elif line in self.outcomes:
                    results.append({"line": line, "sku": sku, "status": self.outcomes[line]})
                else:
                    self.report.rows_unchanged += 1
        return results

    def lock(self, slugs: list[str], rows: list[tuple[int, dict[str, str]]]) -> None:
        """Lock the batch's variants, then its products, each in primary-key order (the order a
        checkout takes them in), and read what the rows are compared with under the locks."""
        ids = list(Product.objects.filter(slug__in=slugs).values_list("pk", flat=True))
        self.variants = {
            variant.sku: variant
            for variant in Variant.objects.select_for_update(of=("self",))
            .filter(product_id__in=ids)
            .order_by("pk")
        }
        self.products = {
            product.slug: product
            for product in Product.objects.select_for_update(of=("self",))
            .filter(pk__in=ids)
            .order_by("pk")
        }
        self.product_values: dict[int, dict[str, str]] = defaultdict(dict)
        for pid, code, text in ProductAttributeValue.objects.filter(product_id__in=ids).values_list(
            "product_id", "definition__code", "value_text"
        ):
            self.product_values[pid][code] = text
        self.variant_values: dict[int, dict[str, str]] = defaultdict(dict)
        for vid, code, text in VariantAttributeValue.objects.filter(
            variant__product_id__in=ids
        ).values_list("variant_id", "definition__code", "value_text"):
            self.variant_values[vid][code] = text
        skus = {(row.get("sku") or "").strip().upper() for _line, row in rows} - set(self.variants)
        # SKUs of products outside the batch: refused, not locked.
        self.foreign = set(Variant.objects.filter(sku__in=skus).values_list("sku", flat=True))

    # -- one product: its first row carries the product fields; every row is one variant ----------
    def group(self, slug: str, rows: list[tuple[int, dict[str, str]]]) -> None:
        counters = _counters(self.report)
        try:
            with transaction.atomic():
                self.product_group(slug, rows)
        except (RowInvalid, ApiError) as exc:  # the whole product was rolled back
            _restore(self.report, counters)
            first_line = rows[0][0]
            errors = exc.errors if isinstance(exc, RowInvalid) else [("", exc.message)]
            for name, message in errors:
                self.error(first_line, name, message)
            for line, _row in rows[1:]:
                self.outcomes.pop(line, None)
                self.error(line, "product_slug", f"Not imported: line {first_line} failed.")
            self.outcomes.pop(first_line, None)

    def product_group(self, slug: str, rows: list[tuple[int, dict[str, str]]]) -> None:
        first_line, first = rows[0]
        try:
            product, rows = self.product(slug, rows)
        except RowInvalid as exc:
            for name, message in exc.errors:
                self.error(first_line, name, message)
            for line, _row in rows[1:]:
                self.error(line, "product_slug", "Skipped: the product's first row is invalid.")
            return
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
                self.variant(product, line, row)
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
            category = self.category_slugs.get(row["category_slug"].strip())
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

    def attributes(
        self,
        row: dict[str, str],
        category_id: int,
        *,
        variant_level: bool,
        current: dict[str, str],
    ) -> tuple[dict[str, str], dict[str, str]]:
        """(the values to give the service, their canonical text by code) of one level: the
        row's attr: cells, and the current values of codes the file has no column for,
        checked as the services check them (products.attributes.validate_values). A code the
        category does not have is reported with the variant's cells, on every row."""
        definitions = self.definitions(category_id)
        values = {code: text for code, text in current.items() if code not in self.attribute_codes}
        for code in self.attribute_codes:
            value = row.get(f"{ATTR_PREFIX}{code}")
            if value is None or not value.strip():
                continue
            definition = definitions.get(code)
            level = definition.is_variant_attribute if definition else True
            if level == variant_level:
                values[code] = value.strip()
        try:
            checked = validate_values(definitions, values, variant_level=variant_level)
        except ApiError as exc:
            raise _row_errors(exc, {}, "") from None
        return values, {definition.code: text for definition, (text, _n, _b) in checked}

    def product(self, slug: str, rows: list) -> tuple[Product, list]:
        """The product of the group, updated if its first row changes it, or created with its
        first valid variant when new; the rows that remain to be read as variants."""
        first_line, first = rows[0]
        product = self.products.get(slug)
        fields = self.product_fields(first, new=product is None)
        if product is not None:
            category_id = fields.get("category_id", product.category_id)
            current = self.product_values[product.pk]
            values, texts = self.attributes(
                first, category_id, variant_level=False, current=current
            )
            changes = _changed(product, fields)
            if texts != current:
                changes["attributes"] = values
            if changes:
                try:
                    product = services.product_update(
                        product_id=product.pk, actor=self.actor, **changes
                    )
                except ApiError as exc:
                    raise _row_errors(exc, PRODUCT_FIELD_COLUMNS, "product_slug") from None
                self.products[slug] = product
                self.report.products_updated += 1
                self.outcomes[first_line] = "updated"
            return product, rows
        attributes, _texts = self.attributes(
            first, fields["category_id"], variant_level=False, current={}
        )
        # Every product keeps a variant: a new one is created with the first row that makes a
        # valid variant, and the rows before it report why they do not.
        for index, (line, row) in enumerate(rows):
            try:
                sku = self.new_sku(row)
                spec, _texts, stock = self.variant_spec(
                    row, fields["category_id"], current=None, level=0
                )
                with transaction.atomic():  # the product, its variant and its stock
                    product = services.product_create(
                        slug=slug,
                        attributes=attributes,
                        variants=[{**spec, "sku": sku}],
                        actor=self.actor,
                        **fields,
                    )
                    variant = product.variants.get()
                    self.stock(variant, stock)
            except RowInvalid as exc:
                for name, message in exc.errors:
                    self.error(line, name, message)
                continue
            except ApiError as exc:
                names = [e["field"] for e in exc.details.get("errors", [])]
                if exc.code in VARIANT_ERROR_CODES or (
                    names and all(f.startswith("variants.") for f in names)
                ):
                    for name, message in _row_errors(exc, {}, "sku").errors:
                        self.error(line, name, message)
                    continue
                # the product itself is refused
                raise _row_errors(exc, PRODUCT_FIELD_COLUMNS, "product_slug") from None
            self.products[slug] = product
            self.variants[variant.sku] = variant
            self.report.products_created += 1
            self.report.variants_created += 1
            self.report.stock_changes += stock is not None
            self.outcomes[line] = "created"
            return product, rows[index + 1 :]
        raise RowInvalid([("product_slug", "No valid variant: the product is not imported.")])

    def new_sku(self, row: dict[str, str]) -> str:
        sku = row["sku"].strip().upper()
        if not sku:
            raise RowInvalid([("sku", "Required.")])
        if sku in self.foreign or sku in self.variants:
            raise RowInvalid([("sku", f"{sku} belongs to another product.")])
        return sku

    def variant_spec(
        self, row: dict[str, str], category_id: int, *, current: Variant | None, level: int
    ) -> tuple[dict[str, Any], dict[str, str], StockChange | None]:
        """(variant service arguments, their attributes' canonical text, the stock change or
        None) from a row; every error of the row at once. `level`: the stock now."""
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
        try:
            stock = self.stock_change(row, current.pk if current else 0, level)
        except RowInvalid as exc:
            errors += exc.errors
        texts: dict[str, str] = {}
        try:
            values = self.variant_values[current.pk] if current else {}
            spec["attributes"], texts = self.attributes(
                row, category_id, variant_level=True, current=values
            )
        except RowInvalid as exc:  # reported together with the field errors of the row
            errors += exc.errors
        if errors:
            raise RowInvalid(errors)
        return spec, texts, stock

    def stock_change(self, row: dict[str, str], variant_id: int, level: int) -> StockChange | None:
        """The row's stock change under the import's stock option, None for none (variant_id 0
        for a variant still to be created). "ignore" does not read the cell at all."""
        raw = row.get("stock_quantity", "")
        if self.stock_mode == "ignore" or not raw.strip():
            return None
        if self.stock_mode == "set":
            quantity = _int(raw, "stock_quantity")
            return StockChange(variant_id, quantity=quantity) if quantity != level else None
        delta = _int(raw.strip().removeprefix("+"), "stock_quantity", minimum=-1_000_000_000)
        if level + delta < 0:
            raise RowInvalid(
                [("stock_quantity", f"Stock would go below zero ({level} {delta:+d}).")]
            )
        return StockChange(variant_id, delta=delta) if delta else None

    def variant(self, product: Product, line: int, row: dict[str, str]) -> None:
        sku = row["sku"].strip().upper()
        if not sku:
            raise RowInvalid([("sku", "Required.")])
        variant = self.variants.get(sku)
        if sku in self.foreign or (variant is not None and variant.product_id != product.pk):
            raise RowInvalid([("sku", f"{sku} belongs to another product.")])
        level = variant.stock_quantity if variant else 0
        spec, texts, stock = self.variant_spec(
            row, product.category_id, current=variant, level=level
        )
        if variant is not None:
            changes = _changed(variant, {k: v for k, v in spec.items() if k != "attributes"})
            if texts != self.variant_values[variant.pk]:
                changes["attributes"] = spec["attributes"]
            if not changes and stock is None:
                return  # unchanged: no service call, no savepoint
        created, updated = variant is None, variant is not None and bool(changes)
        try:
            with transaction.atomic():  # the variant and its stock, or neither
                if created:
                    variant = services.variant_create(
                        product_id=product.pk, actor=self.actor, sku=sku, **spec
                    )
                elif updated:
                    variant = services.variant_update(variant_id=variant.pk, **changes)
                self.stock(variant, stock)
        except ApiError as exc:
            raise _row_errors(exc, VARIANT_FIELD_COLUMNS, "sku") from None
        self.report.variants_created += created
        self.report.variants_updated += updated
        self.report.stock_changes += stock is not None
        self.outcomes[line] = "created" if created else "updated"
        if variant.is_default:  # the flag left the product's other variants
            for other in self.variants.values():
                if other.product_id == product.pk and other.pk != variant.pk:
                    other.is_default = False
        self.variants[sku] = variant

    def stock(self, variant: Variant, change: StockChange | None) -> None:
        """Apply the row's stock change through the ledger (the variant is locked already)."""
        if change is None:
            return
        change = StockChange(variant.pk, delta=change.delta, quantity=change.quantity)
        try:
            services.stock_adjust_many(
                changes=[change],
                reason=StockReason.IMPORT,
                actor=self.actor,
                reference=self.reference,
            )
        except ApiError as exc:
            raise RowInvalid([("stock_quantity", exc.message)]) from None


COUNTERS = (
    "products_created",
    "products_updated",
    "variants_created",
    "variants_updated",
    "stock_changes",
    "rows_unchanged",
)


def _counters(report: ImportReport) -> tuple[int, ...]:
    return tuple(getattr(report, name) for name in COUNTERS)


def _restore(report: ImportReport, counters: tuple[int, ...]) -> None:
    for name, value in zip(COUNTERS, counters, strict=True):
        setattr(report, name, value)


def _read(source: IO[str], report: ImportReport) -> tuple[list[str], list[Group]] | None:
    """The header and the rows grouped by product slug (file order); None when the header is
    refused. Rows that cannot be read are reported."""
    reader = csv.DictReader(source)
    header = reader.fieldnames or []
    unknown = [n for n in header if n not in COLUMNS and not n.startswith(ATTR_PREFIX)]
    missing = sorted(REQUIRED_COLUMNS - set(header))
    if unknown or missing:
        for name in unknown:
            report.errors.append(RowError(1, name, "Unknown column."))
        for name in missing:
            report.errors.append(RowError(1, name, "Missing column."))
        report.results.append(
            {
                "line": 1,
                "sku": "",
                "status": "error",
                "errors": [{"field": e.field, "message": e.message} for e in report.errors],
            }
        )
        return None
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    seen: dict[str, int] = {}
    for row in reader:
        report.rows += 1
        line = reader.line_num
        sku = (row.get("sku") or "").strip().upper()
        if None in row:  # more cells than the header names
            problem = ("", "More cells than columns.")
        elif not (row.get("product_slug") or "").strip():
            problem = ("product_slug", "Required.")
        elif sku and sku in seen:
            problem = ("sku", f"{sku} is on line {seen[sku]} too.")
        else:
            if sku:
                seen[sku] = line
            groups.setdefault(row["product_slug"].strip(), []).append((line, row))
            continue
        report.errors.append(RowError(line, *problem))
        error = {"field": problem[0], "message": problem[1]}
        report.results.append({"line": line, "sku": sku, "status": "error", "errors": [error]})
    return header, list(groups.items())


def _batches(groups: list[Group], size: int) -> list[list[Group]]:
    """The product groups in batches of `size`, in file order: the file alone decides them, so
    an import resumed after its k-th committed batch skips exactly what committed."""
    return [groups[start : start + size] for start in range(0, len(groups), size)]


def _rows_in(batch: list[Group]) -> int:
    return sum(len(rows) for _slug, rows in batch)


def import_csv(
    source: IO[str],
    *,
    dry_run: bool = False,
    mode: str = "atomic",
    stock: str = "ignore",
    actor: Any = None,
    reference: str = "csv import",
    progress: bool = False,
    on_batch: Callable[[ImportReport, BatchDone], None] | None = None,
    skip_batches: int = 0,
    checked: bool = False,
) -> ImportReport:
    """Import products and variants from CSV text; see the module docstring. Each batch is its
    own transaction: call it outside one (inside one, the batches are savepoints and the caller
    holds every lock to its end).

    on_batch: called as each batch ends (BatchDone). skip_batches, checked: resume an import
    whose first `skip_batches` batches committed (and, in atomic mode, whose check passed).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    if stock not in STOCK_MODES:
        raise ValueError(f"stock must be one of {STOCK_MODES}")
    report = ImportReport(dry_run=dry_run, mode=mode, stock=stock)
    read = _read(source, report)
    if read is None:
        return report
    header, groups = read
    batches = _batches(groups, settings.CATALOG_IMPORT_BATCH_PRODUCTS)
    run = {
        "batches": batches,
        "header": header,
        "actor": actor,
        "reference": reference,
        "report": report,
        "progress": progress,
        "on_batch": on_batch,
    }
    if dry_run:
        _run(**run, stage=VALIDATING, label="import")
    elif mode == "valid":
        _run(**run, stage=APPLYING, label="import", skip=skip_batches)
    else:
        if not checked:
            _run(**run, stage=VALIDATING, label="check")
            if report.errors:
                report.errors.sort(key=lambda e: e.line)
                return report
            _restore(report, (0,) * len(COUNTERS))
            report.results = []
        _run(**run, stage=APPLYING, label="import", skip=skip_batches, stop_on_error=True)
    report.errors.sort(key=lambda e: e.line)
    report.results.sort(key=lambda r: r["line"])
    return report


def _run(
    *,
    batches: list[list[Group]],
    header: list[str],
    actor: Any,
    reference: str,
    report: ImportReport,
    progress: bool,
    on_batch: Callable[[ImportReport, BatchDone], None] | None,
    stage: str,
    label: str,
    skip: int = 0,
    stop_on_error: bool = False,
) -> None:
    """One pass over the batches: each in a transaction of its own, committed (APPLYING) or
    rolled back (VALIDATING)."""
    report.stage = stage
    importer = _Importer(
        actor=actor, reference=reference, report=report, stock=report.stock, header=header
    )
    rows_done = sum(_rows_in(batch) for batch in batches[:skip])
    bar = tqdm(total=report.rows, unit="row", disable=not progress, desc=label)
    bar.update(rows_done)
    for number, batch in enumerate(batches[skip:], start=skip + 1):
        counters = _counters(report)
        rows_done += _rows_in(batch)
        try:
            with transaction.atomic(), services.products_changes_batched():
                results = importer.batch(batch)
                failed = any(result["status"] == "error" for result in results)
                if stage == VALIDATING or (stop_on_error and failed):
                    raise _Rollback(results)
                report.results += results
                report.applied = True
                if on_batch is not None:
                    on_batch(
                        report, BatchDone(stage, number, len(batches), rows_done, results, True)
                    )
        except _Rollback as rollback:
            if stage == APPLYING:  # atomic mode: a row failed after the check passed
                _restore(report, counters)
                report.results += [r for r in rollback.results if r["status"] == "error"]
                report.stopped_at = min(line for _slug, rows in batch for line, _row in rows)
                break
            report.results += rollback.results
            if on_batch is not None:
                on_batch(
                    report,
                    BatchDone(stage, number, len(batches), rows_done, rollback.results, False),
                )
        bar.update(_rows_in(batch))
    bar.close()
