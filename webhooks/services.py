"""Outgoing webhooks: endpoints, events recorded with their change, deliveries and their attempts.

    # in the transaction of the change (orders/webhooks.py, products/webhooks.py):
    webhook_events_record(
        event_type=EventType.ORDER_PAID,
        build=lambda: [(order.number, order_webhook_data(order, event))],
    )

1. `webhook_events_record` asks which active endpoints want the type (one query; nothing else
   happens, not even `build()`, when none does), then writes the Event rows, a Delivery per
   (event, endpoint) and a `webhooks.deliver` task per delivery through the outbox: all in the
   caller's transaction, so an event exists exactly when its change does.
2. `delivery_attempt` (the task) claims the delivery if it is open and due, by moving its due
   time past the attempt's timeout in a short transaction; posts the signed body outside any
   transaction (webhooks/transport.py: https, public addresses only, short timeout); then
   records the attempt and the outcome: delivered (2xx); retried (timeouts, connection errors,
   5xx, 408, 429) at a backoff of 30 s doubling to an hour until `retry_until`, a day after the
   event; failed (a refused URL, any other answer, retries over).
3. Beat's `deliveries_queue_due` queues a task for every open delivery that is due and has not
   been queued for that due time (a worker that died mid-attempt is covered too: its claim runs
   out and the delivery is due again).
4. An endpoint's first failure sets `failing_since`, a success clears it; still failing after
   WEBHOOKS_DISABLE_AFTER_HOURS, the endpoint is disabled, its open deliveries fail and staff
   are emailed once.
5. `delivery_redeliver` ("Send again") opens a delivery again for another day of retries, with
   the same event id, so the receiver can tell it already has it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from api.retention import delete_in_batches, retention_cutoff
from api.tasks import backoff_delay
from core.notifications import send_templated_email
from core.selectors import staff_emails
from webhooks import signing, tasks, transport
from webhooks.errors import DeliveryNotFound, EndpointDisabled, EndpointNotFound, UrlRefused
from webhooks.models import (
    OPEN_STATUSES,
    AttemptOutcome,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Endpoint,
    Event,
    EventType,
)

logger = logging.getLogger("webhooks")

# Answers worth another attempt besides 5xx: the receiver timed out, or asks us to slow down.
RETRY_STATUSES = frozenset({408, 429})
ENDPOINT_FIELDS = frozenset({"url", "description", "events", "secret", "is_active"})


# -- endpoints ------------------------------------------------------------------------------------


def endpoint_url_check(url: str) -> None:
    """422 `webhook_url_refused` for a URL no delivery may go to. A host that does not resolve
    yet is accepted (every attempt checks again); one that resolves to a private address is not."""
    try:
        transport.url_check(url)
    except transport.Refused as exc:
        raise UrlRefused.for_field("url", f"This URL may not receive webhooks: {exc}.") from None
    except transport.TransportError:
        pass


def _events_clean(events: Iterable[str]) -> list[str]:
    chosen = sorted(set(events))
    unknown = [name for name in chosen if name not in EventType.values]
    if unknown:
        raise UrlRefused.for_field(
            "events", f"Unknown event types: {', '.join(unknown)}.", code="validation_error"
        )
    if not chosen:
        raise UrlRefused.for_field(
            "events", "Choose at least one event type.", code="validation_error"
        )
    return chosen


def _secret_clean(secret: str | None) -> str:
    if secret is None or secret == "":
        return signing.secret_new()
    if len(secret) < 16:
        raise UrlRefused.for_field(
            "secret", "A secret has at least 16 characters.", code="validation_error"
        )
    return secret


def endpoint_create(
    *,
    url: str,
    events: Iterable[str],
    description: str = "",
    secret: str | None = None,
    is_active: bool = True,
    actor: Any = None,
) -> Endpoint:
    """A receiver of the given event types; a secret is made when none is given."""
    events = _events_clean(events)
    endpoint_url_check(url)
    return Endpoint.objects.create(
        url=url,
        description=description,
        events=events,
        secret=_secret_clean(secret),
        is_active=is_active,
        created_by=actor if getattr(actor, "pk", None) else None,
    )


@transaction.atomic
def endpoint_update(*, endpoint_id: int, **fields: Any) -> Endpoint:
    """Change the given fields. Enabling a disabled endpoint forgets its failures: its next
    failure starts a new day's count."""
    unknown = set(fields) - ENDPOINT_FIELDS
    if unknown:
        raise TypeError(f"endpoint_update got unknown fields {sorted(unknown)}")
    endpoint = Endpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None:
        raise EndpointNotFound()
    if "events" in fields:
        fields["events"] = _events_clean(fields["events"])
    if "url" in fields:
        endpoint_url_check(fields["url"])
    if "secret" in fields:
        fields["secret"] = _secret_clean(fields["secret"])
    if fields.get("is_active") and not endpoint.is_active:
        endpoint.failing_since = endpoint.disabled_at = None
        endpoint.disabled_reason = ""
    for name, value in fields.items():
        setattr(endpoint, name, value)
    endpoint.save()
    return endpoint


