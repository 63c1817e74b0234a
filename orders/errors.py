"""Checkout and order errors, each with a stable code (api/errors.py renders them)."""

from api.errors import ApiError, Conflict, InvalidInput, NotFound, PermissionDenied


class OrderNotFound(NotFound):
    code, message = "order_not_found", "No such order."


class InvalidTransition(Conflict):
    code, message = (
        "invalid_transition",
        "The order cannot move to that status from its current one.",
    )


class CartEmpty(Conflict):
    code, message = "cart_empty", "The cart is empty."


class CartCheckedOut(Conflict):
    code, message = "cart_checked_out", "This cart was already checked out."


class VariantUnavailable(Conflict):
    code, message = "variant_unavailable", "Some items in the cart are no longer for sale."


class PriceChanged(Conflict):
    """A price moved since the customer saw the cart: nothing is charged until they accept it
    (expected_total equal to the new total, or accept_price_changes)."""

    code = "price_changed"
    message = "Prices changed since the cart was shown; review the new total and confirm it."


class UnpaidOrdersLimit(Conflict):
    code = "unpaid_orders_limit"
    message = "Too many orders are waiting for payment; pay or cancel one first."


class SignInRequired(PermissionDenied):
    code = "sign_in_required"
    message = "Sign in to pay this way (offline payments are for customers with an account)."


class AmountBelowMinimum(InvalidInput):
    code, message = "amount_below_minimum", "The total is below what this payment method accepts."


class RefundInvalid(InvalidInput):
    code, message = "refund_invalid", "The refund must be more than zero."


class RefundTooLarge(Conflict):
    code, message = "refund_exceeds_total", "The refund exceeds what is left to refund."


class RefundLinesRequired(InvalidInput):
    """Restocking returns exactly the units a refund names: a money-only refund names none."""

    code = "refund_lines_required"
    message = "Say which lines came back (`lines` with their quantities) to return their stock."


class RefundLineNotFound(InvalidInput):
    code, message = "refund_line_not_found", "The order has no such line."


class RefundExceedsQuantity(Conflict):
    """details.lines: each line asked beyond what is left of it (line_id, sku, requested,
    refundable)."""

    code, message = "refund_exceeds_quantity", "A line cannot be refunded beyond its quantity."


class RefundExceedsShipping(Conflict):
    code, message = "refund_exceeds_shipping", "The shipping refund exceeds the shipping left."


class NothingToShip(Conflict):
    code, message = (
        "nothing_to_ship",
        "Every line of the order was refunded: nothing is left to ship.",
    )


class PaymentUnavailable(ApiError):
    """The order is placed but its payment could not be started; the same request again (same
    Idempotency-Key) retries the start."""

    status, code = 503, "payment_provider_unavailable"
    message = (
        "The order is placed but its payment could not be started; "
        "retry with the same Idempotency-Key."
    )


class InventoryUploadNotFound(NotFound):
    code, message = "inventory_upload_not_found", "No such upload."


class InventoryUploadDuplicate(Conflict):
    code, message = (
        "inventory_upload_duplicate",
        "This file was already uploaded; it is applied once.",
    )
