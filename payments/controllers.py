"""/api/payments: the providers a checkout may choose, and the providers' webhooks."""

from django.http import HttpRequest
from ninja import Path
from ninja_extra import api_controller, route

from api.controllers import ApiController
from api.schemas import ErrorOut
from payments import selectors, services
from payments.schemas import ProvidersOut, WebhookAckOut


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
