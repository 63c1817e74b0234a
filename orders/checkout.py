"""Checkout (docs/architecture.md §4): a cart becomes an order once, without overselling.

    result = checkout(user=..., cart_token=..., idempotency_key=..., data=CheckoutData(...))

In ONE transaction (order_place), after the Idempotency-Key is claimed:
1. the cart row is locked (concurrent checkouts of one cart queue here; a closed cart is a 409);
2. its variants are locked in primary-key order (SELECT ... FOR UPDATE), so carts holding the
   same SKUs in any order cannot deadlock, and every price is read again from those rows;
3. stock is taken with one conditional UPDATE (`WHERE stock_quantity >= n`, rows checked; the
   CHECK constraint backs it), with a StockMovement per variant (reason sale, the order number);
4. the coupon row is locked and checked again (window, minimum, usage and per-customer limits);
5. the order (number from a sequence), its line snapshots, the coupon redemption, the payment
   row, the first OrderEvent are written and the cart is closed.
After the commit (checkout_followup, outside every lock): the payment starts with its provider,
and the confirmation email, the low-stock check and the catalog refresh go out as tasks and hooks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F

from api.errors import InvalidInput
from api.idempotency import IdempotentResult, run_idempotent_with_followup
from api.money import quantize
from cart.errors import CartNotFound
from cart.models import Cart, CartLine, CartStatus, Coupon, CouponRedemption
from cart.pricing import cart_totals
from cart.selectors import caller_user, coupon_validate, guest_cart_by_token, variant_attributes
from core.errors import EmailNotVerified
from core.selectors import address_default, address_get, user_may_checkout
from orders import tasks
from orders.errors import CartCheckedOut, CartEmpty, PaymentUnavailable, VariantUnavailable
from orders.models import NUMBER_SEQUENCE, Order, OrderEvent, OrderLine, OrderStatus
from orders.selectors import order_detail_by_id
from payments.providers import PaymentProviderError, provider_names
from payments.services import payment_create, payment_for_order, payment_start
from products.errors import InsufficientStock
from products.models import StockReason, Variant
from products.services import stock_decrement


@dataclass(frozen=True)
class CheckoutData:
    """What the client chose; never prices, totals, discounts or statuses."""

    email: str | None = None
    shipping_address_id: int | None = None
    shipping_address: dict[str, str] | None = None
    billing_address_id: int | None = None
    billing_address: dict[str, str] | None = None
    payment_provider: str | None = None
    customer_note: str = ""


def _field_error(field: str, message: str, code: str) -> InvalidInput:
    return InvalidInput.for_field(field, message, kind=code, code=code)


SNAPSHOT_FIELDS = (
    "first_name",
    "last_name",
    "company_name",
    "street_address_1",
    "street_address_2",
    "city",
    "postal_code",
    "country_area",
    "country",
    "phone",
)


def _snapshot(raw: dict[str, Any]) -> dict[str, str]:
    return {name: str(raw.get(name) or "") for name in SNAPSHOT_FIELDS}


def _addresses(user: Any, data: CheckoutData) -> tuple[dict[str, str], dict[str, str]]:
    """(shipping, billing) snapshots; a saved address must be the caller's own (else 404)."""

    def pick(kind: str, address_id: int | None, inline: dict | None) -> dict[str, str] | None:
        if address_id is not None:
            if user is None:
                raise _field_error(
                    f"{kind}_address_id",
                    "Guests send the address itself, not a saved address id.",
                    "address_id_needs_sign_in",
                )
            return address_get(user=user, address_id=address_id).as_snapshot()
        if inline is not None:
            return _snapshot(inline)
        if user is not None:
            default = address_default(user=user, kind=kind)
            return default.as_snapshot() if default else None
        return None

    shipping = pick("shipping", data.shipping_address_id, data.shipping_address)
    if shipping is None:
        raise _field_error(
            "shipping_address", "A shipping address is required.", "shipping_address_required"
        )
    billing = pick("billing", data.billing_address_id, data.billing_address)
    return shipping, billing or shipping


def _email(user: Any, data: CheckoutData) -> str:
    if user is not None:
        return user.email  # the account's address: a customer cannot order for another inbox
    if not data.email:
        raise _field_error("email", "Guests give an email address for the order.", "email_required")
    return data.email.lower()


def _provider(data: CheckoutData) -> str:
    name = data.payment_provider or settings.PAYMENT_DEFAULT_PROVIDER
    if name not in provider_names():
        raise _field_error(
            "payment_provider",
            f"Unknown payment provider; use one of {', '.join(provider_names())}.",
            "payment_provider_unknown",
        )
    return name


def _lock_cart(user: Any, cart_id: int | None) -> Cart:
    if user is not None:
        cart_id = (
            Cart.objects.filter(user=user, status=CartStatus.OPEN)
            .values_list("pk", flat=True)
            .first()
        )
        if cart_id is None:
            raise CartEmpty()
    cart = Cart.objects.select_for_update().filter(pk=cart_id).first()
    if cart is None:
        raise CartNotFound()
    if cart.status == CartStatus.CHECKED_OUT:
        number = Order.objects.filter(cart=cart).values_list("number", flat=True).first()
        raise CartCheckedOut(details={"order_number": number})
    if cart.status != CartStatus.OPEN:
        raise CartNotFound()
    return cart


def _next_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [NUMBER_SEQUENCE])
        (value,) = cursor.fetchone()
    return f"{settings.ORDER_NUMBER_PREFIX}{value:06d}"


