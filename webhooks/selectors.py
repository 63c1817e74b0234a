"""Reads for the staff webhook routes and the admin: each a fixed number of queries."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from webhooks.errors import DeliveryNotFound, EndpointNotFound
from webhooks.models import Delivery, DeliveryAttempt, Endpoint


def endpoint_list() -> QuerySet[Endpoint]:
    return Endpoint.objects.order_by("-created_at", "-id")


def endpoint_get(*, endpoint_id: int) -> Endpoint:
    endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise EndpointNotFound()
    return endpoint


def delivery_list(
    *,
    endpoint_id: int | None = None,
    status: str | None = None,
    event_type: str | None = None,
    subject: str | None = None,
) -> QuerySet[Delivery]:
    """Newest first, with their events (one join)."""
    deliveries = Delivery.objects.select_related("event")
    if endpoint_id is not None:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    if status:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(event__type=event_type)
    if subject:
        deliveries = deliveries.filter(event__subject=subject)
    return deliveries.order_by("-created_at", "-id")


def delivery_get(*, delivery_id: int) -> Delivery:
    """A delivery with its event and every attempt, in order (two queries)."""
    delivery = (
        Delivery.objects.select_related("event")
        .prefetch_related(
            Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number"))
        )
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        raise DeliveryNotFound()
    return delivery
