"""Promotion arithmetic: the one place a promotion's figures are computed, for the catalog's
prices, the cart's answer and, on rows locked at checkout, the order. No database here: the
selectors read the offers, cart/pricing.py adds coupons, shipping and tax around these figures.

    offer = CatalogOffer(promotion_id=1, name="Spring", kind="percent", value=Decimal("20"))
    catalog_best(Decimal("19.99"), [offer]).price            # Decimal("15.99")

    goods = cart_promotions_apply(
        lines=[Line(variant_id=7, unit_price=Decimal("10.00"), quantity=3)],
        offers=[buy_two_get_one], coupon_applies=False,
    )
    goods.discount, goods.applied, goods.free_shipping_offer, goods.next

Rules (docs/architecture.md §8):
- Catalog: the highest priority wins for a variant; at equal priority the lower price, then the
  older promotion. Percent off rounds the price half up to the cent; an amount off stops at 0.
- Cart, all on the subtotal after catalog promotions: "buy N get M" frees, in every N+M units of
  its set in the cart, the M cheapest (each unit freed once, promotions in priority order); of
  the "spend X" promotions reached, the one giving the most off applies, and the first free
  shipping one (cart/pricing.py waives the shipping and values it). An `exclusive` promotion
  steps aside for a coupon that applies. A promotion with a use limit or a budget applies only
  while a use is left and its whole amount fits in what is left of its budget.
- An amount off the subtotal is shared by the lines in proportion to their totals (the last
  cent to the largest share), so an order keeps every discount per line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from api.money import quantize

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


# -- catalog promotions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogOffer:
    promotion_id: int
    name: str
    kind: str  # "percent" | "fixed"
    value: Decimal
    priority: int = 0


@dataclass(frozen=True)
class CatalogPrice:
    price: Decimal
    regular: Decimal
    offer: CatalogOffer

    @property
    def amount_off(self) -> Decimal:
        return self.regular - self.price


def unit_price_after(regular: Decimal, *, kind: str, value: Decimal) -> Decimal:
    regular = quantize(regular)
    if kind == "percent":
        return quantize(regular * (HUNDRED - value) / HUNDRED)
    return max(ZERO, quantize(regular - value))


def catalog_best(regular: Decimal, offers: Iterable[CatalogOffer]) -> CatalogPrice | None:
    """The price under the winning offer, or None when none lowers it."""
    best: CatalogPrice | None = None
    for offer in offers:
        price = unit_price_after(regular, kind=offer.kind, value=offer.value)
        candidate = CatalogPrice(price=price, regular=quantize(regular), offer=offer)
        if best is None or _catalog_rank(candidate) < _catalog_rank(best):
            best = candidate
    if best is None or best.price >= best.regular:
        return None
    return best


def catalog_prices(
    regular: Mapping[int, Decimal], offers: Mapping[int, Iterable[CatalogOffer]]
) -> dict[int, CatalogPrice]:
    """{variant id: its promoted price} for the variants (regular prices by id) an offer lowers."""
    found = {}
    for variant_id, price in regular.items():
        best = catalog_best(price, offers.get(variant_id, ()))
        if best is not None:
            found[variant_id] = best
    return found


def unit_price(regular: Decimal, promoted: CatalogPrice | None) -> Decimal:
    """A variant's price today: its promoted price (catalog_prices) where an offer lowers it,
    else its own."""
    return promoted.price if promoted is not None else quantize(regular)


def _catalog_rank(candidate: CatalogPrice) -> tuple:
    return (-candidate.offer.priority, candidate.price, candidate.offer.promotion_id)


# -- cart promotions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartOffer:
    promotion_id: int
    name: str
    kind: str  # "spend" | "buy_get"
    reward: str  # "percent" | "fixed" | "free_shipping" | "free_items"
    value: Decimal = ZERO
    min_subtotal: Decimal = ZERO
    buy_quantity: int = 0
    free_quantity: int = 0
    coupon_rule: str = "combinable"
    priority: int = 0
    # buy N get M: the cart's variants that belong to its set
    variant_ids: frozenset[int] = frozenset()
    uses_left: int | None = None  # None: unlimited
    budget_left: Decimal | None = None  # None: no cap

    @property
    def limited(self) -> bool:
        """Its uses are counted under its row lock at checkout (a use limit or a budget)."""
        return self.uses_left is not None or self.budget_left is not None

    def fits(self, amount: Decimal) -> bool:
        """A use is left and `amount` fits in what is left of the budget."""
        if self.uses_left is not None and self.uses_left <= 0:
            return False
        return self.budget_left is None or amount <= self.budget_left


@dataclass(frozen=True)
class Line:
    variant_id: int
    unit_price: Decimal
    quantity: int

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class AppliedPromotion:
    """A cart promotion that applied: what it gave in all and on each line (by variant id)."""

    offer: CartOffer
    amount: Decimal
    lines: Mapping[int, Decimal] = field(default_factory=dict)
    free_units: Mapping[int, int] = field(default_factory=dict)
    shipping: bool = False

    @property
    def promotion_id(self) -> int:
        return self.offer.promotion_id

    @property
    def name(self) -> str:
        return self.offer.name

    @property
    def reward(self) -> str:
        return self.offer.reward


@dataclass(frozen=True)
class NextPromotion:
    """The promotion the customer is closest to, and how far: an amount or units to add."""

    offer: CartOffer
    amount_missing: Decimal | None = None
    units_missing: int | None = None

    @property
    def promotion_id(self) -> int:
        return self.offer.promotion_id

    @property
    def name(self) -> str:
        return self.offer.name

    @property
    def message(self) -> str:
        reward = _reward_text(self.offer)
        if self.units_missing is not None:
            return f"add {self.units_missing} more from {self.offer.name} for {reward}"
        return f"spend {self.amount_missing} more for {reward}"


def _reward_text(offer: CartOffer) -> str:
    if offer.reward == "free_shipping":
        return "free shipping"
    if offer.reward == "percent":
        return f"{offer.value.normalize():f}% off"
    if offer.reward == "free_items":
        return f"{offer.free_quantity} free"
    return f"{quantize(offer.value)} off"


@dataclass(frozen=True)
class CartGoods:
    """What cart promotions take off the goods, and the free-shipping offer reached (if any:
    cart/pricing.py decides whether shipping was due and so whether it applied)."""

    discount: Decimal
    applied: tuple[AppliedPromotion, ...]
    free_shipping_offer: CartOffer | None
    next: NextPromotion | None


def allocate(amount: Decimal, weights: Mapping[int, Decimal]) -> dict[int, Decimal]:
    """`amount` shared in proportion to `weights`, to the cent, adding up exactly."""
    total = sum(weights.values(), ZERO)
    if not weights or total <= 0 or amount <= 0:
        return {}
    shares = {key: quantize(amount * weight / total) for key, weight in weights.items()}
    rest = amount - sum(shares.values(), ZERO)
    if rest:
        largest = max(weights, key=lambda key: (weights[key], -key))
        shares[largest] += rest
    return {key: share for key, share in shares.items() if share}


def _buy_get(offer: CartOffer, lines: list[Line], freed: dict[int, int]) -> AppliedPromotion | None:
    units = [
        (line.unit_price, line.variant_id)
        for line in lines
        if line.variant_id in offer.variant_ids
        for _ in range(line.quantity - freed.get(line.variant_id, 0))
    ]
    group = offer.buy_quantity + offer.free_quantity
    count = (len(units) // group) * offer.free_quantity
    if not count:
        return None
    units.sort(key=lambda unit: (unit[0], unit[1]))  # the cheapest are free
    free_units: dict[int, int] = {}
    amounts: dict[int, Decimal] = {}
    for price, variant_id in units[:count]:
        free_units[variant_id] = free_units.get(variant_id, 0) + 1
        amounts[variant_id] = amounts.get(variant_id, ZERO) + price
    amount = sum(amounts.values(), ZERO)
    if not amount or not offer.fits(amount):
        return None
    return AppliedPromotion(offer=offer, amount=amount, lines=amounts, free_units=free_units)


def _spend_amount(offer: CartOffer, base: Decimal) -> Decimal:
    if offer.reward == "percent":
        return min(base, quantize(base * offer.value / HUNDRED))
    return min(base, quantize(offer.value))


def _units_missing(offer: CartOffer, lines: list[Line]) -> int | None:
    have = sum(line.quantity for line in lines if line.variant_id in offer.variant_ids)
    if not have:
        return None  # nothing of its set in the cart (or a whole group): not "close"
    group = offer.buy_quantity + offer.free_quantity
    return group - have % group if have % group else None


def offers_reached(*, lines: Iterable[Line], offers: Iterable[CartOffer]) -> list[CartOffer]:
    """The offers whose condition the cart meets, limits and coupons aside: every one that can
    apply to it (the checkout locks the limited ones before it counts)."""
    lines = [line for line in lines if line.quantity > 0]
    subtotal = sum((line.total for line in lines), ZERO)
    found = []
    for offer in offers:
        if offer.kind == "spend":
            reached = bool(lines) and subtotal >= offer.min_subtotal
        else:
            units = sum(line.quantity for line in lines if line.variant_id in offer.variant_ids)
            reached = units >= offer.buy_quantity + offer.free_quantity
        if reached:
            found.append(offer)
    return found


def cart_promotions_apply(
    *, lines: Iterable[Line], offers: Iterable[CartOffer], coupon_applies: bool
) -> CartGoods:
    """The cart promotions' part of the totals (see the module docstring for the rules)."""
    lines = [line for line in lines if line.quantity > 0]
    subtotal = sum((line.total for line in lines), ZERO)
    ordered = sorted(offers, key=lambda o: (-o.priority, o.promotion_id))
    usable = [o for o in ordered if not (coupon_applies and o.coupon_rule == "exclusive")]
    applied: list[AppliedPromotion] = []
    freed: dict[int, int] = {}
    for offer in usable:
        if offer.kind != "buy_get":
            continue
        result = _buy_get(offer, lines, freed)
        if result is not None:
            applied.append(result)
            for variant_id, n in result.free_units.items():
                freed[variant_id] = freed.get(variant_id, 0) + n
    items_off = sum((a.amount for a in applied), ZERO)
    remaining = {
        line.variant_id: line.total
        - sum((a.lines.get(line.variant_id, ZERO) for a in applied), ZERO)
        for line in lines
    }
    base = subtotal - items_off
    reached = [o for o in usable if o.kind == "spend" and subtotal >= o.min_subtotal and lines]
    best: AppliedPromotion | None = None
    for offer in reached:
        if offer.reward == "free_shipping":
            continue
        amount = _spend_amount(offer, base)
        if amount and offer.fits(amount) and (best is None or amount > best.amount):
            best = AppliedPromotion(offer=offer, amount=amount, lines=allocate(amount, remaining))
    if best is not None:
        applied.append(best)
    free_shipping = next((o for o in reached if o.reward == "free_shipping" and o.fits(ZERO)), None)
    return CartGoods(
        discount=sum((a.amount for a in applied), ZERO),
        applied=tuple(applied),
        free_shipping_offer=free_shipping,
        next=_next(usable, lines, subtotal, applied, free_shipping),
    )


