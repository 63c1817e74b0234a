"""Carts, their lines, coupons and coupon redemptions (docs/architecture.md §3).

A cart belongs to a customer (one open cart each) or to a guest who holds its token; only a
SHA-256 of the token is stored, so a copy of the table opens no cart. Prices are never stored on a
cart: they are read from the catalog on every read and again, under row locks, at checkout.
"""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone

MONEY = {"max_digits": 12, "decimal_places": 2}


def default_currency() -> str:
    return settings.DEFAULT_CURRENCY


def new_cart_token() -> str:
    return secrets.token_urlsafe(32)


def cart_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class CartStatus(models.TextChoices):
    OPEN = "open", "Open"
    CHECKED_OUT = "checked_out", "Checked out"
    MERGED = "merged", "Merged into a customer's cart"


class Cart(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="carts",
    )
    # Guests only: SHA-256 of the token the client sends back in X-Cart-Token.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    status = models.CharField(max_length=16, choices=CartStatus.choices, default=CartStatus.OPEN)
    coupon = models.ForeignKey(
        "cart.Coupon", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    currency = models.CharField(max_length=3, default=default_currency)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            # One open cart per customer, whatever concurrent requests do.
            models.UniqueConstraint(
                fields=["user"], condition=Q(status="open"), name="cart_one_open_per_user"
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False) | Q(token_hash__isnull=False),
                name="cart_has_an_owner",
            ),
        ]
        indexes = [models.Index(fields=["status", "updated_at"], name="cart_status_updated")]

    def __str__(self) -> str:
        owner = f"user {self.user_id}" if self.user_id else "guest"
        return f"Cart {self.pk} ({owner}, {self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == CartStatus.OPEN


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey("products.Variant", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    # The price when the customer last chose this line: the cart flags a change since.
    unit_price_at_add = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_unique_variant"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="cart_line_quantity_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x variant {self.variant_id}"


class CouponKind(models.TextChoices):
    PERCENT = "percent", "Percentage of the subtotal"
    FIXED = "fixed", "Fixed amount off the subtotal"
    FREE_SHIPPING = "free_shipping", "Free shipping"


class Coupon(models.Model):
    code = models.CharField(
        max_length=40, unique=True, help_text="Customers type it in any case; stored upper-case."
    )
    description = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=16, choices=CouponKind.choices)
    value = models.DecimalField(
        **MONEY,
        default=Decimal("0.00"),
        help_text="Percent (1-100) or an amount in the shop currency; 0 for free shipping.",
    )
    min_subtotal = models.DecimalField(**MONEY, default=Decimal("0.00"))
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Orders in all; empty: unlimited."
    )
    per_customer_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Orders per customer (account or email); empty: unlimited."
    )
    # Changed only under the coupon's row lock (checkout, cancellation): limits hold.
    times_used = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(code=Upper("code")), name="coupon_code_upper"),
            models.CheckConstraint(condition=Q(value__gte=0), name="coupon_value_gte_0"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__gt=0, value__lte=100),
                name="coupon_percent_1_100",
            ),
            models.CheckConstraint(
                condition=~Q(kind="fixed") | Q(value__gt=0), name="coupon_fixed_gt_0"
            ),
            models.CheckConstraint(condition=Q(min_subtotal__gte=0), name="coupon_min_gte_0"),
            # The last line of defence of the usage limit.
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(times_used__lte=F("usage_limit")),
                name="coupon_times_used_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="coupon_window_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        self.code = (self.code or "").strip().upper()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        # Before the constraint checks of full_clean: "summer" typed in the admin is SUMMER.
        self.code = (self.code or "").strip().upper()


class CouponRedemption(models.Model):
    """One order's use of a coupon; released (not deleted) when the order is cancelled."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="coupon_redemption"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(max_length=254)
    discount_amount = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["coupon", "email"], name="redemption_coupon_email"),
            models.Index(fields=["coupon", "user"], name="redemption_coupon_user"),
        ]

    def __str__(self) -> str:
        return f"{self.coupon_id} on order {self.order_id}"
