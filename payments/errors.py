"""The payments app's errors, each with its stable code and HTTP status."""

from __future__ import annotations

from api.errors import BadRequest, Conflict, NotFound


class PaymentNotFound(NotFound):
    code, message = "payment_not_found", "No payment with this reference."


class PaymentProviderUnknown(NotFound):
    code, message = "payment_provider_unknown", "No such payment provider."


class PaymentOrderCancelled(Conflict):
    code, message = "order_cancelled", "The order was cancelled: nothing is to be paid."


class PaymentNotManual(Conflict):
    code = "payment_not_manual"
    message = "Only orders paid offline (bank transfer, cash on delivery) are marked paid by hand."


class RefundNotFound(NotFound):
    code, message = "refund_not_found", "No such refund."


class RefundNotDue(Conflict):
    code = "refund_not_due"
    message = "Only a pending refund of an offline payment is confirmed by staff."


class NothingToReview(Conflict):
    code, message = "nothing_to_review", "No payment of this order needs review."


class WebhookInvalid(BadRequest):
    code, message = "webhook_invalid", "The webhook could not be verified."
