"""Promotion errors, each with a stable code (api/errors.py renders them)."""

from api.errors import Conflict


class PromotionUnavailable(Conflict):
    code, message = (
        "promotion_unavailable",
        "A promotion your cart showed has run out; confirm the new total to order without it.",
    )
