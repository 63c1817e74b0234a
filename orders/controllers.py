"""/api/checkout, /api/orders and the staff routes for orders, sales reports and inventory."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Header, Path, Query, UploadedFile
from ninja_extra import api_controller, route
from ninja_extra.pagination import paginate

from api.auth import JWTAuth, OptionalJWTAuth
from api.controllers import ApiController
from api.idempotency import HEADER, idempotent_answer, idempotent_response, validate_key
from api.pagination import Page, PageNumberPagination
from api.permissions import StaffWithPerms
from api.ratelimit import client_ip
from api.schemas import Day, ErrorOut
from cart.controllers import CartToken
from cart.selectors import caller_user
from orders import checkout as checkout_service
from orders import inventory, reports, selectors, services
from orders.models import Order
from orders.schemas import (
    ORDER_TOKEN_HEADER,
    CancelIn,
    CheckoutIn,
    Id,
    InventoryUploadDetailOut,
    InventoryUploadOut,
    OrderFilter,
    OrderListItemOut,
    OrderNumber,
    OrderOut,
    RefundIn,
    ReviewResolvedIn,
    SalesReportOut,
    ShipIn,
    StaffNoteIn,
    StaffOrderFilter,
    StaffOrderListItemOut,
    StaffOrderOut,
)
from payments.schemas import OrderPaymentOut
from payments.selectors import payment_for_customer
from payments.services import payment_record_manual, payment_review_resolve

ERRORS = {401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}
STAFF_ERRORS = {**ERRORS, 403: ErrorOut}
STAFF_WRITE_ERRORS = {**STAFF_ERRORS, 400: ErrorOut}
IDEMPOTENT = (
    "Idempotency-Key required (400 `idempotency_key_required`): the same key and body answer "
    "the first answer again, and the action happens once."
)


def OrderToken():
    return Header(
        None,
        alias=ORDER_TOKEN_HEADER,
        max_length=64,
        description="The order's token from checkout: how a guest opens their order.",
    )


def IdempotencyKey(description: str):
    return Header(None, alias=HEADER, max_length=255, description=description)


@api_controller("/checkout", tags=["checkout"], auth=OptionalJWTAuth())
class CheckoutController(ApiController):
    @route.post(
        "",
        response={201: OrderOut, 400: ErrorOut, 403: ErrorOut, 503: ErrorOut, **ERRORS},
        summary="Place the order for the cart (Idempotency-Key required)",
        description=(
            "Prices, discount, shipping and tax are computed here from the database. The same "
            "Idempotency-Key with the same body answers the same order again (201, identical "
            "body, header `Idempotent-Replayed: true`); with another body it is a 409 "
            "`idempotency_key_reused`. A cart already checked out is a 409 `cart_checked_out` "
            "naming its order, whatever the key. 409 `insufficient_stock` lists the short lines; "
            "409 `price_changed` lists the lines whose price moved since they were added (send "
            "`expected_total` equal to the new total, or `accept_price_changes`); 409 "
            "`unpaid_orders_limit` when ORDER_MAX_UNPAID orders of this email, account or "
            "address wait for payment; 409 `quantity_limit` beyond CART_MAX_LINE_QUANTITY of one "
            "item; 422 `amount_below_minimum` under the provider's minimum. A total of zero (a "
            "100% coupon) is paid at once, with no provider."
        ),
    )
    def checkout(
        self,
        payload: CheckoutIn,
        x_cart_token: str | None = CartToken(),
        idempotency_key: str | None = IdempotencyKey("Required: one per order attempt."),
    ):
        key = validate_key(idempotency_key, required=True)
        data = checkout_service.CheckoutData(
            email=payload.email,
            shipping_address_id=payload.shipping_address_id,
            shipping_address=payload.shipping_address.model_dump()
            if payload.shipping_address
            else None,
            billing_address_id=payload.billing_address_id,
            billing_address=payload.billing_address.model_dump()
            if payload.billing_address
            else None,
            payment_provider=payload.payment_provider,
            customer_note=payload.customer_note,
            expected_total=payload.expected_total,
            accept_price_changes=payload.accept_price_changes,
            client_ip=client_ip(self.context.request),
        )
        result = checkout_service.checkout(
            user=self.context.request.auth,
            cart_token=x_cart_token,
            idempotency_key=key,
            data=data,
            payload=payload.model_dump(mode="json"),
            answer=self._answer,
        )
        return idempotent_response(result)

    @staticmethod
    def _answer(order: Order) -> tuple[int, dict[str, Any]]:
        # Stored as the key's answer: every repeat gets these same bytes.
        return 201, OrderOut.from_orm(order).model_dump(mode="json")


@api_controller("/orders", tags=["orders"], auth=OptionalJWTAuth())
class OrderController(ApiController):
    @route.get(
        "",
        response={200: Page[OrderListItemOut], **ERRORS},
        auth=JWTAuth(),
        summary="Your orders, newest first",
    )
    @paginate(PageNumberPagination)
    def list(self, filters: Query[OrderFilter]):
        return selectors.order_list_for_user(user=self.context.request.auth, status=filters.status)

    @route.get(
        "/{number}",
        response={200: OrderOut, **ERRORS},
        summary="One order: yours, or a guest's with its X-Order-Token",
    )
    def get(self, number: Path[OrderNumber], x_order_token: str | None = OrderToken()):
        order = selectors.order_for_customer(
            number=number, user=self.context.request.auth, token=x_order_token
        )
        return selectors.order_detail(order)

    @route.get(
        "/{number}/payment",
        response={200: OrderPaymentOut, **ERRORS},
        summary="The order's payment: status and what the client needs to pay (client_secret)",
    )
    def payment(self, number: Path[OrderNumber], x_order_token: str | None = OrderToken()):
        order = selectors.order_for_customer(
            number=number, user=self.context.request.auth, token=x_order_token
        )
        return payment_for_customer(order=order)

    @route.post(
        "/{number}/cancel",
        response={200: OrderOut, **ERRORS},
        summary="Cancel while pending payment or paid (a paid order is refunded)",
    )
    def cancel(
        self,
        number: Path[OrderNumber],
        payload: CancelIn,
        x_order_token: str | None = OrderToken(),
    ):
        user = self.context.request.auth
        order = selectors.order_for_customer(number=number, user=user, token=x_order_token)
        services.order_cancel_by_customer(
            order_id=order.pk, user=caller_user(user), note=payload.reason
        )
        return selectors.order_detail(order)


# -- staff ----------------------------------------------------------------------------------------


def perm(codename: str) -> list:
    return [StaffWithPerms(codename)]


@api_controller("/staff/orders", tags=["staff: orders"], auth=JWTAuth())
class StaffOrderController(ApiController):
    def _out(self, order: Order) -> Order:
        return selectors.order_detail(order)

    @route.get(
        "",
        response={200: Page[StaffOrderListItemOut], **STAFF_ERRORS},
        permissions=perm("orders.view_order"),
        summary="Every order, newest first, with filters",
    )
    @paginate(PageNumberPagination)
    def list(self, filters: Query[StaffOrderFilter]):
        return selectors.order_list_for_staff(**filters.model_dump())

    @route.get(
        "/{number}",
        response={200: StaffOrderOut, **STAFF_ERRORS},
        permissions=perm("orders.view_order"),
    )
    def get(self, number: Path[OrderNumber]):
        return self._out(selectors.order_get(number=number))

    def _idempotent(
        self, request: HttpRequest, *, action: str, number: str, payload, key: str | None, call
    ):
        """Run `call(order)` once per Idempotency-Key (required: these routes move money, stock
        or goods); the first answer, the rendered StaffOrderOut, is what every repeat gets."""
        key = validate_key(key, required=True)
        order = selectors.order_get(number=number)

        def operation():
            call(order)
            body = StaffOrderOut.from_orm(selectors.order_detail(order)).model_dump(mode="json")
            return 200, body

        return idempotent_answer(
            scope=f"staff.orders.{action}",
            user=request.user,
            key=key,
            payload={"number": number, **payload.model_dump(mode="json")},
            operation=operation,
        )

    @route.post(
        "/{number}/mark-paid",
        response={200: StaffOrderOut, **STAFF_WRITE_ERRORS},
        permissions=perm("orders.change_order"),
        summary="The money of a manual payment arrived: the order becomes paid",
        description=IDEMPOTENT,
    )
    def mark_paid(
        self,
        request: HttpRequest,
        number: Path[OrderNumber],
        payload: StaffNoteIn,
        idempotency_key: str | None = IdempotencyKey("Required."),
    ):
        return self._idempotent(
            request,
            action="mark_paid",
            number=number,
            payload=payload,
            key=idempotency_key,
            call=lambda order: payment_record_manual(
                order=order, actor=request.user, note=payload.note
            ),
        )

    @route.post(
        "/{number}/review-resolved",
        response={200: StaffOrderOut, **STAFF_WRITE_ERRORS},
        permissions=perm("orders.change_order"),
        summary="Clear the review flags of the order's payments, saying what was done",
        description=(
            "409 nothing_to_review when no payment is flagged. The reasons and the note stay in "
            f"the order's log. {IDEMPOTENT}"
        ),
    )
    def review_resolved(
        self,
        request: HttpRequest,
        number: Path[OrderNumber],
        payload: ReviewResolvedIn,
        idempotency_key: str | None = IdempotencyKey("Required."),
    ):
        return self._idempotent(
            request,
            action="review_resolved",
            number=number,
            payload=payload,
            key=idempotency_key,
            call=lambda order: payment_review_resolve(
                order_id=order.pk, actor=request.user, note=payload.note
            ),
        )

    @route.post(
        "/{number}/ship",
        response={200: StaffOrderOut, **STAFF_WRITE_ERRORS},
        permissions=perm("orders.change_order"),
        summary="Ship what is left with a tracking number (the customer is emailed)",
        description=(
            "The units not refunded ship (the email lists them); an order whose every unit was "
            f"refunded is a 409 `nothing_to_ship`. {IDEMPOTENT}"
        ),
    )
    def ship(
        self,
        request: HttpRequest,
        number: Path[OrderNumber],
        payload: ShipIn,
        idempotency_key: str | None = IdempotencyKey("Required."),
    ):
        return self._idempotent(
            request,
            action="ship",
            number=number,
            payload=payload,
            key=idempotency_key,
            call=lambda order: services.order_ship(
                order_id=order.pk,
                tracking_number=payload.tracking_number,
                carrier=payload.carrier,
                actor=request.user,
                note=payload.note,
            ),
        )

    @route.post(
        "/{number}/deliver",
        response={200: StaffOrderOut, **STAFF_WRITE_ERRORS},
        permissions=perm("orders.change_order"),
        description=IDEMPOTENT,
    )
    def deliver(
        self,
        request: HttpRequest,
        number: Path[OrderNumber],
        payload: StaffNoteIn,
        idempotency_key: str | None = IdempotencyKey("Required."),
    ):
        return self._idempotent(
            request,
            action="deliver",
            number=number,
            payload=payload,
            key=idempotency_key,
            call=lambda order: services.order_deliver(
                order_id=order.pk, actor=request.user, note=payload.note
            ),
        )

    @route.post(
        "/{number}/cancel",
        response={200: StaffOrderOut, **STAFF_WRITE_ERRORS},
        permissions=perm("orders.change_order"),
        summary="Cancel (pending payment or paid): stock returns, a paid order is refunded",
        description=IDEMPOTENT,
    )
    def cancel(
        self,
        request: HttpRequest,
        number: Path[OrderNumber],
        payload: StaffNoteIn,
        idempotency_key: str | None = IdempotencyKey("Required."),
    ):
        return self._idempotent(
            request,
            action="cancel",
            number=number,
            payload=payload,
            key=idempotency_key,
            call=lambda order: services.order_cancel(
                order_id=order.pk, actor=request.user, note=payload.note
            ),
        )

    @route.post(
        "/{number}/refund",
        response={200: StaffOrderOut, **STAFF_WRITE_ERRORS},
        permissions=perm("orders.change_order"),
        summary="Refund lines, shipping, an amount, or everything left",
        description=(
            "`lines: [{line_id, quantity}]` and `shipping` name what is refunded, and the money "
            "follows from them (each unit at what the customer paid for it); `amount` alone is "
            "money only; nothing named refunds everything left. `restock` returns exactly the "
            "units named. 409 `refund_exceeds_quantity` names each line asked beyond what is "
            "left of it; 409 `refund_exceeds_shipping`, `refund_exceeds_total`; 422 "
            "`refund_lines_required` (restock without lines), `refund_line_not_found`, "
            f"`refund_invalid`. {IDEMPOTENT}"
        ),
    )
    def refund(
        self,
        request: HttpRequest,
        number: Path[OrderNumber],
        payload: RefundIn,
        idempotency_key: str | None = IdempotencyKey("Required: one per refund."),
    ):
        return self._idempotent(
            request,
            action="refund",
            number=number,
            payload=payload,
            key=idempotency_key,
            call=lambda order: services.order_refund(
                order_id=order.pk,
                lines=payload.units(),
                shipping=payload.shipping,
                amount=payload.amount,
                actor=request.user,
                note=payload.note,
                restock=payload.restock,
            ),
        )


@api_controller("/staff/reports", tags=["staff: reports"], auth=JWTAuth())
class StaffReportController(ApiController):
    @route.get(
        "/sales",
        response={200: SalesReportOut, 400: ErrorOut, **STAFF_ERRORS},
        permissions=perm("orders.view_salesreport"),
        summary="Sales per day (JSON, or CSV with ?format=csv or Accept: text/csv)",
        openapi_extra={
            "responses": {
                200: {
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/SalesReportOut"}
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    }
                }
            }
        },
    )
    def sales(
        self,
        request: HttpRequest,
        date_from: Day = Query(..., alias="from", description="First day (inclusive)."),
        date_to: Day = Query(..., alias="to", description="Last day (inclusive)."),
        format: str | None = Query(None, pattern="^(json|csv)$"),
    ):
        report = reports.sales_report(date_from=date_from, date_to=date_to)
        wants_csv = format == "csv" or (
            format is None and "text/csv" in request.headers.get("Accept", "")
        )
        if wants_csv:
            response = HttpResponse(reports.sales_csv(report), content_type="text/csv")
            response["Content-Disposition"] = (
                f'attachment; filename="sales-{date_from}-{date_to}.csv"'
            )
            return response
        return report


@api_controller("/staff/inventory", tags=["staff: inventory"], auth=JWTAuth())
class StaffInventoryController(ApiController):
    @route.post(
        "/uploads",
        response={202: InventoryUploadOut, 400: ErrorOut, 413: ErrorOut, **STAFF_ERRORS},
        permissions=perm("products.adjust_stock"),
        summary="Upload a stock CSV (sku + quantity or delta), applied by a task",
        description=(
            "Columns: `sku`, and `quantity` (the counted level) or `delta` (+ received, - removed) "
            "per row, optional `note`. Idempotency-Key required; the same file is applied once "
            "(409 `inventory_upload_duplicate`)."
        ),
    )
    def upload(
        self,
        request: HttpRequest,
        file: File[UploadedFile],
        idempotency_key: str | None = IdempotencyKey("Required."),
    ):
        key = validate_key(idempotency_key, required=True)
        content = inventory.read_upload(file)

        def operation():
            upload = inventory.inventory_upload_create(
                filename=file.name or "inventory.csv", content=content, actor=request.user
            )
            return 202, InventoryUploadOut.from_orm(upload).model_dump(mode="json")

        return idempotent_answer(
            scope="inventory.upload",
            user=request.user,
            key=key,
            payload={"sha256": inventory.digest(content)},
            operation=operation,
        )

    @route.get(
        "/uploads",
        response={200: Page[InventoryUploadOut], **STAFF_ERRORS},
        permissions=perm("products.adjust_stock"),
    )
    @paginate(PageNumberPagination)
    def uploads(self):
        return inventory.upload_list()

    @route.get(
        "/uploads/{upload_id}",
        response={200: InventoryUploadDetailOut, **STAFF_ERRORS},
        permissions=perm("products.adjust_stock"),
        summary="An upload with its per-row results",
    )
    def upload_detail(self, upload_id: Path[Id]):
        return inventory.upload_get(upload_id)
