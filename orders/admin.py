"""Orders admin (Unfold): orders are read-only records moved by actions that call the services
(the same transitions, locks, events and emails as the API); sales reports, low-stock alerts and
inventory uploads; and the dashboard as the admin's start page."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminFileFieldWidget

from api.admin_actions import after_dialog, confirm
from api.errors import ApiError
from orders import inventory, services
from orders.models import (
    InventoryUpload,
    LowStockAlert,
    Order,
    OrderEvent,
    OrderLine,
    OrderStatus,
    SalesReport,
)
from orders.reports import sales_reports_write
from payments.models import Payment
from payments.services import payment_record_manual

# The admin's start page: orders.dashboard.dashboard_callback fills it.
admin.site.index_template = "admin/emporium_index.html"

STATUS_COLORS = {
    OrderStatus.PENDING_PAYMENT: "warning",
    OrderStatus.PAID: "info",
    OrderStatus.SHIPPED: "info",
    OrderStatus.DELIVERED: "success",
    OrderStatus.CANCELLED: "danger",
    OrderStatus.PARTIALLY_REFUNDED: "warning",
    OrderStatus.REFUNDED: "danger",
}


class ReadOnlyInline(TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "sku",
        "product_name",
        "variant_name",
        "attributes",
        "unit_price",
        "quantity",
        "quantity_refunded",
        "line_total",
    ]
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor_type", "actor", "note"]
    readonly_fields = fields


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = [
        "provider",
        "status",
        "amount",
        "refunded_amount",
        "provider_reference",
        "error",
        "created_at",
    ]
    readonly_fields = fields


class OrderActionForm(forms.Form):
    """A form of one order's action (ship, refund): `arguments()` are the service's keywords."""

    def __init__(self, *args, order: Order, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order = order

    def arguments(self) -> dict:
        return dict(self.cleaned_data)


class ShipForm(OrderActionForm):
    tracking_number = forms.CharField(max_length=100)
    carrier = forms.CharField(max_length=100, required=False)
    note = forms.CharField(max_length=500, required=False)


def _run(admin_obj, request, orders, label: str, call) -> None:
    """Apply a service to each order; a refused one (409) is reported, the others still apply."""
    done, refused = 0, []
    for order in orders:
        try:
            with transaction.atomic():
                call(order)
            done += 1
        except ApiError as exc:
            refused.append(f"{order.number}: {exc.message}")
    if done:
        admin_obj.message_user(request, f"{label}: {done} order(s).", messages.SUCCESS)
    for message in refused:
        admin_obj.message_user(request, message, messages.ERROR)


@admin.register(Order)
class OrderAdmin(ModelAdmin):
    list_display = [
        "number",
        "email",
        "status_badge",
        "grand_total",
        "currency",
        "placed_at",
        "payment_provider",
    ]
    list_filter = ["status", "payment_provider", "placed_at"]
    search_fields = ["number", "email", "tracking_number"]
    date_hierarchy = "placed_at"
    list_select_related = ["user"]
    inlines = [OrderLineInline, PaymentInline, OrderEventInline]
    actions = ["mark_paid", "deliver", "cancel"]
    actions_detail = ["mark_paid_one", "ship_one", "deliver_one", "cancel_one", "refund_one"]
    fieldsets = (
        (None, {"fields": ("number", "status", "email", "user", "payment_provider", "placed_at")}),
        (
            "Money",
            {
                "fields": (
                    "currency",
                    "subtotal",
                    "discount_total",
                    "coupon_code",
                    "shipping_total",
                    "tax_total",
                    "grand_total",
                    "refunded_total",
                    "shipping_refunded",
                )
            },
        ),
        (
            "Addresses",
            {"fields": ("shipping_address_text", "billing_address_text", "customer_note")},
        ),
        (
            "Fulfilment",
            {
                "fields": (
                    "tracking_number",
                    "carrier",
                    "paid_at",
                    "shipped_at",
                    "delivered_at",
                    "cancelled_at",
                    "refunded_at",
                    "stock_returned_at",
                )
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def has_add_permission(self, request) -> bool:
        return False  # orders come from checkouts

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the ledger, the reports and the customer depend on it

    @display(description="Status", ordering="status", label=STATUS_COLORS)
    def status_badge(self, obj: Order):
        return obj.status, obj.get_status_display()

    @display(description="Shipping address")
    def shipping_address_text(self, obj: Order) -> str:
        return _address_html(obj.shipping_address)

    @display(description="Billing address")
    def billing_address_text(self, obj: Order) -> str:
        return _address_html(obj.billing_address)

    # -- bulk actions -----------------------------------------------------------------------------
    @action(description="Mark paid (manual payments)", permissions=["change"])
    def mark_paid(self, request: HttpRequest, queryset):
        def call(order):
            payment_record_manual(order=order, actor=request.user, note="Marked paid in the admin")

        _run(self, request, queryset, "Marked paid", call)

    @action(description="Mark delivered", permissions=["change"])
    def deliver(self, request: HttpRequest, queryset):
        _run(
            self,
            request,
            queryset,
            "Delivered",
            lambda o: services.order_deliver(order_id=o.pk, actor=request.user),
        )

    @action(description="Cancel (stock returns; paid orders are refunded)", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset):
        _run(
            self,
            request,
            queryset,
            "Cancelled",
            lambda o: services.order_cancel(
                order_id=o.pk, actor=request.user, note="Cancelled in the admin"
            ),
        )

    # -- one order --------------------------------------------------------------------------------
    def _page(self, object_id) -> str:
        return reverse("admin:orders_order_change", args=[object_id])

    def _back(self, object_id):
        return redirect(self._page(object_id))

    # Detail actions that change the order are POST-only: a GET shows the confirmation dialog
    # (api/admin_actions.py), so a link to the URL changes nothing.
    @action(
        description="Mark paid",
        url_path="mark-paid",
        permissions=["change"],
        dialog=confirm(
            "Mark this order paid?",
            "Only once the money arrived (bank transfer, cash on delivery): the order can then "
            "ship and the customer is told.",
            "Mark paid",
        ),
    )
    def mark_paid_one(self, request: HttpRequest, form, object_id):
        self.mark_paid(request, Order.objects.filter(pk=object_id))
        return after_dialog(request, self._page(object_id))

    @action(
        description="Mark delivered",
        url_path="deliver",
        permissions=["change"],
        dialog=confirm(
            "Mark this order delivered?",
            "The parcel reached the customer; the order is then complete.",
            "Mark delivered",
        ),
    )
    def deliver_one(self, request: HttpRequest, form, object_id):
        self.deliver(request, Order.objects.filter(pk=object_id))
        return after_dialog(request, self._page(object_id))

    @action(
        description="Cancel order",
        url_path="cancel",
        permissions=["change"],
        dialog=confirm(
            "Cancel this order?",
            "Its stock returns, a paid order is refunded in full through its payment provider, "
            "and the customer is told. This cannot be undone.",
            "Cancel the order",
        ),
    )
    def cancel_one(self, request: HttpRequest, form, object_id):
        self.cancel(request, Order.objects.filter(pk=object_id))
        return after_dialog(request, self._page(object_id))

    def _form_action(self, request, object_id, *, form_class, service, verb: str, template: str):
        """One order, one form (refund, ship): show it, run the service, report what happened."""
        order = Order.objects.get(pk=object_id)
        form = form_class(request.POST or None, order=order)
        if request.method == "POST" and form.is_valid():
            try:
                service(order_id=order.pk, actor=request.user, **form.arguments())
            except ApiError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{order.number} {verb}.", messages.SUCCESS)
                return self._back(object_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{template.capitalize()} {order.number}",
            "form": form,
            "order": order,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, f"admin/orders/order/{template}.html", context)

    @action(description="Refund", url_path="refund", permissions=["change"])
    def refund_one(self, request: HttpRequest, object_id):
        """Refund units of lines, shipping, an amount, or everything left, through the payment's
        provider (the same service and rules as the API)."""
        return self._form_action(
            request,
            object_id,
            form_class=RefundForm,
            service=services.order_refund,
            verb="refunded",
            template="refund",
        )

    @action(description="Ship", url_path="ship", permissions=["change"])
    def ship_one(self, request: HttpRequest, object_id):
        return self._form_action(
            request,
            object_id,
            form_class=ShipForm,
            service=services.order_ship,
            verb="shipped",
            template="ship",
        )


class RefundForm(OrderActionForm):
    """One quantity field per line (at most its units not refunded yet), shipping, or an amount
    alone (money only); all empty: everything left. orders.refunds has the arithmetic."""

    shipping = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.00"),
        required=False,
        help_text="Shipping given back, with the lines or alone.",
    )
    amount = forms.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Money only (a goodwill gesture), without lines or shipping. "
        "Leave everything empty to refund all that is left.",
    )
    restock = forms.BooleanField(
        required=False, help_text="The goods came back: return the stock of the units refunded."
    )
    note = forms.CharField(max_length=500, required=False)

    def __init__(self, *args, order: Order, **kwargs) -> None:
        super().__init__(*args, order=order, **kwargs)
        lines, self.line_ids = {}, {}
        for line in order.lines.order_by("id"):
            name = f"line_{line.pk}"
            self.line_ids[name] = line.pk
            lines[name] = forms.IntegerField(
                label=f"{line.sku}: {line.product_name}",
                min_value=0,
                max_value=line.quantity_remaining,
                required=False,
                help_text=f"{line.quantity_remaining} of {line.quantity} left to refund, "
                f"{line.unit_price} {order.currency} each.",
            )
        self.fields = {**lines, **self.fields}  # the lines first

    def arguments(self) -> dict:
        data = self.cleaned_data
        units = {pk: data[name] for name, pk in self.line_ids.items() if data.get(name)}
        return {
            "lines": units or None,
            "shipping": data["shipping"],
            "amount": data["amount"],
            "restock": data["restock"],
            "note": data["note"],
        }


def _address_html(address: dict) -> str:
    address = address or {}
    lines = [
        f"{address.get('first_name', '')} {address.get('last_name', '')}".strip(),
        address.get("company_name", ""),
        address.get("street_address_1", ""),
        address.get("street_address_2", ""),
        " ".join(filter(None, [address.get("postal_code", ""), address.get("city", "")])),
        address.get("country_area", ""),
        address.get("country", ""),
        address.get("phone", ""),
    ]
    return format_html_join("", "{}<br>", ((line,) for line in lines if line))


@admin.register(SalesReport)
class SalesReportAdmin(ModelAdmin):
    list_display = [
        "date",
        "orders",
        "paid_orders",
        "revenue",
        "units",
        "average_order_value",
        "generated_at",
    ]
    date_hierarchy = "date"
    readonly_fields = [f.name for f in SalesReport._meta.fields]
    actions_list = ["regenerate"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @action(
        description="Rebuild the last 7 days",
        url_path="rebuild",
        permissions=["view"],
        dialog=confirm(
            "Rebuild the last 7 days?",
            "Each day's figures are counted again from its orders and replace the stored ones.",
            "Rebuild",
        ),
    )
    def regenerate(self, request: HttpRequest, form):
        written = sales_reports_write(days=7)
        self.message_user(request, f"{len(written)} day(s) rebuilt.", messages.SUCCESS)
        return after_dialog(request, reverse("admin:orders_salesreport_changelist"))


@admin.register(LowStockAlert)
class LowStockAlertAdmin(ModelAdmin):
    list_display = ["variant", "stock_at_alert", "threshold", "alerted_at"]
    list_select_related = ["variant"]
    search_fields = ["variant__sku"]
    readonly_fields = ["variant", "stock_at_alert", "threshold", "alerted_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class InventoryUploadForm(forms.Form):
    # Unfold's widget: its script fills the file name into the widget's own text box, and
    # throws on a plain file input, which has none.
    file = forms.FileField(
        help_text="UTF-8 CSV: sku, quantity or delta, optional note.",
        widget=UnfoldAdminFileFieldWidget,
    )


@admin.register(InventoryUpload)
class InventoryUploadAdmin(ModelAdmin):
    list_display = [
        "filename",
        "status",
        "rows_total",
        "rows_applied",
        "rows_unchanged",
        "rows_failed",
        "uploaded_by",
        "created_at",
    ]
    list_filter = ["status"]
    search_fields = ["filename", "sha256"]
    list_select_related = ["uploaded_by"]
    exclude = ["content", "results"]
    readonly_fields = [
        "filename",
        "status",
        "uploaded_by",
        "note",
        "rows_total",
        "rows_applied",
        "rows_unchanged",
        "rows_failed",
        "error",
        "created_at",
        "processed_at",
        "sha256",
        "row_results",
    ]
    actions_list = ["upload_csv"]

    def has_add_permission(self, request) -> bool:
        return False  # through "Upload CSV", which checks the file

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @display(description="Rows")
    def row_results(self, obj: InventoryUpload) -> str:
        if not obj.results:
            return "-"
        return format_html(
            "<table><tr><th>Row</th><th>SKU</th><th>Result</th><th>Before</th><th>After</th><th>Error</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        r["row"],
                        r["sku"],
                        r["status"],
                        r.get("before", ""),
                        r.get("after", ""),
                        r.get("error") or "",
                    )
                    for r in obj.results[:1000]
                ),
            ),
        )

    @action(description="Upload CSV", url_path="upload-csv", permissions=["upload"])
    def upload_csv(self, request: HttpRequest):
        form = InventoryUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            file = form.cleaned_data["file"]
            try:
                content = inventory.read_upload(file)
                upload = inventory.inventory_upload_create(
                    filename=file.name, content=content, actor=request.user
                )
            except ApiError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(
                    request,
                    f"{upload.filename}: {upload.rows_total} rows queued.",
                    messages.SUCCESS,
                )
                return redirect(reverse("admin:orders_inventoryupload_change", args=[upload.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Upload stock levels (CSV)",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/orders/inventoryupload/upload.html", context)

    def has_upload_permission(self, request) -> bool:
        return request.user.has_perm("products.adjust_stock")
