"""Catalog: categories (a tree), brands, attribute definitions, products, variants, images,
typed attribute values, the stock ledger and reviews (docs/architecture.md §3).

Derived columns (Category.path/depth, Product.price_min/price_max/rating_*) are kept by the model
save or by products.services in the same transaction as the change that moves them.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import OpClass
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Substr, Upper
from django.utils import timezone

from products.attribute_values import AttributeType, fill_typed_value

ZERO = Decimal("0.00")
MONEY = {"max_digits": 12, "decimal_places": 2}

attribute_code_validator = RegexValidator(
    r"^[a-z][a-z0-9_]{0,49}$",
    "Use 1-50 lower-case letters, digits or underscores, starting with a letter.",
)
sku_validator = RegexValidator(
    r"^[A-Z0-9][A-Z0-9._-]{0,63}$",
    "Use 1-64 upper-case letters, digits, dots, dashes or underscores.",
)


class TimeStamped(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Category(TimeStamped):
    """A node of the category tree. `path` holds the ids from the root ("/1/4/9/"), so a
    subtree is one indexed prefix match and the ancestors are the ids in it."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    position = models.IntegerField(default=0, help_text="Order among siblings (lowest first).")
    path = models.CharField(max_length=255, editable=False, default="")
    depth = models.PositiveSmallIntegerField(editable=False, default=0)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="category_not_own_parent"),
        ]
        indexes = [
            models.Index(OpClass("path", name="varchar_pattern_ops"), name="category_path_like"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """Keep path/depth right, for this node and (on a move) for its whole subtree."""
        if self.pk is None:
            super().save(*args, **kwargs)
            kwargs = {}  # the second write is an update of the row just inserted
        old_path, old_depth = self.path, self.depth
        parent_path = (
            Category.objects.values_list("path", flat=True).get(pk=self.parent_id)
            if self.parent_id
            else "/"
        )
        self.path = f"{parent_path}{self.pk}/"
        self.depth = self.path.count("/") - 2
        super().save(*args, **kwargs)
        if old_path and old_path != self.path:
            Category.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                path=Concat(Value(self.path), Substr("path", len(old_path) + 1)),
                depth=F("depth") + (self.depth - old_depth),
            )

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part][:-1]

    def clean(self) -> None:
        if self.parent_id and self.pk:
            parent = self.parent
            if parent.pk == self.pk or (self.path and parent.path.startswith(self.path)):
                raise ValidationError({"parent": "A category cannot move under itself."})
        # A move takes the subtree along: its deepest node must stay within the 10 levels too
        # (unbounded, the stored path would pass its 255 characters).
        below = 0
        if self.parent_id and self.pk and self.path:
            deepest = Category.objects.filter(path__startswith=self.path).aggregate(
                deepest=models.Max("depth")
            )["deepest"]
            below = (deepest or self.depth) - self.depth
        if self.parent_id and self.parent.depth + 1 + below > 9:
            raise ValidationError({"parent": "Categories nest at most 10 levels deep."})


