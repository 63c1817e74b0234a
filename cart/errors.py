"""Cart and coupon errors, each with a stable code (api/errors.py renders them)."""

from api.errors import Conflict, NotFound


class CartNotFound(NotFound):
    code, message = "cart_not_found", "No such cart; create one with POST /api/cart."


class CartLineNotFound(NotFound):
    code, message = "cart_line_not_found", "No such line in your cart."


class QuantityLimitExceeded(Conflict):
    code, message = "quantity_limit", "Too many of one item for one order."


class CartClosed(Conflict):
    code, message = "cart_closed", "This cart was checked out or merged; use your current cart."


class CartLimitReached(Conflict):
    code, message = "cart_limit_reached", "The cart cannot hold more lines."


class CouponError(Conflict):
    """A coupon that cannot be applied (now): the code says why."""


class CouponNotFound(NotFound):
    code, message = "coupon_not_found", "No such coupon."


class CouponInactive(CouponError):
    code, message = "coupon_inactive", "This coupon is no longer valid."


class CouponNotStarted(CouponError):
    code, message = "coupon_not_started", "This coupon is not valid yet."


class CouponExpired(CouponError):
    code, message = "coupon_expired", "This coupon has expired."


class CouponMinSubtotal(CouponError):
    code, message = "coupon_min_subtotal", "The subtotal is below this coupon's minimum."


class CouponUsageLimit(CouponError):
    code, message = "coupon_usage_limit", "This coupon has been used as often as it may be."


class CouponCustomerLimit(CouponError):
    code, message = "coupon_customer_limit", "You have already used this coupon."
