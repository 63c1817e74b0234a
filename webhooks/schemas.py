"""What the staff webhook routes read and answer (explicit fields, never the secret in a list)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from ninja import Field, Schema

from api.schemas import InputSchema
from webhooks.models import DeliveryStatus, EventType
from webhooks.signing import envelope

EventName = Annotated[EventType, Field(description="An event type, e.g. `order.paid`.")]
Url = Annotated[
    str,
    Field(
        min_length=8,
        max_length=2000,
        pattern=r"^[hH][tT][tT][pP][sS]?://[^\s\x00]+$",
        description="Where deliveries are POSTed: https, a public address.",
    ),
]
Secret = Annotated[
    str,
    Field(
        min_length=16,
        max_length=100,
        pattern=r"^[\x21-\x7e]+$",
        description="Signs every delivery; made for you when left out.",
    ),
]
Description = Annotated[str, Field(max_length=200)]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]


class EndpointIn(InputSchema):
    url: Url
    events: list[EventName] = Field(min_length=1, max_length=len(EventType.values))
    description: Description = ""
    secret: Secret | None = None
    is_active: bool = True


class EndpointPatch(InputSchema):
    url: Url | None = None
    events: list[EventName] | None = Field(None, min_length=1, max_length=len(EventType.values))
    description: Description | None = None
    secret: Secret | None = None
    is_active: bool | None = None


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str
    secret_hint: str = Field(description="The secret's last four characters.")

    @staticmethod
    def resolve_secret_hint(endpoint) -> str:
        return f"...{endpoint.secret[-4:]}"


class EndpointCreatedOut(EndpointOut):
    secret: str = Field(description="Shown once, here: keep it where the receiver can read it.")


class AttemptOut(Schema):
    number: int
    started_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: int
    response_excerpt: str
    error: str


class DeliveryOut(Schema):
    id: int
    endpoint_id: int
    event_id: UUID
    event_type: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    retry_until: datetime
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_event_id(delivery) -> UUID:
        return delivery.event.event_id

    @staticmethod
    def resolve_event_type(delivery) -> str:
        return delivery.event.type

    @staticmethod
    def resolve_subject(delivery) -> str:
        return delivery.event.subject


class DeliveryDetailOut(DeliveryOut):
    payload: dict[str, Any] = Field(description="The event as the receiver gets it.")
    attempt_log: list[AttemptOut]

    @staticmethod
    def resolve_payload(delivery) -> dict[str, Any]:
        return envelope(delivery.event)

    @staticmethod
    def resolve_attempt_log(delivery) -> list:
        return list(delivery.attempt_log.all())


class DeliveryFilter(Schema):
    endpoint_id: Id | None = None
    status: DeliveryStatus | None = None
    event_type: EventType | None = None
    subject: Annotated[str, Field(max_length=100, pattern=r"^[^\x00]*$")] | None = Field(
        None, description="An order number or a product id, exactly."
    )
