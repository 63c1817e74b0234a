"""Cart writes: create, lines, coupon, merge at sign-in, housekeeping.

Every write locks the cart row first, so two requests on one cart (double clicks, two tabs, a
checkout) happen one after the other; a cart that was checked out meanwhile refuses the write.
A line write reads the cart's lines and their live promotions once, under that lock, and
answers with the cart priced from them (cart.selectors.cart_priced): the answer reads neither
again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.retention import delete_in_batches, retention_cutoff
from cart.errors import (
    CartClosed,
    CartLimitReached,
    CartLineNotFound,
    CartNotFound,
    CouponNotFound,
    QuantityLimitExceeded,
)
from cart.models import (
    Cart,
    CartLine,
    CartStatus,
    Coupon,
    cart_token_hash,
    new_cart_token,
)
from cart.selectors import (
    PricedCart,
    caller_user,
    cart_lines,
    cart_offers,
    cart_priced,
    coupon_validate,
    guest_cart_by_token,
    variant_for_sale,
)
from products.errors import InsufficientStock, VariantNotFound
from products.models import Variant
from promotions.selectors import unit_prices

# -- carts ----------------------------------------------------------------------------------------


def cart_for_user(*, user: Any) -> Cart:
    """The customer's open cart, created on first use (one per customer, held by an index)."""
    cart = Cart.objects.select_related("coupon").filter(user=user, status=CartStatus.OPEN).first()
    if cart is not None:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(user=user)
    except IntegrityError:  # a concurrent request created it first
        return Cart.objects.select_related("coupon").get(user=user, status=CartStatus.OPEN)


def cart_create(*, user: Any) -> tuple[Cart, str | None, bool]:
    """(cart, guest token or None, created). A customer gets their open cart; a guest a new one
    and the token (shown once: only its hash is stored)."""
    user = caller_user(user)
    if user is not None:
        existing = Cart.objects.filter(user=user, status=CartStatus.OPEN).exists()
        return cart_for_user(user=user), None, not existing
    token = new_cart_token()
    return Cart.objects.create(token_hash=cart_token_hash(token)), token, True


def _lock(cart: Cart) -> Cart:
    """The cart's row locked and read again (with its coupon, for the answer), still open."""
    locked = (
        Cart.objects.select_for_update(of=("self",))
        .select_related("coupon")
        .filter(pk=cart.pk)
        .first()
    )
    if locked is None:
        raise CartNotFound()
    if locked.status != CartStatus.OPEN:
        raise CartClosed(details={"status": locked.status})
    return locked


def _touch(cart: Cart) -> None:
    cart.save(update_fields=["updated_at"])


def _sellable(variant_id: int, *, known: Variant | None = None) -> Variant:
    """The variant if it is for sale; `known`: the variant as already read (a cart line's)."""
    variant = known
    if variant is None:
        variant = Variant.objects.select_related("product").filter(pk=variant_id).first()
    if variant is None or not variant_for_sale(variant):
        raise VariantNotFound(
            "No such product variant is for sale.", details={"variant_id": variant_id}
        )
    return variant


def _check_quantity(variant: Variant, wanted: int, in_cart: int) -> None:
    limit = settings.CART_MAX_LINE_QUANTITY
    if wanted > limit:
        raise QuantityLimitExceeded(
            f"At most {limit} of one item per order.",
            details={"variant_id": variant.pk, "max_quantity": limit, "requested": wanted},
        )
    if wanted > variant.stock_quantity:
        available = max(variant.stock_quantity, 0)
        raise InsufficientStock(
            [
                {
                    "variant_id": variant.pk,
                    "sku": variant.sku,
                    "requested": wanted,
                    "available": available,
                    "in_cart": in_cart,
                }
            ]
        )


# -- lines ----------------------------------------------------------------------------------------


@transaction.atomic
def cart_line_add(
    *, cart: Cart, variant_id: int, quantity: int, user: Any = None, token: str | None = None
) -> PricedCart:
    """Add `quantity` of a variant (to its line if the cart has one); 409 beyond the stock.
    Returns the cart priced for `user` (and a guest's `token`) after the change."""
    cart = _lock(cart)
    lines = cart_lines(cart)
    line = next((x for x in lines if x.variant_id == variant_id), None)
    variant = _sellable(variant_id, known=line.variant if line else None)
    in_cart = line.quantity if line else 0
    _check_quantity(variant, in_cart + quantity, in_cart)
    if line is None:
        if len(lines) >= settings.CART_MAX_LINES:
            raise CartLimitReached(details={"max_lines": settings.CART_MAX_LINES})
        line = CartLine(cart=cart, variant=variant, quantity=0)
        lines.append(line)
    line.quantity = in_cart + quantity
    offers = cart_offers(lines)
    line.unit_price_at_add = offers.unit_price(variant)
    line.save()
    _touch(cart)
    return cart_priced(cart, user=user, token=token, lines=lines, offers=offers)


