"""/api/staff/webhooks: endpoints (create, read, change, delete), their deliveries with each
attempt, and "Send again". Every route needs a staff token and the model permission it names."""

from django.http import HttpRequest
from ninja import Header, Path, Query, Status
from ninja_extra import api_controller, route
from ninja_extra.pagination import paginate

from api.auth import JWTAuth
from api.controllers import ApiController, error_responses
from api.idempotency import HEADER, idempotent_answer, validate_key
from api.pagination import Page, PageNumberPagination
from api.permissions import StaffWithPerms
from webhooks import selectors, services
from webhooks.schemas import (
    DeliveryDetailOut,
    DeliveryFilter,
    DeliveryOut,
    EndpointCreatedOut,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    Id,
)

READ_ERRORS = error_responses(401, 403, 404, 429)
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429)


def perm(codename: str) -> list:
    return [StaffWithPerms(f"webhooks.{codename}")]


@api_controller("/staff/webhooks", tags=["staff: webhooks"], auth=JWTAuth())
class StaffWebhookController(ApiController):
    @route.get(
        "/endpoints",
        response={200: Page[EndpointOut], **READ_ERRORS},
        permissions=perm("view_endpoint"),
        summary="Every webhook endpoint, newest first",
    )
    @paginate(PageNumberPagination)
    def endpoints(self):
        return selectors.endpoint_list()

    @route.post(
        "/endpoints",
        response={201: EndpointCreatedOut, **WRITE_ERRORS},
        permissions=perm("add_endpoint"),
        summary="Register an endpoint for some event types (Idempotency-Key accepted)",
        description=(
            "The answer carries the signing secret (made for you unless given): the only answer "
            "that shows it. The URL must be https and resolve to public addresses only (422 "
            "`webhook_url_refused`). docs/webhooks.md: the payloads and the signature."
        ),
    )
    def endpoint_create(
        self,
        request: HttpRequest,
        payload: EndpointIn,
        idempotency_key: str | None = Header(None, alias=HEADER, max_length=255),
    ):
        def operation():
            endpoint = services.endpoint_create(**payload.model_dump(), actor=request.user)
            return 201, EndpointCreatedOut.from_orm(endpoint).model_dump(mode="json")

        return idempotent_answer(
            scope="webhooks.endpoint_create",
            user=request.user,
            key=validate_key(idempotency_key),
            payload=payload.model_dump(mode="json"),
            operation=operation,
        )

    @route.get(
        "/endpoints/{endpoint_id}",
        response={200: EndpointOut, **READ_ERRORS},
        permissions=perm("view_endpoint"),
    )
    def endpoint(self, endpoint_id: Path[Id]):
        return selectors.endpoint_get(endpoint_id=endpoint_id)

    @route.patch(
        "/endpoints/{endpoint_id}",
        response={200: EndpointOut, **WRITE_ERRORS},
        permissions=perm("change_endpoint"),
        summary="Change an endpoint; `is_active: true` enables a disabled one",
    )
    def endpoint_update(self, endpoint_id: Path[Id], payload: EndpointPatch):
        changes = {
            name: value
            for name, value in payload.model_dump(exclude_unset=True).items()
            if value is not None
        }
        return services.endpoint_update(endpoint_id=endpoint_id, **changes)

    @route.delete(
        "/endpoints/{endpoint_id}",
        response={204: None, **WRITE_ERRORS},
        permissions=perm("delete_endpoint"),
        summary="Delete an endpoint with its deliveries",
    )
    def endpoint_delete(self, endpoint_id: Path[Id]):
        services.endpoint_delete(endpoint_id=endpoint_id)
        return Status(204, None)

    @route.get(
        "/deliveries",
        response={200: Page[DeliveryOut], **READ_ERRORS},
        permissions=perm("view_delivery"),
        summary="Deliveries, newest first, by endpoint, status, event type or subject",
    )
    @paginate(PageNumberPagination)
    def deliveries(self, filters: Query[DeliveryFilter]):
        return selectors.delivery_list(**filters.model_dump())

    @route.get(
        "/deliveries/{delivery_id}",
        response={200: DeliveryDetailOut, **READ_ERRORS},
        permissions=perm("view_delivery"),
        summary="A delivery with its payload and every attempt (status, latency, answer)",
    )
    def delivery(self, delivery_id: Path[Id]):
        return selectors.delivery_get(delivery_id=delivery_id)

    @route.post(
        "/deliveries/{delivery_id}/redeliver",
        response={200: DeliveryOut, **WRITE_ERRORS},
        permissions=perm("redeliver_delivery"),
        summary="Send again (Idempotency-Key required)",
        description=(
            "The delivery is sent now, with the same event id, and retried for another day if it "
            "fails. 409 `webhook_endpoint_disabled` when its endpoint is disabled. The same key "
            "answers the first answer again and sends once."
        ),
    )
    def redeliver(
        self,
        request: HttpRequest,
        delivery_id: Path[Id],
        idempotency_key: str | None = Header(None, alias=HEADER, max_length=255),
    ):
        key = validate_key(idempotency_key, required=True)

        def operation():
            services.delivery_redeliver(delivery_id=delivery_id, actor=request.user)
            delivery = selectors.delivery_get(delivery_id=delivery_id)
            return 200, DeliveryOut.from_orm(delivery).model_dump(mode="json")

        return idempotent_answer(
            scope="webhooks.redeliver",
            user=request.user,
            key=key,
            payload={"delivery_id": delivery_id},
            operation=operation,
        )
