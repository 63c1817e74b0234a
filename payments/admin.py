"""Payments, refunds and the webhook ledger are records of what providers said: read-only in the
admin, with actions that call the services (re-read a payment, process an event again)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest
from unfold.admin import ModelAdmin
from unfold.decorators import action

from payments import services
from payments.models import Payment, Refund, WebhookEvent
from payments.providers import PaymentProviderError


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


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "payment",
        "amount",
        "currency",
        "status",
        "counted",
        "source",
        "restock",
        "created_at",
    ]
    list_filter = ["status", "source"]
    search_fields = ["payment__order__number", "provider_reference", "idempotency_key"]
    list_select_related = ["payment__order"]


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