@transaction.atomic
def cart_line_update(
    *, cart: Cart, line_id: int, quantity: int, user: Any = None, token: str | None = None
) -> PricedCart:
    """Set a line's quantity (the customer chose again: the price change flag clears).
    Returns the cart priced after the change, as cart_line_add."""
    cart = _lock(cart)
    lines = cart_lines(cart)
    line = next((x for x in lines if x.pk == line_id), None)
    if line is None:
        raise CartLineNotFound(details={"line_id": line_id})
    variant = line.variant
    if not variant_for_sale(variant):
        raise VariantNotFound(
            "This item is no longer for sale; remove it from the cart.",
            details={"variant_id": variant.pk, "line_id": line.pk},
        )
    _check_quantity(variant, quantity, line.quantity)
    line.quantity = quantity
    offers = cart_offers(lines)
    line.unit_price_at_add = offers.unit_price(variant)
    line.save(update_fields=["quantity", "unit_price_at_add", "updated_at"])
    _touch(cart)
    return cart_priced(cart, user=user, token=token, lines=lines, offers=offers)


@transaction.atomic
def cart_line_delete(
    *, cart: Cart, line_id: int, user: Any = None, token: str | None = None
) -> PricedCart:
    """Remove a line. Returns the cart priced after the change, as cart_line_add."""
    cart = _lock(cart)
    deleted, _ = CartLine.objects.filter(cart=cart, pk=line_id).delete()
    if not deleted:
        raise CartLineNotFound(details={"line_id": line_id})
    _touch(cart)
    return cart_priced(cart, user=user, token=token)


# -- coupon ---------------------------------------------------------------------------------------


def coupon_by_code(code: str) -> Coupon:
    """An active coupon by its code (any case); inactive and unknown codes look the same."""
    coupon = Coupon.objects.filter(code=code.strip().upper(), is_active=True).first()
    if coupon is None:
        raise CouponNotFound(details={"code": code.strip().upper()})
    return coupon


@transaction.atomic
def cart_coupon_apply(*, cart: Cart, code: str, user: Any = None) -> Cart:
    """Put a coupon on the cart if it applies now (window, minimum, limits; the per-customer
    limit of a guest is checked at checkout, when their email is known)."""
    cart = _lock(cart)
    coupon = coupon_by_code(code)
    cart.coupon = None  # price the lines alone
    priced = cart_priced(cart, user=user)
    coupon_validate(coupon, subtotal=priced.totals.subtotal, user=caller_user(user))
    cart.coupon = coupon
    cart.save(update_fields=["coupon", "updated_at"])
    return cart


@transaction.atomic
def cart_coupon_remove(*, cart: Cart) -> Cart:
    cart = _lock(cart)
    cart.coupon = None
    cart.save(update_fields=["coupon", "updated_at"])
    return cart


# -- merge ----------------------------------------------------------------------------------------


@dataclass
class MergeReport:
    cart: Cart
    merged: list[dict[str, Any]] = field(default_factory=list)
    capped: list[dict[str, Any]] = field(default_factory=list)
    price_changes: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)
    coupon_code: str | None = None
    already_merged: bool = False
    priced: Any = None  # the cart priced for the answer (cart.selectors.merge_report_priced)


