"""Orders with their snapshots and history, sales reports, low-stock alerts and inventory uploads.

An order copies everything it shows (address, product names, SKUs, attributes, prices, coupon
code) when it is placed: later catalog or address edits never change it. Its status moves only
through orders.state, one row-locked transition at a time, each recorded as an OrderEvent.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

MONEY = {"max_digits": 12, "decimal_places": 2}
ZERO = Decimal("0.00")
# Filled by the database sequence created in the first migration (never max() + 1).
NUMBER_SEQUENCE = "orders_order_number_seq"


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", "Pending payment"
    PAID = "paid", "Paid"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


# Orders whose money was received (revenue in reports).
PAID_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.PARTIALLY_REFUNDED,
    OrderStatus.REFUNDED,
)


class Order(models.Model):
    number = models.CharField(max_length=20, unique=True, editable=False)
    # The guest's key to the order (with its number); never enough alone, never shown to others.
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    email = models.EmailField(max_length=254)
    # A cart becomes at most one order, whatever the requests race to do.
    cart = models.OneToOneField(
        "cart.Cart", null=True, blank=True, on_delete=models.SET_NULL, related_name="order"
    )
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING_PAYMENT
    )
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**MONEY)
    discount_total = models.DecimalField(**MONEY, default=ZERO)
    shipping_total = models.DecimalField(**MONEY, default=ZERO)
    tax_total = models.DecimalField(**MONEY, default=ZERO)
    grand_total = models.DecimalField(**MONEY)
    refunded_total = models.DecimalField(**MONEY, default=ZERO)
    # The part of shipping_total given back (refunds name it; a full refund gives all of it).
    shipping_refunded = models.DecimalField(**MONEY, default=ZERO)
    shipping_address = models.JSONField()
    billing_address = models.JSONField()
    coupon_code = models.CharField(max_length=40, blank=True)
    customer_note = models.CharField(max_length=500, blank=True)
    payment_provider = models.CharField(max_length=32)
    idempotency_key = models.CharField(max_length=255, blank=True)
    # Where the checkout came from: unpaid orders are limited per address (ORDER_MAX_UNPAID).
    client_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    tracking_number = models.CharField(max_length=100, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    placed_at = models.DateTimeField(default=timezone.now, editable=False)
    paid_at = models.DateTimeField(null=True, blank=True, editable=False)
    shipped_at = models.DateTimeField(null=True, blank=True, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancelled_at = models.DateTimeField(null=True, blank=True, editable=False)
    refunded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When stock last came back: all of it with a cancellation (set once, which guards it), or
    # the units a refund named (each unit is refunded, so returned, once: OrderLine).
    stock_returned_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    subtotal__gte=0,
                    discount_total__gte=0,
                    shipping_total__gte=0,
                    tax_total__gte=0,
                    grand_total__gte=0,
                    refunded_total__gte=0,
                ),
                name="order_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(discount_total__lte=F("subtotal")), name="order_discount_lte_subtotal"
            ),
            models.CheckConstraint(
                condition=Q(
                    grand_total=F("subtotal")
                    - F("discount_total")
                    + F("shipping_total")
                    + F("tax_total")
                ),
                name="order_grand_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(refunded_total__lte=F("grand_total")), name="order_refund_lte_total"
            ),
            models.CheckConstraint(
                condition=Q(shipping_refunded__gte=0, shipping_refunded__lte=F("shipping_total")),
                name="order_shipping_refunded_in_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-placed_at"], name="order_user_placed"),
            models.Index(fields=["status", "placed_at"], name="order_status_placed"),
            models.Index(fields=["placed_at"], name="order_placed"),
            models.Index(fields=["email"], name="order_email"),
            # Counting a customer's unpaid orders at checkout (ORDER_MAX_UNPAID).
            models.Index(
                fields=["client_ip"],
                condition=Q(status=OrderStatus.PENDING_PAYMENT),
                name="order_unpaid_client_ip",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # Kept as links for reports and reviews; the snapshot below is what the order shows.
    variant = models.ForeignKey(
        "products.Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product = models.ForeignKey(
        "products.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    product_name = models.CharField(max_length=200)
    variant_name = models.CharField(max_length=200, blank=True)
    sku = models.CharField(max_length=64)
    attributes = models.JSONField(default=dict, blank=True)
    unit_price = models.DecimalField(**MONEY)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(**MONEY)
    # Units refunded so far (orders.services.order_refund, under the order's lock); the rest ship.
    quantity_refunded = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_line_quantity_gte_1"),
            models.CheckConstraint(
                condition=Q(quantity_refunded__gte=0, quantity_refunded__lte=F("quantity")),
                name="order_line_refunded_lte_quantity",
            ),
            models.CheckConstraint(
                condition=Q(line_total=F("unit_price") * F("quantity")),
                name="order_line_total_adds_up",
            ),
        ]
        indexes = [models.Index(fields=["product"], name="order_line_product")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"

    @property
    def quantity_remaining(self) -> int:
        """Units not refunded: what ships, and what a refund may still name."""
        return self.quantity - self.quantity_refunded


class OrderEvent(models.Model):
    """The order's history: placement, each status change, notes; with who did it and when."""

    class Kind(models.TextChoices):
        PLACED = "placed", "Placed"
        STATUS = "status", "Status changed"
        NOTE = "note", "Note"
        PAYMENT = "payment", "Payment"

    class Actor(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        STAFF = "staff", "Staff"
        SYSTEM = "system", "System"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor_type = models.CharField(max_length=16, choices=Actor.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["order", "created_at"], name="order_event_order")]

    def __str__(self) -> str:
        if self.kind == self.Kind.STATUS:
            return f"{self.order_id}: {self.from_status} -> {self.to_status}"
        return f"{self.order_id}: {self.kind}"


