"""Checkout and order errors, each with a stable code (api/errors.py renders them)."""

from api.errors import ApiError, Conflict, InvalidInput, NotFound


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


class RefundInvalid(InvalidInput):
    code, message = "refund_invalid", "The refund must be more than zero."


class RefundTooLarge(Conflict):
    code, message = "refund_exceeds_total", "The refund exceeds what is left to refund."


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
