"""Automatic promotions, beside coupons (docs/architecture.md §3, §8).

- CatalogPromotion: a percentage or an amount off the unit price of the variants it targets
  (categories with their subtrees, brands, products, variants) inside its window; the highest
  priority wins where several target one variant. Its price shows everywhere a price does.
- CartPromotion: spend at least X, get Y off (percent or amount) or free shipping; or buy N of a
  set and get M more free (the cheapest units). A window, an optional use limit and budget
  (counted under the promotion's row lock at checkout, like a coupon's uses), and whether it
  combines with a coupon.
- PromotedPrice / PromotedProductPrice: the catalog promotions' prices, precomputed for the
  catalog's hand-written SQL (products/catalog_sql.py) and the search documents; rewritten by
  promotions.services.promoted_prices_refresh on every promotion write and by beat at each
  window boundary.
- PromotionRedemption: one order's use of a cart promotion (released when the order is cancelled).
- OrderDiscount: the snapshot of every discount an order got, per line where it has one.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")


class Targets(models.Model):
    """What a promotion reaches: any of these (a category takes its whole subtree)."""

    categories = models.ManyToManyField(
        "products.Category", blank=True, related_name="+", help_text="With their subcategories."
    )
    brands = models.ManyToManyField("products.Brand", blank=True, related_name="+")
    products = models.ManyToManyField("products.Product", blank=True, related_name="+")
    variants = models.ManyToManyField("products.Variant", blank=True, related_name="+")

    class Meta:
        abstract = True


class Window(models.Model):
    name = models.CharField(max_length=120, help_text="Shown to customers.")
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Empty: at once.")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until switched off.")
    priority = models.IntegerField(default=0, help_text="Higher first.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.is_active
            and (self.starts_at is None or self.starts_at <= now)
            and (self.ends_at is None or self.ends_at > now)
        )


def _window_valid(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(starts_at__isnull=True)
        | Q(ends_at__isnull=True)
        | Q(ends_at__gt=F("starts_at")),
        name=name,
    )


class CatalogKind(models.TextChoices):
    PERCENT = "percent", "Percentage off the price"
    FIXED = "fixed", "Amount off the price"


class CatalogPromotion(Window, Targets):
    kind = models.CharField(max_length=16, choices=CatalogKind.choices)
    value = models.DecimalField(**MONEY, help_text="Percent (1-100) or an amount off each unit.")

    class Meta:
        ordering = ["-priority", "-created_at", "-id"]
        constraints = [
            _window_valid("catalog_promotion_window_valid"),
            models.CheckConstraint(
                condition=Q(value__gt=0) & (~Q(kind="percent") | Q(value__lte=100)),
                name="catalog_promotion_value_valid",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "ends_at"], name="catalog_promo_live")]

    def clean(self) -> None:
        super().clean()
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "It must end after it starts."})
        if self.kind == CatalogKind.PERCENT and self.value is not None and self.value > 100:
            raise ValidationError({"value": "A percentage is at most 100."})


class CartKind(models.TextChoices):
    SPEND = "spend", "Spend at least X, get a reward"
    BUY_GET = "buy_get", "Buy N of a set, get M more free (the cheapest)"


class CartReward(models.TextChoices):
    PERCENT = "percent", "Percentage off the subtotal"
    FIXED = "fixed", "Amount off the subtotal"
    FREE_SHIPPING = "free_shipping", "Free shipping"
    FREE_ITEMS = "free_items", "Free units (buy N get M)"


class CouponRule(models.TextChoices):
    COMBINABLE = "combinable", "Applies with a coupon"
    EXCLUSIVE = "exclusive", "Not with a coupon (the coupon wins)"


class CartPromotion(Window, Targets):
    """Targets matter only to buy N get M (the set); a spend promotion counts the whole cart."""

    kind = models.CharField(max_length=16, choices=CartKind.choices)
    reward = models.CharField(max_length=16, choices=CartReward.choices)
    value = models.DecimalField(
        **MONEY, default=ZERO, help_text="Percent or amount off; 0 for free shipping or units."
    )
    min_subtotal = models.DecimalField(
        **MONEY, default=ZERO, help_text="Spend: the subtotal (after catalog promotions) to reach."
    )
    buy_quantity = models.PositiveIntegerField(null=True, blank=True, help_text="Buy N.")
    free_quantity = models.PositiveIntegerField(null=True, blank=True, help_text="Get M free.")
    coupon_rule = models.CharField(
        max_length=16, choices=CouponRule.choices, default=CouponRule.COMBINABLE
    )
    usage_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Orders in all; empty: unlimited."
    )
    budget = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Money it may give away in all; empty: no cap."
    )
    # Changed only under the promotion's row lock (checkout, cancellation): the limits hold.
    times_used = models.PositiveIntegerField(default=0, editable=False)
    budget_used = models.DecimalField(**MONEY, default=ZERO, editable=False)

    class Meta:
        ordering = ["-priority", "-created_at", "-id"]
        constraints = [
            _window_valid("cart_promotion_window_valid"),
            models.CheckConstraint(
                condition=(
                    Q(kind="spend", reward__in=["percent", "fixed", "free_shipping"])
                    | Q(kind="buy_get", reward="free_items")
                ),
                name="cart_promotion_reward_fits_kind",
            ),
            models.CheckConstraint(
                condition=~Q(reward="percent") | Q(value__gt=0, value__lte=100),
                name="cart_promotion_percent_1_100",
            ),
            models.CheckConstraint(
                condition=~Q(reward="fixed") | Q(value__gt=0), name="cart_promotion_fixed_gt_0"
            ),
            models.CheckConstraint(
                condition=~Q(kind="buy_get") | Q(buy_quantity__gte=1, free_quantity__gte=1),
                name="cart_promotion_buy_get_quantities",
            ),
            models.CheckConstraint(condition=Q(min_subtotal__gte=0), name="cart_promotion_min"),
            # The last line of defence of the limits, as for coupons.
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(times_used__lte=F("usage_limit")),
                name="cart_promotion_uses_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget_used__lte=F("budget")),
                name="cart_promotion_budget_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(budget_used__gte=0), name="cart_promotion_used_gte_0"
            ),
        ]
        indexes = [models.Index(fields=["is_active", "ends_at"], name="cart_promo_live")]

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "It must end after it starts."
        if self.kind == CartKind.BUY_GET:
            if self.reward != CartReward.FREE_ITEMS:
                errors["reward"] = "Buy N get M gives free units."
            if not self.buy_quantity or not self.free_quantity:
                errors["buy_quantity"] = "Buy N get M needs both quantities (at least 1)."
        elif self.kind == CartKind.SPEND:
            if self.reward == CartReward.FREE_ITEMS:
                errors["reward"] = "A spend promotion gives an amount off or free shipping."
            elif self.reward in (CartReward.PERCENT, CartReward.FIXED) and not self.value:
                errors["value"] = "Give the percentage or the amount off."
            elif self.reward == CartReward.PERCENT and self.value and self.value > 100:
                errors["value"] = "A percentage is at most 100."
        if errors:
            raise ValidationError(errors)


class PromotedPrice(models.Model):
    """A variant's price under the catalog promotion that wins for it now (a derived table)."""

    variant = models.OneToOneField(
        "products.Variant", primary_key=True, on_delete=models.CASCADE, related_name="promoted"
    )
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="+")
    promotion = models.ForeignKey(CatalogPromotion, on_delete=models.CASCADE, related_name="+")
    price = models.DecimalField(**MONEY)
    regular_price = models.DecimalField(**MONEY)

    class Meta:
        indexes = [models.Index(fields=["product"], name="promoted_price_product")]

    def __str__(self) -> str:
        return f"variant {self.variant_id} at {self.price}"