def cart_merge(*, user: Any, token: str) -> MergeReport:
    """Move a guest cart's lines into the customer's cart, quantities capped at the stock and the
    per-line limit, and report what happened. The guest cart is closed; merging it again
    changes nothing and reports `already_merged`."""
    guest = guest_cart_by_token(token)
    if guest is None:
        raise CartNotFound()
    if guest.status == CartStatus.CHECKED_OUT:
        raise CartClosed(details={"status": guest.status})
    target = cart_for_user(user=user)
    with transaction.atomic():
        # Both rows locked in id order: two merges (or a merge and a checkout) cannot deadlock.
        locked = {
            c.pk: c
            for c in Cart.objects.select_for_update()
            .filter(pk__in=[guest.pk, target.pk])
            .order_by("pk")
        }
        guest, target = locked.get(guest.pk), locked.get(target.pk)
        if guest is None:
            raise CartNotFound()
        if target is None or target.status != CartStatus.OPEN:
            raise CartClosed()
        if guest.status == CartStatus.MERGED:
            if guest.merged_into_id == target.pk:
                return MergeReport(cart=target, already_merged=True)
            raise CartNotFound()
        if guest.status != CartStatus.OPEN:
            raise CartClosed(details={"status": guest.status})
        report = MergeReport(cart=target)
        _merge_lines(guest, target, report)
        if guest.coupon_id and not target.coupon_id:
            target.coupon_id = guest.coupon_id
            report.coupon_code = (
                Coupon.objects.filter(pk=guest.coupon_id).values_list("code", flat=True).first()
            )
        target.save(update_fields=["coupon", "updated_at"])
        CartLine.objects.filter(cart=guest).delete()
        guest.status, guest.merged_into, guest.closed_at = CartStatus.MERGED, target, timezone.now()
        guest.save(update_fields=["status", "merged_into", "closed_at", "updated_at"])
    report.cart = Cart.objects.select_related("coupon").get(pk=target.pk)
    return report


def _merge_lines(guest: Cart, target: Cart, report: MergeReport) -> None:
    guest_lines = list(
        CartLine.objects.filter(cart=guest).select_related("variant__product").order_by("id")
    )
    existing = {line.variant_id: line for line in CartLine.objects.filter(cart=target)}
    line_count = len(existing)
    limit = settings.CART_MAX_LINE_QUANTITY
    prices = unit_prices([line.variant for line in guest_lines], now=timezone.now())
    for guest_line in guest_lines:
        variant = guest_line.variant
        ref = {"variant_id": variant.pk, "sku": variant.sku}
        if not variant.is_active or not variant.product.is_active:
            report.dropped.append({**ref, "reason": "unavailable"})
            continue
        line = existing.get(variant.pk)
        have = line.quantity if line else 0
        wanted = have + guest_line.quantity
        quantity = min(wanted, max(variant.stock_quantity, 0), limit)
        if quantity <= have:
            reason = "out_of_stock" if variant.stock_quantity <= have else "quantity_limit"
            if line is None:
                report.dropped.append({**ref, "reason": reason})
            else:
                report.capped.append({**ref, "requested": wanted, "quantity": have})
            continue
        if line is None and line_count >= settings.CART_MAX_LINES:
            report.dropped.append({**ref, "reason": "cart_full"})
            continue
        price = prices[variant.pk]
        if guest_line.unit_price_at_add != price:
            report.price_changes.append(
                {**ref, "previous_unit_price": guest_line.unit_price_at_add, "unit_price": price}
            )
        if quantity < wanted:
            report.capped.append({**ref, "requested": wanted, "quantity": quantity})
        if line is None:
            line = CartLine(cart=target, variant=variant, quantity=quantity)
            line_count += 1
        line.quantity = quantity
        line.unit_price_at_add = price
        line.save()
        report.merged.append({**ref, "quantity_added": quantity - have, "quantity": quantity})


def cart_merge_at_sign_in(*, user: Any, token: str | None) -> MergeReport | None:
    """The merge a sign-in with X-Cart-Token asks for; None when the token names no guest cart
    to merge (unknown, already checked out): the sign-in itself must not fail for it."""
    if not token:
        return None
    try:
        return cart_merge(user=user, token=token)
    except (CartNotFound, CartClosed):
        return None


# -- housekeeping ---------------------------------------------------------------------------------


def carts_purge_stale(*, now=None) -> int:
    """Delete guest carts untouched for CART_GUEST_TTL_DAYS and merged carts older than a day,
    and the lines of carts checked out more than CART_CLOSED_LINES_KEEP_DAYS ago (their order
    keeps its own line snapshots). Checked-out carts themselves stay: their order points at them,
    and a guest's token still learns which order it became. Rows deleted, lines included."""
    now = now or timezone.now()
    stale_guest = Cart.objects.filter(
        user__isnull=True,
        status=CartStatus.OPEN,
        updated_at__lt=now - timedelta(days=settings.CART_GUEST_TTL_DAYS),
    )
    merged = Cart.objects.filter(status=CartStatus.MERGED, updated_at__lt=now - timedelta(days=1))
    deleted = stale_guest.delete()[0] + merged.delete()[0]
    cutoff = retention_cutoff(settings.CART_CLOSED_LINES_KEEP_DAYS, now=now)
    if cutoff is not None:
        deleted += delete_in_batches(
            CartLine.objects.filter(cart__status=CartStatus.CHECKED_OUT, cart__closed_at__lt=cutoff)
        )
    return deleted
