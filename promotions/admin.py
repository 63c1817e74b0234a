"""Promotions admin: catalog and cart promotions, with the uses and discounts they gave.

A catalog promotion's save (or delete) rewrites the catalog's promoted prices at once
(promotions.services.promoted_prices_refresh, after its targets are saved), so the storefront
shows it on the next read, not at beat's next run.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Q
from unfold.admin import ModelAdmin
from unfold.decorators import display

from promotions.models import CartPromotion, CatalogPromotion, OrderDiscount, PromotionRedemption
from promotions.services import promoted_prices_refresh

TARGETS = ["categories", "brands", "products", "variants"]


def _live(obj) -> bool:
    return obj.is_live()


@admin.register(CatalogPromotion)
class CatalogPromotionAdmin(ModelAdmin):
    list_display = [
        "name",
        "kind",
        "value",
        "priority",
        "starts_at",
        "ends_at",
        "is_active",
        "live",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    autocomplete_fields = TARGETS
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "value", "priority", "is_active"]}),
        ("Window", {"fields": ["starts_at", "ends_at"]}),
        ("Reaches", {"fields": TARGETS}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    @display(description="Live now", boolean=True)
    def live(self, obj: CatalogPromotion) -> bool:
        return _live(obj)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        promoted_prices_refresh()  # its targets are saved: the catalog's prices follow at once

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        promoted_prices_refresh()

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        promoted_prices_refresh()


@admin.register(CartPromotion)
class CartPromotionAdmin(ModelAdmin):
    list_display = [
        "name",
        "kind",
        "reward",
        "condition",
        "coupon_rule",
        "usage",
        "budget_usage",
        "starts_at",
        "ends_at",
        "is_active",
        "live",
    ]
    list_filter = ["kind", "reward", "coupon_rule", "is_active"]
    search_fields = ["name"]
    autocomplete_fields = TARGETS
    readonly_fields = ["times_used", "budget_used", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "reward", "value", "priority", "is_active"]}),
        ("Spend at least", {"fields": ["min_subtotal"]}),
        ("Buy N get M: the set", {"fields": ["buy_quantity", "free_quantity", *TARGETS]}),
        ("Window and limits", {"fields": ["starts_at", "ends_at", "usage_limit", "budget"]}),
        ("With coupons", {"fields": ["coupon_rule"]}),
        ("Record", {"fields": ["times_used", "budget_used", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        # Unlimited promotions are not counted on their row (no lock): their uses are counted here.
        return (
            super()
            .get_queryset(request)
            .annotate(uses=Count("redemptions", filter=Q(redemptions__released_at__isnull=True)))
        )

    @display(description="Condition")
    def condition(self, obj: CartPromotion) -> str:
        if obj.kind == "buy_get":
            return f"buy {obj.buy_quantity} get {obj.free_quantity}"
        return f"spend {obj.min_subtotal}"

    @display(description="Uses")
    def usage(self, obj: CartPromotion) -> str:
        return f"{obj.uses} / {obj.usage_limit}" if obj.usage_limit else str(obj.uses)

    @display(description="Budget")
    def budget_usage(self, obj: CartPromotion) -> str:
        return f"{obj.budget_used} / {obj.budget}" if obj.budget is not None else "-"

    @display(description="Live now", boolean=True)
    def live(self, obj: CartPromotion) -> bool:
        return _live(obj)


@admin.register(PromotionRedemption)
class PromotionRedemptionAdmin(ModelAdmin):
    list_display = ["promotion", "order", "amount", "counted", "created_at", "released_at"]
    list_filter = ["released_at"]
    search_fields = ["promotion__name", "order__number"]
    list_select_related = ["promotion", "order"]
    readonly_fields = ["promotion", "order", "amount", "counted", "created_at", "released_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(OrderDiscount)
class OrderDiscountAdmin(ModelAdmin):
    list_display = ["order", "line", "source", "name", "kind", "amount", "shipping"]
    list_filter = ["source", "kind"]
    search_fields = ["order__number", "name"]
    list_select_related = ["order", "line"]
    readonly_fields = [
        "order",
        "line",
        "source",
        "catalog_promotion",
        "cart_promotion",
        "name",
        "kind",
        "amount",
        "regular_unit_price",
        "shipping",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