class PromotedProductPrice(models.Model):
    """A product's lowest and highest price with its promoted variants (list cards, sorting)."""

    product = models.OneToOneField(
        "products.Product", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    price_min = models.DecimalField(**MONEY)
    price_max = models.DecimalField(**MONEY)

    def __str__(self) -> str:
        return f"product {self.product_id}: {self.price_min} - {self.price_max}"


class PromotionRedemption(models.Model):
    """One order's use of a cart promotion; released (not deleted) when the order is cancelled."""

    promotion = models.ForeignKey(
        CartPromotion, on_delete=models.PROTECT, related_name="redemptions"
    )
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    amount = models.DecimalField(**MONEY, help_text="What it gave: the discount or the shipping.")
    # Counted in times_used / budget_used: only a promotion with a limit or a budget is (its
    # row is locked for it; an unlimited one is not made a point every checkout queues on).
    counted = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["promotion", "order"], name="promotion_once_per_order")
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id} on order {self.order_id}"


class DiscountSource(models.TextChoices):
    CATALOG = "catalog", "Catalog promotion"
    CART = "cart", "Cart promotion"
    COUPON = "coupon", "Coupon"


class OrderDiscount(models.Model):
    """A discount an order got, as it was: on one line (a catalog promotion's price, free units,
    a share of an amount off the subtotal) or on the order (free shipping)."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="discounts")
    line = models.ForeignKey(
        "orders.OrderLine",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="discounts",
    )
    source = models.CharField(max_length=16, choices=DiscountSource.choices)
    catalog_promotion = models.ForeignKey(
        CatalogPromotion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cart_promotion = models.ForeignKey(
        CartPromotion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=120, help_text="The promotion's name or the coupon's code.")
    kind = models.CharField(max_length=16, help_text="percent, fixed, free_shipping, free_items.")
    amount = models.DecimalField(**MONEY)
    # Catalog promotions: the unit price before it (the line's unit price is after it).
    regular_unit_price = models.DecimalField(**MONEY, null=True, blank=True)
    shipping = models.BooleanField(default=False, help_text="Shipping waived, not goods.")

    class Meta:
        ordering = ["order_id", "line_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="order_discount_amount_gte_0")
        ]
        indexes = [models.Index(fields=["order", "source"], name="order_discount_order_source")]

    def __str__(self) -> str:
        return f"{self.name}: {self.amount}"