def endpoint_delete(*, endpoint_id: int) -> None:
    """The endpoint, its deliveries and their attempts (the events stay for other endpoints)."""
    deleted, _ = Endpoint.objects.filter(pk=endpoint_id).delete()
    if not deleted:
        raise EndpointNotFound()


# -- recording events -----------------------------------------------------------------------------


def webhook_events_record(
    *, event_type: str, build: Callable[[], Iterable[tuple[str, dict[str, Any]]]]
) -> list[Event]:
    """Record events of one type, in the caller's transaction, for the active endpoints that want
    it: `build()` gives (subject, data) pairs and is called only when an endpoint wants them."""
    endpoint_ids = list(
        Endpoint.objects.filter(is_active=True, events__contains=[event_type])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not endpoint_ids:
        return []
    items = list(build())
    if not items:
        return []
    now = timezone.now()
    events = Event.objects.bulk_create(
        Event(type=event_type, subject=str(subject)[:100], payload=data, created_at=now)
        for subject, data in items
    )
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            event=event,
            endpoint_id=endpoint_id,
            next_attempt_at=now,
            queued_at=now,
            retry_until=now + _retry_window(),
            created_at=now,
        )
        for event in events
        for endpoint_id in endpoint_ids
    )
    for delivery in deliveries:
        tasks.webhook_deliver_task.delay_on_commit(delivery.pk)
    return events


def _retry_window() -> timedelta:
    return timedelta(hours=settings.WEBHOOKS_RETRY_HOURS)


# -- delivering -----------------------------------------------------------------------------------