def _next(
    offers: list[CartOffer],
    lines: list[Line],
    subtotal: Decimal,
    applied: list[AppliedPromotion],
    free_shipping: CartOffer | None,
) -> NextPromotion | None:
    """The nearest promotion not reached: a spend threshold first (the smallest amount to go,
    and only one better than what applies), else a set the cart has started on."""
    if not lines:
        return None
    best_off = max((a.amount for a in applied if a.offer.kind == "spend"), default=ZERO)
    spend = []
    for offer in offers:
        if offer.kind != "spend" or subtotal >= offer.min_subtotal or not offer.fits(ZERO):
            continue
        if offer.reward == "free_shipping" and free_shipping is not None:
            continue
        if offer.reward != "free_shipping" and _spend_amount(offer, offer.min_subtotal) <= best_off:
            continue
        spend.append(NextPromotion(offer=offer, amount_missing=offer.min_subtotal - subtotal))
    if spend:
        return min(spend, key=lambda n: (n.amount_missing, -n.offer.priority))
    sets = []
    for offer in offers:
        if offer.kind == "buy_get" and offer.fits(ZERO):
            missing = _units_missing(offer, lines)
            if missing is not None:
                sets.append(NextPromotion(offer=offer, units_missing=missing))
    return min(sets, key=lambda n: (n.units_missing, -n.offer.priority), default=None)
