"""Webhook tasks: thin, by id, safe to run twice (webhooks/services.py re-checks every row).

`webhooks.deliver` has its own queue (one worker group makes the HTTP calls, which may each take
seconds); beat's `webhooks.deliver_due` and the alert go to the default queue.
"""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("webhooks.tasks")


@shared_task(name="webhooks.deliver")
def webhook_deliver_task(delivery_id: int) -> str | None:
    """One attempt at a delivery, if it is still open and due (its retries are beat's)."""
    from webhooks.services import delivery_attempt

    delivery = delivery_attempt(delivery_id=delivery_id)
    return delivery.status if delivery else None


@shared_task(name="webhooks.deliver_due")
def deliveries_queue_due_task() -> int:
    """Beat: queue the deliveries whose next attempt is due."""
    from webhooks.services import deliveries_queue_due

    return deliveries_queue_due()


@shared_task(name="email.send_webhook_endpoint_disabled")
def endpoint_disabled_alert_send_task(endpoint_id: int) -> int:
    """Tell staff an endpoint was disabled after failing for a day; once per disabling."""
    from webhooks.services import endpoint_disabled_alert_send

    return endpoint_disabled_alert_send(endpoint_id=endpoint_id)


@shared_task(name="maintenance.prune_webhook_deliveries")
def webhook_deliveries_prune_task() -> int:
    """Daily (beat): finished webhook events older than WEBHOOK_DELIVERY_KEEP_DAYS."""
    from webhooks.services import webhook_deliveries_prune

    deleted = webhook_deliveries_prune()
    logger.info("pruned", extra={"table": "webhook events", "deleted": deleted})
    return deleted
