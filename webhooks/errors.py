"""Webhook errors, each with a stable code (api/errors.py renders them)."""

from api.errors import Conflict, InvalidInput, NotFound


class EndpointNotFound(NotFound):
    code, message = "webhook_endpoint_not_found", "No such webhook endpoint."


class DeliveryNotFound(NotFound):
    code, message = "webhook_delivery_not_found", "No such webhook delivery."


class EndpointDisabled(Conflict):
    code, message = (
        "webhook_endpoint_disabled",
        "The endpoint is disabled; enable it before sending anything to it again.",
    )


class UrlRefused(InvalidInput):
    """The URL may not receive deliveries: not https, or an address that is not public."""

    code, message = "webhook_url_refused", "This URL may not receive webhooks."
