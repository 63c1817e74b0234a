"""Cart admin: coupons are managed here; carts are shown read-only for support."""

from __future__ import annotations

from django.contrib import admin
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from cart.models import Cart, CartLine, Coupon, CouponRedemption


@admin.register(Coupon)
class CouponAdmin(ModelAdmin):
    list_display = [
        "code",
        "kind",
        "value",
        "min_subtotal",
        "usage",
        "starts_at",
        "ends_at",
        "is_active",
    ]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "description"]
    readonly_fields = ["times_used", "created_at"]
    fields = [
        "code",
        "description",
        "kind",
        "value",
        "min_subtotal",
        "starts_at",
        "ends_at",
        "usage_limit",
        "per_customer_limit",
        "is_active",
        "times_used",
        "created_at",
    ]

    @display(description="Used")
    def usage(self, obj: Coupon) -> str:
        return f"{obj.times_used} / {obj.usage_limit}" if obj.usage_limit else str(obj.times_used)


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(ModelAdmin):
    list_display = ["coupon", "order", "email", "discount_amount", "created_at", "released_at"]
    list_filter = ["released_at"]
    search_fields = ["coupon__code", "order__number", "email"]
    list_select_related = ["coupon", "order"]
    readonly_fields = [
        "coupon",
        "order",
        "user",
        "email",
        "discount_amount",
        "created_at",
        "released_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CartLineInline(TabularInline):
    model = CartLine
    extra = 0
    can_delete = False
    fields = ["variant", "quantity", "unit_price_at_add", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Cart)
class CartAdmin(ModelAdmin):
    list_display = ["id", "owner", "status", "coupon", "updated_at"]
    list_filter = ["status"]
    search_fields = ["user__email"]
    list_select_related = ["user", "coupon"]
    readonly_fields = [
        "user",
        "status",
        "coupon",
        "currency",
        "merged_into",
        "created_at",
        "updated_at",
        "closed_at",
    ]
    inlines = [CartLineInline]

    @display(description="Owner")
    def owner(self, obj: Cart) -> str:
        return obj.user.email if obj.user_id else "guest"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
