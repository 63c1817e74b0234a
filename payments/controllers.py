"""/api/payments: the providers a checkout may choose, and the providers' webhooks."""

from django.http import HttpRequest
from ninja import Header, Path, Query
from ninja_extra import api_controller, route
from ninja_extra.pagination import paginate

from api.auth import JWTAuth
from api.controllers import ApiController, error_responses
from api.idempotency import HEADER, idempotent_answer, validate_key
from api.pagination import Page, PageNumberPagination
from api.permissions import StaffWithPerms
from api.schemas import ErrorOut
from payments import selectors, services
from payments.schemas import (
    ProvidersOut,
    RefundConfirmIn,
    StaffRefundFilter,
    StaffRefundOut,
    WebhookAckOut,
)


@api_controller("/payments", tags=["payments"], auth=None)
class PaymentController(ApiController):
    @route.get("/providers", response={200: ProvidersOut}, summary="Providers checkout accepts")
    def providers(self):
        return {"providers": selectors.providers_offered()}

    @route.post(
        "/{provider}/webhook",
        response={200: WebhookAckOut, 400: ErrorOut, 404: ErrorOut},
        summary="A provider's webhook (Stripe: signed with STRIPE_WEBHOOK_SECRET)",
        description=(
            "The signature is checked on the raw body (Stripe's scheme, 300 s tolerance): a bad "
            "or old one is a 400 `webhook_invalid` and nothing is written. The event is stored "
            "under its id (a repeated delivery is a 200 with `duplicate: true` and nothing "
            "else) and processed by the payment.webhook_process task; the answer is immediate."
        ),
        openapi_extra={"requestBody": {"content": {"application/json": {"schema": {}}}}},
    )
    def webhook(self, request: HttpRequest, provider: Path[str]):
        _, created = services.webhook_receive(
            provider=provider, body=request.body, headers=request.headers
        )
        return {"received": True, "duplicate": not created}


@api_controller("/staff/refunds", tags=["staff: orders"], auth=JWTAuth())
class StaffRefundController(ApiController):
    """Refunds, and the offline ones staff make outside the shop and then confirm."""

    @route.get(
        "",
        response={200: Page[StaffRefundOut], **error_responses(401, 403, 422, 429)},
        permissions=[StaffWithPerms("payments.view_refund")],
        summary="Refunds, newest first (due=true: offline refunds staff still have to send)",
    )
    @paginate(PageNumberPagination)
    def list(self, filters: Query[StaffRefundFilter]):
        return selectors.refunds_for_staff(due=filters.due)

    @route.post(
        "/{refund_id}/confirm",
        response={200: StaffRefundOut, **error_responses(400, 401, 403, 404, 409, 422, 429)},
        permissions=[StaffWithPerms("payments.change_refund")],
        summary="An offline payment's refund was sent: count it (Idempotency-Key required)",
        description="409 `refund_not_due` for a card refund or one confirmed already.",
    )
    def confirm(
        self,
        request: HttpRequest,
        refund_id: Path[int],
        payload: RefundConfirmIn,
        idempotency_key: str | None = Header(None, alias=HEADER),
    ):
        def operation():
            refund = services.payment_refund_confirm(
                refund_id=refund_id, actor=request.user, note=payload.note
            )
            refund = selectors.refunds_for_staff().get(pk=refund.pk)
            return 200, StaffRefundOut.from_orm(refund).model_dump(mode="json")

        return idempotent_answer(
            scope="payments.refund_confirm",
            user=request.user,
            key=validate_key(idempotency_key, required=True),
            payload={"refund_id": refund_id, **payload.model_dump(mode="json")},
            operation=operation,
        )
