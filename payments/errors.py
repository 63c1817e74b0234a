"""The payments app's errors, each with its stable code and HTTP status."""

from __future__ import annotations

from api.errors import BadRequest, Conflict, NotFound


class PaymentNotFound(NotFound):
    code, message = "payment_not_found", "No payment with this reference."


class PaymentProviderUnknown(NotFound):
    code, message = "payment_provider_unknown", "No such payment provider."


class PaymentNotManual(Conflict):
    code = "payment_not_manual"
    message = "Only orders paid with the manual provider are marked paid by hand."


class NothingToReview(Conflict):
    code, message = "nothing_to_review", "No payment of this order needs review."


class WebhookInvalid(BadRequest):
    code, message = "webhook_invalid", "The webhook could not be verified."
