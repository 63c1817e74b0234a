"""Payments are records of what providers said: read-only in the admin."""

from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin

from payments.models import Payment


@admin.register(Payment)
class PaymentAdmin(ModelAdmin):
    list_display = [
        "order",
        "provider",
        "status",
        "amount",
        "currency",
        "refunded_amount",
        "created_at",
    ]
    list_filter = ["provider", "status"]
    search_fields = ["order__number", "provider_reference"]
    list_select_related = ["order"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Payment._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
