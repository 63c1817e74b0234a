"""Promotion errors, each with a stable code (api/errors.py renders them)."""

from api.errors import Conflict, NotFound


class PromotionUnavailable(Conflict):
    code, message = (
        "promotion_unavailable",
        "A promotion your cart showed has run out; confirm the new total to order without it.",
    )


class CatalogPromotionNotFound(NotFound):
    code, message = "catalog_promotion_not_found", "No such catalog promotion."


class CartPromotionNotFound(NotFound):
    code, message = "cart_promotion_not_found", "No such cart promotion."


class CartPromotionUsed(Conflict):
    code, message = (
        "cart_promotion_used",
        "Orders used this promotion: switch it off (is_active false) instead of deleting it.",
    )
