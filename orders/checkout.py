"""Checkout (docs/architecture.md §4): a cart becomes an order once, without overselling.

    result = checkout(user=..., cart_token=..., idempotency_key=..., data=CheckoutData(...))

In ONE transaction (order_place), after the Idempotency-Key is claimed:
1. the cart row is locked (concurrent checkouts of one cart queue here; a closed cart is a 409);
2. its lines are read with their variants, which that statement locks in primary-key order
   (SELECT ... FOR UPDATE OF the variants), so carts holding the same SKUs in any order cannot
   deadlock, and every price is read again from those rows, with the live promotions that reach
   them (one statement: catalog prices, cart promotions);
3. stock is taken with one conditional UPDATE (`WHERE stock_quantity >= n`, rows checked; the
   CHECK constraint backs it), with a StockMovement per variant (reason sale, the order number);
4. the coupon row is locked and checked again (window, minimum, usage and per-customer limits),
   then the applied cart promotions that have a use limit or a budget, in primary-key order and
   read again (one that ran out meanwhile is a 409 promotion_unavailable unless the customer
   accepts the new total); totals come from cart/pricing.py;
5. the order (number from a sequence), its line snapshots, every discount per line
   (promotions.OrderDiscount), the coupon and promotion redemptions, the payment
   row, the first OrderEvent (and its `order.created` webhook, orders/webhooks.py) are written
   and the cart is closed.
After the commit (checkout_followup, outside every lock): the payment starts with its provider,
and the confirmation email, the low-stock check and the catalog refresh go out as tasks and hooks.
The answer renders the rows the transaction wrote (no read back); a repeat of the key that has
to finish the job reads the order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from api.errors import InvalidInput
from api.idempotency import IdempotentResult, run_idempotent_with_followup
from api.money import quantize
from cart.errors import CartNotFound, QuantityLimitExceeded
from cart.models import Cart, CartLine, CartStatus, Coupon, CouponRedemption
from cart.pricing import cart_totals
from cart.selectors import caller_user, coupon_validate, guest_cart_by_token, variant_attributes
from core.errors import EmailNotVerified
from core.selectors import address_default, address_get, user_may_checkout
from orders import tasks
from orders.errors import (
    AmountBelowMinimum,
    CartCheckedOut,
    CartEmpty,
    PaymentUnavailable,
    PriceChanged,
    SignInRequired,
    UnpaidOrdersLimit,
    VariantUnavailable,
)
from orders.models import NUMBER_SEQUENCE, Order, OrderEvent, OrderLine, OrderStatus
from orders.selectors import order_detail_by_id, order_detail_written, order_latest_payment
from orders.services import order_mark_paid
from orders.webhooks import order_webhook_record
from payments.errors import PaymentOrderCancelled
from payments.providers import PaymentProviderError, get_provider, provider_names
from payments.services import payment_create, payment_start
from products.errors import InsufficientStock
from products.models import StockReason, Variant
from products.services import stock_decrement
from promotions.errors import PromotionUnavailable
from promotions.pricing import CartOffer, Line, catalog_prices, offers_reached, unit_price
from promotions.selectors import cart_promotions_locked, offers_for_variants
from promotions.services import order_discounts_record, promotion_uses_take


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
    # What the customer was shown: the checkout refuses a moved price unless they confirm it.
    expected_total: Decimal | None = None
    accept_price_changes: bool = False
    client_ip: str | None = None


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


def _check_provider_allowed(provider: str, user: Any) -> None:
    if settings.PAYMENT_OFFLINE_SIGNED_IN_ONLY and user is None and get_provider(provider).offline:
        raise SignInRequired(details={"payment_provider": provider})


def _lock_unpaid_limits(*, user: Any, email: str, client_ip: str | None) -> None:
    """At most ORDER_MAX_UNPAID orders waiting for payment per email, account and client
    address: two statements whatever the checks. Transaction-scoped advisory locks on each key
    (taken in one statement, in one order, so two checkouts cannot deadlock) make the count
    exact under concurrency; 409 unpaid_orders_limit names which limit was reached."""
    limit = settings.ORDER_MAX_UNPAID
    keys = {"email": Q(email=email)}
    if user is not None:
        keys["account"] = Q(user_id=user.pk)
    if client_ip:
        keys["address"] = Q(client_ip=client_ip)
    names = sorted(keys)
    values = {"email": email, "account": str(getattr(user, "pk", "")), "address": client_ip}
    locks = ", ".join("pg_advisory_xact_lock(hashtext(%s))" for _ in names)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {locks}", [f"unpaid:{n}:{values[n]}" for n in names])
    anyone = Q()
    for name in names:
        anyone |= keys[name]
    counts = Order.objects.filter(anyone, status=OrderStatus.PENDING_PAYMENT).aggregate(
        **{name: Count("id", filter=keys[name]) for name in names}
    )
    for name in names:
        if counts[name] >= limit:
            raise UnpaidOrdersLimit(details={"limit": limit, "per": name})


def _price_changes(
    shown: dict[int, Decimal | None], prices: dict[int, Decimal], variants: list[Variant]
) -> list[dict[str, Any]]:
    """The lines whose price moved since the customer chose them (CartLine.unit_price_at_add)."""
    skus = {v.pk: v.sku for v in variants}
    return [
        {"variant_id": pk, "sku": skus[pk], "old_price": str(shown[pk]), "new_price": str(price)}
        for pk, price in sorted(prices.items())
        if shown.get(pk) is not None and quantize(shown[pk]) != price
    ]


def _offers_locked(offers: list[CartOffer], ids: list[int], now) -> list[CartOffer]:
    """The cart promotions with the counters of their locked rows (`ids`, the limited ones that
    applied); one no longer live is left out."""
    rows = cart_promotions_locked(ids)
    fresh = []
    for offer in offers:
        row = rows.get(offer.promotion_id)
        if row is None:
            fresh.append(offer)
        elif row.is_live(now):
            fresh.append(
                replace(
                    offer,
                    uses_left=None if row.usage_limit is None else row.usage_limit - row.times_used,
                    budget_left=None if row.budget is None else row.budget - row.budget_used,
                )
            )
    return fresh


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
    """The checkout transaction (see the module docstring); the order with what its answer
    renders (as orders.selectors.order_detail), or an error and nothing."""
    user = caller_user(user)
    if user is not None and not user_may_checkout(user):
        raise EmailNotVerified()
    email = _email(user, data)
    provider = _provider(data)
    _check_provider_allowed(provider, user)
    shipping, billing = _addresses(user, data)
    # No savepoint: inside the key's claim (checkout()), a failure rolls the claim back with it.
    with transaction.atomic(savepoint=False):
        _lock_unpaid_limits(user=user, email=email, client_ip=data.client_ip)
        cart = _lock_cart(user, cart_id)
        # The lines with their variants, in one statement; the variants locked in primary-key
        # order, so two carts with the same SKUs lock them in the same order.
        lines = list(
            CartLine.objects.filter(cart=cart)
            .select_related("variant__product")
            .select_for_update(of=("variant",))
            .order_by("variant_id")
        )
        if not lines:
            raise CartEmpty()
        wanted = {line.variant_id: line.quantity for line in lines}
        shown_prices = {line.variant_id: line.unit_price_at_add for line in lines}
        limit = settings.CART_MAX_LINE_QUANTITY
        over = sorted(pk for pk, n in wanted.items() if n > limit)
        if over:
            raise QuantityLimitExceeded(details={"variant_ids": over, "max_quantity": limit})
        variants = [line.variant for line in lines]
        unavailable = [
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
        now = timezone.now()
        offers = offers_for_variants(variant_ids=list(wanted), now=now)
        promoted = catalog_prices({v.pk: v.effective_price for v in variants}, offers.catalog)
        prices = {v.pk: unit_price(v.effective_price, promoted.get(v.pk)) for v in variants}
        subtotal = sum((prices[pk] * n for pk, n in wanted.items()), Decimal("0.00"))
        priced_lines = [Line(pk, prices[pk], n) for pk, n in sorted(wanted.items())]

        coupon = None
        if cart.coupon_id:
            # After the variants, as everywhere: the coupon's limits hold under concurrency.
            coupon = Coupon.objects.select_for_update().get(pk=cart.coupon_id)
            coupon_validate(coupon, subtotal=subtotal, user=user, email=email)
        totals = cart_totals(
            subtotal=subtotal, coupon=coupon, lines=priced_lines, offers=offers.cart
        )
        # Every limited promotion the cart reaches (not only those that applied: with one run
        # out another may apply), locked after the coupon in id order and read again.
        reached = offers_reached(lines=priced_lines, offers=offers.cart)
        locking = sorted({offer.promotion_id for offer in reached if offer.limited})
        lost = []
        if locking:
            before = {a.promotion_id for a in totals.promotions}
            fresh = _offers_locked(offers.cart, locking, now)
            totals = cart_totals(subtotal=subtotal, coupon=coupon, lines=priced_lines, offers=fresh)
            # What the customer saw: the total with every reached promotion's limits aside.
            unlimited = cart_totals(
                subtotal=subtotal,
                coupon=coupon,
                lines=priced_lines,
                offers=[replace(o, uses_left=None, budget_left=None) for o in offers.cart],
            )
            kept = {a.promotion_id for a in totals.promotions}
            saw_them = data.expected_total is not None and (
                quantize(data.expected_total) == unlimited.grand_total
            )
            lost = [
                {"id": a.promotion_id, "name": a.name}
                for a in unlimited.promotions
                if a.promotion_id not in kept and (saw_them or a.promotion_id in before)
            ]
        counted = {a.promotion_id for a in totals.promotions if a.offer.limited}
        changed = _price_changes(shown_prices, prices, variants)
        accepted = data.accept_price_changes or (
            data.expected_total is not None and quantize(data.expected_total) == totals.grand_total
        )
        if changed and not accepted:
            raise PriceChanged(details={"lines": changed, "grand_total": str(totals.grand_total)})
        if lost and not accepted:
            raise PromotionUnavailable(
                details={"promotions": lost, "grand_total": str(totals.grand_total)}
            )
        minimum = get_provider(provider).minimum_amount(cart.currency)
        if Decimal("0") < totals.grand_total < minimum:
            raise AmountBelowMinimum(
                f"{provider} takes at least {minimum} {cart.currency}.",
                details={"minimum": str(minimum), "grand_total": str(totals.grand_total)},
            )

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
            payment_provider=provider if totals.grand_total else "",
            idempotency_key=idempotency_key,
            client_ip=data.client_ip,
        )
        attributes = variant_attributes(list(wanted))
        order_lines = OrderLine.objects.bulk_create(
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
        if totals.promotions:
            promotion_uses_take(order=order, totals=totals, counted=counted)
        discounts = order_discounts_record(
            order=order,
            lines={line.variant_id: line for line in order_lines},
            catalog=promoted,
            totals=totals,
            coupon=coupon,
        )
        cart.status, cart.closed_at = CartStatus.CHECKED_OUT, order.placed_at
        cart.save(update_fields=["status", "closed_at", "updated_at"])
        placed = OrderEvent.objects.create(
            order=order,
            kind=OrderEvent.Kind.PLACED,
            to_status=OrderStatus.PENDING_PAYMENT,
            actor_type=OrderEvent.Actor.CUSTOMER,
            actor=user,
        )
        order_webhook_record(order=order, event=placed)
        if totals.grand_total:
            payment = payment_create(order=order, provider=provider)
            order = order_detail_written(
                order,
                lines=order_lines,
                events=[placed],
                payments=[payment],
                discounts=discounts,
            )
        else:
            # Nothing to pay (a 100% coupon): no provider is involved, the order is paid.
            order_mark_paid(order_id=order.pk, note="Nothing to pay.")
            order = order_detail_by_id(order.pk)
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


def checkout_followup(order_id: int, *, placed: Order | None = None) -> Order:
    """After the order committed: start its payment (outside any lock); the order, with what its
    answer renders. `placed` is that order as order_place returned it (the request that placed
    it), else it is read. The start records its answer on the payment instance the order holds,
    so the order renders it without another read (unless a concurrent start recorded its own
    first)."""
    order = placed if placed is not None else order_detail_by_id(order_id)
    payment = order_latest_payment(order)
    if payment is not None:
        try:
            if payment_start(payment=payment) is not payment:
                order = order_detail_by_id(order_id)
        except PaymentOrderCancelled:
            pass  # cancelled since it was placed (a retry after the hold): nothing to start
        except PaymentProviderError as exc:
            raise PaymentUnavailable(
                details={"order_number": order.number, "error": str(exc)}
            ) from exc
    return order


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
    placed: dict[int, Order] = {}  # the order this request placed: answered without a re-read

    def place() -> int:
        order = order_place(user=user, cart_id=cart_id, data=data, idempotency_key=idempotency_key)
        placed[order.pk] = order
        return order.pk

    return run_idempotent_with_followup(
        scope="checkout",
        owner=owner,
        key=idempotency_key,
        payload=payload,
        operation=place,
        followup=lambda order_id: answer(checkout_followup(order_id, placed=placed.get(order_id))),
    )