class Brand(TimeStamped):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    description = models.TextField(blank=True)
    logo = models.ImageField(upload_to="brands/", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AttributeDefinition(TimeStamped):
    """A typed attribute for a category and its subcategories (global when category is empty)."""

    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="attribute_definitions",
        help_text="Applies to this category and every category under it; empty: everywhere.",
    )
    code = models.CharField(max_length=50, validators=[attribute_code_validator])
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=10, choices=AttributeType.choices)
    choices = ArrayField(models.CharField(max_length=100), blank=True, default=list)
    unit = models.CharField(max_length=20, blank=True)
    is_variant_attribute = models.BooleanField(
        default=False, help_text="Set per variant (size, color) rather than per product."
    )
    is_filterable = models.BooleanField(default=True)
    is_required = models.BooleanField(default=False)
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "code"],
                nulls_distinct=False,
                name="attribute_definition_unique_code_per_category",
            ),
            models.CheckConstraint(
                condition=Q(type=AttributeType.CHOICE) | Q(choices=[]),
                name="attribute_definition_choices_only_for_choice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        if self.type == AttributeType.CHOICE:
            cleaned = [c.strip() for c in self.choices if c and c.strip()]
            if not cleaned:
                raise ValidationError({"choices": "A choice attribute needs at least one choice."})
            if len({c.casefold() for c in cleaned}) != len(cleaned):
                raise ValidationError({"choices": "Choices must be unique."})
            self.choices = cleaned
        elif self.choices:
            raise ValidationError({"choices": "Only choice attributes have choices."})
        # One code means one thing for any product: no clash up or down the tree.
        clashes = AttributeDefinition.objects.filter(code=self.code).exclude(pk=self.pk)
        if self.category_id is None:
            clash = clashes.exists()
        else:
            path = Category.objects.values_list("path", flat=True).get(pk=self.category_id)
            ancestors = [int(p) for p in path.strip("/").split("/") if p]
            clash = clashes.filter(
                Q(category__isnull=True)
                | Q(category_id__in=ancestors)
                | Q(category__path__startswith=path)
            ).exists()
        if clash:
            raise ValidationError(
                {"code": "This code is already defined for this category, above or below it."}
            )


class Product(TimeStamped):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    base_price = models.DecimalField(**MONEY, validators=[MinValueValidator(ZERO)])
    is_active = models.BooleanField(default=True)
    is_featured = models.BooleanField(default=False)
    # Denormalised for filters and sorts; kept by products.services in the writing transaction.
    price_min = models.DecimalField(**MONEY, null=True, editable=False)
    price_max = models.DecimalField(**MONEY, null=True, editable=False)
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, default=ZERO, editable=False)
    rating_count = models.PositiveIntegerField(default=0, editable=False)
    sales_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(base_price__gte=0), name="product_base_price_gte_0"),
            models.CheckConstraint(
                condition=Q(price_min__gte=0) & Q(price_max__gte=F("price_min"))
                | Q(price_min__isnull=True),
                name="product_price_range_valid",
            ),
            models.CheckConstraint(
                condition=Q(rating_avg__gte=0, rating_avg__lte=5), name="product_rating_avg_0_5"
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="product_newest"),
            models.Index(fields=["price_min", "id"], name="product_price"),
            # Read backwards for the -price sort (price_min DESC NULLS LAST, id DESC).
            models.Index(
                F("price_min").asc(nulls_first=True),
                F("id").asc(),
                name="product_price_nulls_first",
            ),
            models.Index(fields=["-sales_count", "-id"], name="product_popularity"),
            models.Index(fields=["-rating_avg", "-rating_count", "-id"], name="product_rating"),
            models.Index(fields=["name", "id"], name="product_name"),
            # Counting a list page: an index-only scan instead of reading the wide rows.
            models.Index(
                fields=["category", "id"],
                condition=Q(is_active=True),
                name="product_active_category",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# The most units a variant's stock can hold: stock_quantity is a PostgreSQL integer. Every stock
# change checks it before the write (products.services.stock), so passing it is a 422, not a 500.
STOCK_MAX = 2_147_483_647


class Variant(TimeStamped):
    """What is sold: price and stock always live here. A product with no options has exactly
    one variant, its default one."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True, validators=[sku_validator])
    name = models.CharField(max_length=200, blank=True)
    price = models.DecimalField(
        **MONEY,
        null=True,
        blank=True,
        validators=[MinValueValidator(ZERO)],
        help_text="Empty: the product's base price.",
    )
    compare_at_price = models.DecimalField(
        **MONEY, null=True, blank=True, validators=[MinValueValidator(ZERO)]
    )
    # Changed only through products.services.stock_* (or a conditional update): the ledger holds.
    stock_quantity = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    low_stock_threshold = models.PositiveIntegerField(default=5)
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    position = models.IntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock_quantity__gte=0), name="variant_stock_quantity_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(price__gte=0) | Q(price__isnull=True), name="variant_price_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(compare_at_price__gte=0) | Q(compare_at_price__isnull=True),
                name="variant_compare_at_price_gte_0",
            ),
            models.CheckConstraint(condition=Q(sku=Upper("sku")), name="variant_sku_upper"),
            models.UniqueConstraint(
                fields=["product"],
                condition=Q(is_default=True),
                name="variant_one_default_per_product",
            ),
        ]
        indexes = [models.Index(fields=["product", "position", "id"], name="variant_product")]

    def __str__(self) -> str:
        return self.sku

    def save(self, *args, **kwargs) -> None:
        self.sku = (self.sku or "").strip().upper()
        super().save(*args, **kwargs)

    @property
    def effective_price(self) -> Decimal:
        return self.price if self.price is not None else self.product.base_price

    @property
    def in_stock(self) -> bool:
        return self.is_active and self.stock_quantity > 0


class ActiveProductCount(models.Model):
    """A count of active products per row it belongs to, kept by PostgreSQL triggers on the
    product table (products/migrations/_counters.py, docs/architecture.md §8): no Python code
    writes it. A row that never had an active product may have no counter row."""

    active_products = models.IntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.pk.name} {self.pk}: {self.active_products} active products"


class CategoryCount(ActiveProductCount):
    """A category's own active products (not its subcategories'), for the product list's count:
    with no filter but categories, it adds these up over the visible categories instead of
    counting every product; and for the category tree's counts (migration 0005)."""

    category = models.OneToOneField(
        Category, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )


class BrandCount(ActiveProductCount):
    """A brand's active products, for the brand list's `product_count` (migration 0006)."""

    brand = models.OneToOneField(
        Brand, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )


class ProductStock(models.Model):
    """How many of a product's active variants are in stock, for the list's `in_stock` filter:
    counting them per request read every variant (docs/architecture.md §8).

    Kept by PostgreSQL triggers on the variant table (migration 0004), in the statement that
    moves a variant in or out of stock, whatever wrote it: the checkout, a stock adjustment, the
    admin, an import, the seed. No Python code writes it. A product none of whose variants was
    ever in stock may have no row: it counts as 0.
    """

    product = models.OneToOneField(
        Product, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    in_stock_variants = models.IntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["product"], condition=Q(in_stock_variants__gt=0), name="product_in_stock"
            )
        ]

    def __str__(self) -> str:
        return f"product {self.product_id}: {self.in_stock_variants} in stock"


class AttributeValue(models.Model):
    """A typed value against its definition. `value_key` is the lower-case canonical form that
    filters match (`?color=blue`, `?size=42`)."""

    definition = models.ForeignKey(AttributeDefinition, on_delete=models.PROTECT, related_name="+")
    value_text = models.CharField(max_length=255, blank=True)
    value_number = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    value_boolean = models.BooleanField(null=True, blank=True)
    value_key = models.CharField(max_length=255, editable=False)

    class Meta:
        abstract = True

    @property
    def display(self) -> str:
        return self.value_text

    def clean(self) -> None:
        if self.definition_id:
            fill_typed_value(self, self.definition, self.typed_value)

    @property
    def typed_value(self):
        t = self.definition.type
        if t == AttributeType.NUMBER:
            return self.value_number
        if t == AttributeType.BOOLEAN:
            return self.value_boolean
        return self.value_text


class ProductAttributeValue(AttributeValue):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="attribute_values")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "definition"], name="product_attribute_value_unique"
            )
        ]
        indexes = [models.Index(fields=["definition", "value_key"], name="pav_filter")]

    def __str__(self) -> str:
        return f"{self.definition.code}={self.value_key}"


class VariantAttributeValue(AttributeValue):
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="attribute_values")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "definition"], name="variant_attribute_value_unique"
            )
        ]
        indexes = [models.Index(fields=["definition", "value_key"], name="vav_filter")]

    def __str__(self) -> str:
        return f"{self.definition.code}={self.value_key}"