def order_place(
    *, user: Any, cart_id: int | None, data: CheckoutData, idempotency_key: str = ""
) -> Order:
    """The checkout transaction (see the module docstring); the order, or an error and nothing."""
    user = caller_user(user)
    if user is not None and not user_may_checkout(user):
        raise EmailNotVerified()
    email = _email(user, data)
    provider = _provider(data)
    shipping, billing = _addresses(user, data)
    with transaction.atomic():
        cart = _lock_cart(user, cart_id)
        wanted = dict(
            CartLine.objects.filter(cart=cart)
            .order_by("variant_id")
            .values_list("variant_id", "quantity")
        )
        if not wanted:
            raise CartEmpty()
        # Primary-key order: two carts with the same SKUs lock them in the same order.
        variants = list(
            Variant.objects.select_for_update(of=("self",))
            .select_related("product")
            .filter(pk__in=list(wanted))
            .order_by("pk")
        )
        found = {v.pk for v in variants}
        unavailable = [{"variant_id": pk, "sku": None} for pk in wanted if pk not in found]
        unavailable += [
            {"variant_id": v.pk, "sku": v.sku}
            for v in variants
            if not v.is_active or not v.product.is_active
        ]
        if unavailable:
            raise VariantUnavailable(details={"lines": unavailable})
        short = [
            {
                "variant_id": v.pk,
                "sku": v.sku,
                "requested": wanted[v.pk],
                "available": max(v.stock_quantity, 0),
            }
            for v in variants
            if v.stock_quantity < wanted[v.pk]
        ]
        if short:
            raise InsufficientStock(short)
        prices = {v.pk: quantize(v.effective_price) for v in variants}
        subtotal = sum((prices[pk] * n for pk, n in wanted.items()), Decimal("0.00"))

        coupon = None
        if cart.coupon_id:
            # After the variants, as everywhere: the coupon's limits hold under concurrency.
            coupon = Coupon.objects.select_for_update().get(pk=cart.coupon_id)
            coupon_validate(coupon, subtotal=subtotal, user=user, email=email)
        totals = cart_totals(subtotal=subtotal, coupon=coupon)

        number = _next_number()
        levels = stock_decrement(
            quantities=wanted, reason=StockReason.SALE, reference=number, actor=user
        )
        order = Order.objects.create(
            number=number,
            user=user,
            email=email,
            cart=cart,
            currency=cart.currency,
            subtotal=totals.subtotal,
            discount_total=totals.discount_total,
            shipping_total=totals.shipping_total,
            tax_total=totals.tax_total,
            grand_total=totals.grand_total,
            shipping_address=shipping,
            billing_address=billing,
            coupon_code=coupon.code if coupon else "",
            customer_note=data.customer_note,
            payment_provider=provider,
            idempotency_key=idempotency_key,
        )
        attributes = variant_attributes(list(wanted))
        OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                variant=v,
                product=v.product,
                product_name=v.product.name,
                variant_name=v.name,
                sku=v.sku,
                attributes=attributes.get(v.pk, {}),
                unit_price=prices[v.pk],
                quantity=wanted[v.pk],
                line_total=prices[v.pk] * wanted[v.pk],
            )
            for v in variants
        )
        if coupon is not None:
            CouponRedemption.objects.create(
                coupon=coupon,
                order=order,
                user=user,
                email=email,
                discount_amount=totals.discount_total,
            )
            Coupon.objects.filter(pk=coupon.pk).update(times_used=F("times_used") + 1)
        cart.status, cart.closed_at = CartStatus.CHECKED_OUT, order.placed_at
        cart.save(update_fields=["status", "closed_at", "updated_at"])
        payment_create(order=order, provider=provider)
        OrderEvent.objects.create(
            order=order,
            kind=OrderEvent.Kind.PLACED,
            to_status=OrderStatus.PENDING_PAYMENT,
            actor_type=OrderEvent.Actor.CUSTOMER,
            actor=user,
        )
        tasks.order_confirmation_send_task.delay_on_commit(order.pk)
        if any(level.crossed_low_stock for level in levels.values()):
            tasks.low_stock_alert_send_task.delay_on_commit()
    return order


def checkout_owner(*, user: Any, cart_token: str | None) -> tuple[str, int | None]:
    """(idempotency owner, guest cart id): a customer's keys are theirs, a guest's their cart's."""
    user = caller_user(user)
    if user is not None:
        return f"user:{user.pk}", None
    cart = guest_cart_by_token(cart_token) if cart_token else None
    if cart is None:
        raise CartNotFound("Send the guest cart's token in the X-Cart-Token header.")
    return f"cart:{cart.pk}", cart.pk


def checkout_followup(order_id: int) -> Order:
    """After the order committed: start its payment (outside any lock); the order, with what its
    answer renders."""
    payment = payment_for_order(order_id)
    if payment is not None:
        try:
            payment_start(payment=payment)
        except PaymentProviderError as exc:
            raise PaymentUnavailable(
                details={"order_number": payment.order.number, "error": str(exc)}
            ) from exc
    return order_detail_by_id(order_id)


def checkout(
    *,
    user: Any,
    cart_token: str | None,
    idempotency_key: str,
    data: CheckoutData,
    payload: Any,
    answer: Callable[[Order], tuple[int, Any]],
) -> IdempotentResult:
    """POST /api/checkout: the same key and body answer the same order (identical status and
    body, as `answer` rendered them the first time); the same key with another body is a 409; a
    checked-out cart never becomes a second order."""
    owner, cart_id = checkout_owner(user=user, cart_token=cart_token)
    return run_idempotent_with_followup(
        scope="checkout",
        owner=owner,
        key=idempotency_key,
        payload=payload,
        operation=lambda: (
            order_place(user=user, cart_id=cart_id, data=data, idempotency_key=idempotency_key).pk
        ),
        followup=lambda order_id: answer(checkout_followup(order_id)),
    )