def delivery_request(delivery: Delivery, *, timestamp: int) -> tuple[bytes, dict[str, str]]:
    """The body and headers of an attempt: the signature covers this attempt's timestamp."""
    event, endpoint = delivery.event, delivery.endpoint
    body = signing.body_bytes(signing.envelope(event))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": signing.USER_AGENT,
        signing.EVENT_ID_HEADER: str(event.event_id),
        signing.EVENT_TYPE_HEADER: event.type,
        signing.SIGNATURE_HEADER: signing.signature_header(endpoint.secret, timestamp, body),
    }
    return body, headers


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    """The delivery, if it is open and due, with its due time moved past this attempt (nobody
    else posts it meanwhile); None otherwise (done, not due, or another worker has it)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(pk=delivery_id, status__in=OPEN_STATUSES, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        if not delivery.endpoint.is_active:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            delivery.last_error = "endpoint disabled"
            delivery.save(update_fields=["status", "next_attempt_at", "last_error"])
            return None
        delivery.attempts += 1
        # The claim: twice the attempt's longest run, then it is due again (a dead worker).
        delivery.next_attempt_at = now + timedelta(
            seconds=4 * settings.WEBHOOKS_TIMEOUT_SECONDS + 30
        )
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """Make one attempt at a delivery if it is open and due; the delivery after it, or None when
    there was nothing to do. Safe to run twice, and beside another worker."""
    now = now or timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return None
    body, headers = delivery_request(delivery, timestamp=int(now.timestamp()))
    started, clock = timezone.now(), time.monotonic()
    status_code, excerpt, error, latency = None, "", "", 0
    try:
        answer = transport.post(delivery.endpoint.url, body, headers)
    except transport.Refused as exc:
        outcome, error = AttemptOutcome.FAILED, f"refused: {exc}"
    except transport.TransportError as exc:
        outcome, error = AttemptOutcome.RETRY, str(exc)
        latency = int((time.monotonic() - clock) * 1000)
    else:
        status_code, latency = answer.status, answer.latency_ms
        excerpt = answer.body[: settings.WEBHOOKS_RESPONSE_EXCERPT_CHARS]
        if 200 <= answer.status < 300:
            outcome = AttemptOutcome.SUCCEEDED
        elif answer.status >= 500 or answer.status in RETRY_STATUSES:
            outcome = AttemptOutcome.RETRY
        else:
            outcome = AttemptOutcome.FAILED
    return _attempt_record(
        delivery,
        started=started,
        outcome=outcome,
        status_code=status_code,
        latency_ms=latency,
        excerpt=excerpt,
        error=error[:500],
        now=now,
    )


@transaction.atomic
def _attempt_record(
    delivery: Delivery,
    *,
    started: datetime,
    outcome: str,
    status_code: int | None,
    latency_ms: int,
    excerpt: str,
    error: str,
    now: datetime,
) -> Delivery:
    """The attempt in the log, the delivery's new state, and the endpoint's health."""
    finished = max(timezone.now(), now)
    if outcome == AttemptOutcome.RETRY:
        delay = backoff_delay(
            delivery.attempts - 1,
            base=settings.WEBHOOKS_RETRY_BASE_SECONDS,
            maximum=settings.WEBHOOKS_RETRY_MAX_SECONDS,
        )
        retry_at = finished + timedelta(seconds=delay)
        if retry_at > delivery.retry_until:
            outcome = AttemptOutcome.FAILED
            error = error or f"HTTP {status_code}"
            error = f"{error}; retried for {settings.WEBHOOKS_RETRY_HOURS} h, given up"[:500]
    DeliveryAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        started_at=started,
        outcome=outcome,
        status_code=status_code,
        latency_ms=latency_ms,
        response_excerpt=excerpt,
        error=error,
    )
    delivery.last_status_code = status_code
    delivery.last_error = error
    delivery.queued_at = None  # no task is queued for what comes next: beat queues a retry
    if outcome == AttemptOutcome.SUCCEEDED:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = finished
        delivery.next_attempt_at = None
    elif outcome == AttemptOutcome.RETRY:
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = retry_at
    else:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "queued_at",
            "last_status_code",
            "last_error",
            "delivered_at",
        ]
    )
    _endpoint_health(delivery.endpoint_id, succeeded=outcome == AttemptOutcome.SUCCEEDED, now=now)
    logger.info(
        "webhook attempt",
        extra={
            "delivery": delivery.pk,
            "event_type": delivery.event.type,
            "attempt": delivery.attempts,
            "outcome": outcome,
            "status_code": status_code,
            "latency_ms": latency_ms,
        },
    )
    return delivery


def _endpoint_health(endpoint_id: int, *, succeeded: bool, now: datetime) -> None:
    """A success clears the endpoint's failing streak; a failure starts one, and one that has
    lasted WEBHOOKS_DISABLE_AFTER_HOURS disables the endpoint (once: the update is conditional)."""
    endpoints = Endpoint.objects.filter(pk=endpoint_id)
    if succeeded:
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
        return
    endpoints.filter(failing_since__isnull=True).update(failing_since=now)
    hours = settings.WEBHOOKS_DISABLE_AFTER_HOURS
    disabled = endpoints.filter(
        is_active=True, failing_since__lte=now - timedelta(hours=hours)
    ).update(
        is_active=False,
        disabled_at=now,
        disabled_reason=f"Every delivery failed for {hours} hours.",
    )
    if disabled:
        Delivery.objects.filter(endpoint_id=endpoint_id, status__in=OPEN_STATUSES).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="endpoint disabled"
        )
        logger.warning("webhook endpoint disabled", extra={"endpoint": endpoint_id})
        tasks.endpoint_disabled_alert_send_task.delay_on_commit(endpoint_id)


def deliveries_queue_due(*, now: datetime | None = None, limit: int | None = None) -> int:
    """Beat: queue a task for each open delivery that is due and not queued for that due time
    yet (retries, and attempts whose worker died); how many."""
    now = now or timezone.now()
    limit = limit or settings.WEBHOOKS_DUE_BATCH
    with transaction.atomic():
        due = list(
            Delivery.objects.filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now)
            .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=F("next_attempt_at")))
            .select_for_update(skip_locked=True)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        if not due:
            return 0
        Delivery.objects.filter(pk__in=due).update(queued_at=now)
        for delivery_id in due:
            tasks.webhook_deliver_task.delay_on_commit(delivery_id)
    return len(due)


def delivery_redeliver(*, delivery_id: int, actor: Any = None) -> Delivery:
    """Send again: the delivery is open and due now, with another day of retries; the same event
    id, so a receiver that has it already can tell. 409 when its endpoint is disabled."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "event")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            raise DeliveryNotFound()
        if not delivery.endpoint.is_active:
            raise EndpointDisabled(details={"endpoint_id": delivery.endpoint_id})
        delivery.status = DeliveryStatus.PENDING
        delivery.next_attempt_at = delivery.queued_at = now
        delivery.retry_until = now + _retry_window()
        delivery.save(update_fields=["status", "next_attempt_at", "queued_at", "retry_until"])
        tasks.webhook_deliver_task.delay_on_commit(delivery.pk)
    logger.info(
        "webhook sent again",
        extra={"delivery": delivery.pk, "actor": getattr(actor, "pk", None)},
    )
    return delivery