def product_image_path(instance: ProductImage, filename: str) -> str:
    # Never the client's file name: a fresh name with the extension of the verified format.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"products/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(
        upload_to=product_image_path, width_field="width", height_field="height", max_length=255
    )
    width = models.PositiveIntegerField(null=True, editable=False)
    height = models.PositiveIntegerField(null=True, editable=False)
    alt = models.CharField(max_length=200, blank=True)
    position = models.IntegerField(default=0, help_text="The lowest is the primary image.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["product", "position", "id"], name="image_product")]

    def __str__(self) -> str:
        return self.alt or self.image.name


class StockReason(models.TextChoices):
    SALE = "sale", "Sale"
    CANCELLATION = "cancellation", "Order cancelled"
    RETURN = "return", "Return"
    ADJUSTMENT = "adjustment", "Manual adjustment"
    IMPORT = "import", "Import"


class StockMovement(models.Model):
    """One line of the stock ledger: every change of a variant's stock_quantity writes one."""

    variant = models.ForeignKey(
        Variant, null=True, on_delete=models.SET_NULL, related_name="stock_movements"
    )
    sku = models.CharField(max_length=64, help_text="Kept when the variant is deleted.")
    quantity_delta = models.IntegerField()
    quantity_after = models.IntegerField()
    reason = models.CharField(max_length=20, choices=StockReason.choices)
    reference = models.CharField(
        max_length=100, blank=True, help_text="Order number, adjustment id, import file..."
    )
    note = models.CharField(max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("adjust_stock", "Can adjust stock levels")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(quantity_delta=0), name="stock_movement_delta_not_0"
            ),
            models.CheckConstraint(
                condition=Q(quantity_after__gte=0), name="stock_movement_after_gte_0"
            ),
        ]
        indexes = [
            models.Index(fields=["variant", "-created_at"], name="stock_movement_variant"),
            models.Index(fields=["reference"], name="stock_movement_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.quantity_delta:+d} ({self.reason})"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PUBLISHED = "published", "Published"
    REJECTED = "rejected", "Rejected"


class Review(TimeStamped):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True, max_length=5000)
    is_verified_purchase = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    moderated_at = models.DateTimeField(null=True, blank=True, editable=False)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "user"], name="review_one_per_user"),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_5"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "status", "-created_at"], name="review_product"),
            models.Index(fields=["status", "-created_at"], name="review_status"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 by {self.user_id} on {self.product_id}"


class CatalogImport(models.Model):
    """A staff CSV of products and variants, applied by the catalog.import task with progress and
    per-row results (products/imports.py). One that is queued, running, or changed the catalog
    is not taken again with the same stock option; one that failed or changed nothing is."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Stage(models.TextChoices):
        VALIDATING = "validating", "Checking every row"
        APPLYING = "applying", "Applying"

    # products.csv_io.MODES and STOCK_MODES, with what the admin shows.
    MODES = [("atomic", "All rows or none"), ("valid", "The valid rows")]
    STOCK = [
        ("ignore", "Left alone"),
        ("set", "Set to the file's quantity"),
        ("delta", "The file's number added"),
    ]

    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    content = models.TextField(help_text="The CSV as uploaded (UTF-8).")
    mode = models.CharField(max_length=10, choices=MODES, default="atomic")
    stock = models.CharField(max_length=10, choices=STOCK, default="ignore")
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stage = models.CharField(max_length=12, choices=Stage.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0, help_text="Of the current stage.")
    batches_done = models.PositiveIntegerField(default=0, help_text="Committed batches.")
    rows_failed = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    products_created = models.PositiveIntegerField(default=0)
    products_updated = models.PositiveIntegerField(default=0)
    variants_created = models.PositiveIntegerField(default=0)
    variants_updated = models.PositiveIntegerField(default=0)
    stock_changes = models.PositiveIntegerField(default=0)
    applied = models.BooleanField(default=False, help_text="Some row changed the catalog.")
    stopped_at = models.PositiveIntegerField(null=True, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    results = models.JSONField(
        default=list, blank=True, help_text="The rows that changed something or failed."
    )
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["sha256", "stock"],
                condition=Q(dry_run=False)
                & (Q(status__in=["pending", "running"]) | Q(status="done", applied=True)),
                name="catalog_import_applies_once",
            ),
            models.CheckConstraint(
                condition=Q(mode__in=["atomic", "valid"]), name="catalog_import_mode"
            ),
            models.CheckConstraint(
                condition=Q(stock__in=["ignore", "set", "delta"]), name="catalog_import_stock"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def reference(self) -> str:
        """What the stock ledger's rows name as their source."""
        return f"catalog-import:{self.pk}"
