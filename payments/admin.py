"""Payments, refunds and the webhook ledger are records of what providers said: read-only in the
admin, with actions that call the services (re-read a payment, process an event again)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminTextInputWidget

from api.admin_actions import after_dialog, confirm
from api.errors import ApiError
from payments import services
from payments.models import Payment, Refund, RefundStatus, WebhookEvent
from payments.providers import PaymentProviderError, offline_providers


class ReadOnlyAdmin(ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "order",
        "provider",
        "status",
        "amount",
        "currency",
        "refunded_amount",
        "needs_review",
        "created_at",
    ]
    # "Needs review": amount/currency mismatches, money received for cancelled orders, refunds
    # that failed at the provider.
    list_filter = ["needs_review", "provider", "status"]
    search_fields = ["order__number", "provider_reference"]
    list_select_related = ["order"]
    actions = ["refresh", "review_resolved"]

    @action(description="Re-read from the provider and settle", permissions=["change"])
    def refresh(self, request: HttpRequest, queryset):
        for payment in queryset.exclude(provider_reference=""):
            try:
                services.payment_refresh(payment_id=payment.pk, note="staff refresh")
            except PaymentProviderError as exc:
                self.message_user(request, f"{payment}: {exc}", messages.ERROR)
        self.message_user(request, "Payments re-read.", messages.SUCCESS)

    @action(description="Mark reviewed (the order's log keeps the reasons)", permissions=["change"])
    def review_resolved(self, request: HttpRequest, queryset):
        orders = sorted(set(queryset.filter(needs_review=True).values_list("order_id", flat=True)))
        for order_id in orders:
            services.payment_review_resolve(
                order_id=order_id, actor=request.user, note="marked reviewed in the admin"
            )
        self.message_user(request, f"{len(orders)} order(s) marked reviewed.", messages.SUCCESS)


class RefundDueFilter(admin.SimpleListFilter):
    """Refunds of offline payments that staff still have to send (and then confirm)."""

    title, parameter_name = "refund due", "due"

    def lookups(self, request, model_admin):
        return [("yes", "Refund due"), ("no", "Not due")]

    def queryset(self, request, queryset):
        due = Q(status=RefundStatus.PENDING, payment__provider__in=offline_providers())
        if self.value() == "yes":
            return queryset.filter(due)
        if self.value() == "no":
            return queryset.exclude(due)
        return queryset


class ConfirmRefundForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        required=False,
        help_text="How it was sent (bank reference, cash receipt...).",
        widget=UnfoldAdminTextInputWidget,
    )


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "payment",
        "amount",
        "currency",
        "due_badge",
        "counted",
        "source",
        "restock",
        "created_at",
    ]
    list_filter = [RefundDueFilter, "status", "source"]
    search_fields = ["payment__order__number", "provider_reference", "idempotency_key"]
    list_select_related = ["payment__order"]
    actions = ["confirm_selected"]
    actions_detail = ["confirm_one"]

    @display(description="Status", label={"due": "warning", "done": "success", "other": "info"})
    def due_badge(self, obj: Refund):
        if obj.status == RefundStatus.PENDING and obj.payment.provider in offline_providers():
            order = obj.payment.order
            return "due", f"refund due: {obj.amount} to {order.email}"
        return ("done" if obj.status == RefundStatus.SUCCEEDED else "other"), obj.status

    def _confirm(self, request: HttpRequest, ids, note: str) -> None:
        done = 0
        for refund_id in ids:
            try:
                services.payment_refund_confirm(refund_id=refund_id, actor=request.user, note=note)
                done += 1
            except ApiError as exc:
                self.message_user(request, f"Refund {refund_id}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{done} refund(s) confirmed sent.", messages.SUCCESS)

    @action(description="Confirm refund sent", permissions=["change"])
    def confirm_selected(self, request: HttpRequest, queryset) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        self._confirm(request, ids, "confirmed in the admin")

    @action(
        description="Confirm refund sent",
        permissions=["change"],
        url_path="confirm",
        # A form that posts: following a link never records money as sent.
        dialog=confirm(
            "Confirm this refund was sent?",
            "Only once the money went back to the customer: it is then counted as refunded and "
            "the order's log says who confirmed it.",
            "Confirm sent",
            form_class=ConfirmRefundForm,
        ),
    )
    def confirm_one(self, request: HttpRequest, form, object_id: str) -> HttpResponse:
        note = form.cleaned_data.get("note", "") if form is not None else ""
        self._confirm(request, [int(object_id)], note or "confirmed in the admin")
        return after_dialog(request, reverse("admin:payments_refund_change", args=[object_id]))


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "provider", "type", "received_at", "processed_at", "attempts"]
    list_filter = ["provider", "type", ("processed_at", admin.EmptyFieldListFilter)]
    search_fields = ["event_id", "reference"]
    actions = ["process"]

    @action(description="Process (again if it failed)", permissions=["change"])
    def process(self, request: HttpRequest, queryset):
        for row in queryset.filter(processed_at__isnull=True):
            try:
                services.webhook_event_process(event_pk=row.pk)
            except Exception as exc:  # kept on the row; shown here
                self.message_user(request, f"{row.event_id}: {exc}", messages.ERROR)
        self.message_user(request, "Events processed.", messages.SUCCESS)