# -- staff alert ----------------------------------------------------------------------------------


def endpoint_disabled_alert_send(*, endpoint_id: int) -> int:
    """Email staff that an endpoint was disabled (once per disabling: keyed by its time)."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id, is_active=False).first()
    if endpoint is None or endpoint.disabled_at is None:
        return 0
    recipients = list(settings.WEBHOOKS_ALERT_EMAILS) or staff_emails()
    context = {
        "url": endpoint.url,
        "description": endpoint.description,
        "reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "disabled_at": endpoint.disabled_at,
    }
    stamp = int(endpoint.disabled_at.timestamp())
    return sum(
        send_templated_email(
            template="webhook_endpoint_disabled",
            to=email,
            context=context,
            event_key=f"webhook_disabled:{endpoint.pk}:{stamp}:{email}"[:200],
        )
        for email in recipients
    )


# -- retention ------------------------------------------------------------------------------------


def webhook_deliveries_prune(*, now: datetime | None = None) -> int:
    """Events older than WEBHOOK_DELIVERY_KEEP_DAYS none of whose deliveries is still open, with
    their deliveries and attempts (attempts, then deliveries, then events: each a plain batch)."""
    cutoff = retention_cutoff(settings.WEBHOOK_DELIVERY_KEEP_DAYS, now=now)
    if cutoff is None:
        return 0
    finished = _finished_events(cutoff)
    delete_in_batches(DeliveryAttempt.objects.filter(delivery__event__in=finished))
    delete_in_batches(Delivery.objects.filter(event__in=finished))
    return delete_in_batches(Event.objects.filter(pk__in=finished, deliveries__isnull=True))


def _finished_events(cutoff: datetime) -> QuerySet[Event]:
    still_open = Delivery.objects.filter(status__in=OPEN_STATUSES).values("event_id")
    return Event.objects.filter(created_at__lt=cutoff).exclude(pk__in=still_open).values("pk")