class SalesReport(models.Model):
    """One day of sales (reports.daily_sales writes it; rerunning a day rewrites its row).

    Revenue counts orders placed that day whose money came in (paid, shipped, delivered, or
    refunded net of the refund); cancelled orders count nowhere.
    """

    date = models.DateField(unique=True)
    currency = models.CharField(max_length=3)
    orders = models.PositiveIntegerField(help_text="Orders placed, cancelled ones excepted.")
    paid_orders = models.PositiveIntegerField()
    revenue = models.DecimalField(**MONEY)
    units = models.PositiveIntegerField()
    average_order_value = models.DecimalField(**MONEY)
    top_products = models.JSONField(default=list, blank=True)
    generated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date"]

    def __str__(self) -> str:
        return f"Sales of {self.date}"


class LowStockAlert(models.Model):
    """A variant at or under its low-stock threshold that staff were told about.

    The row exists while the variant stays low: no second email for the same crossing. It is
    removed when stock goes back above the threshold, so the next crossing alerts again.
    """

    variant = models.OneToOneField(
        "products.Variant", on_delete=models.CASCADE, related_name="low_stock_alert"
    )
    stock_at_alert = models.IntegerField()
    threshold = models.PositiveIntegerField()
    alerted_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Low stock: variant {self.variant_id}"


class InventoryUpload(models.Model):
    """A staff CSV of stock levels or deltas, applied once by the inventory.adjust task."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the worker"
        DONE = "done", "Applied"
        FAILED = "failed", "Failed"

    filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, unique=True, help_text="The same file applies once.")
    content = models.TextField(help_text="The CSV as uploaded (UTF-8).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=255, blank=True)
    rows_total = models.PositiveIntegerField(default=0)
    rows_applied = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list, blank=True, help_text="One entry per data row.")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.status})"

    @property
    def reference(self) -> str:
        """What the stock ledger's rows name as their source."""
        return f"inventory-upload:{self.pk}"
