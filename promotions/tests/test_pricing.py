"""The promotion arithmetic (promotions/pricing.py), without the database."""

from decimal import Decimal as D

from cart.pricing import cart_totals
from promotions.pricing import (
    CartOffer,
    CatalogOffer,
    Line,
    allocate,
    cart_promotions_apply,
    catalog_best,
    offers_reached,
    unit_price_after,
)


def spend(pk, minimum, reward="fixed", value="0", **kw):
    return CartOffer(
        promotion_id=pk,
        name=f"spend {minimum}",
        kind="spend",
        reward=reward,
        value=D(value),
        min_subtotal=D(minimum),
        **kw,
    )


def buy_get(pk, n, m, variants, **kw):
    return CartOffer(
        promotion_id=pk,
        name=f"buy {n} get {m}",
        kind="buy_get",
        reward="free_items",
        buy_quantity=n,
        free_quantity=m,
        variant_ids=frozenset(variants),
        **kw,
    )


def test_catalog_prices_round_half_up_and_stop_at_zero():
    assert unit_price_after(D("19.99"), kind="percent", value=D("20")) == D("15.99")
    assert unit_price_after(D("0.05"), kind="percent", value=D("50")) == D("0.03")
    assert unit_price_after(D("3.00"), kind="fixed", value=D("5.00")) == D("0.00")


def test_the_highest_priority_wins_then_the_lower_price():
    small = CatalogOffer(promotion_id=1, name="small", kind="percent", value=D("10"), priority=5)
    big = CatalogOffer(promotion_id=2, name="big", kind="percent", value=D("50"), priority=0)
    assert catalog_best(D("100.00"), [big, small]).offer == small
    assert catalog_best(D("100.00"), [big, small]).price == D("90.00")
    fixed = CatalogOffer(promotion_id=3, name="fixed", kind="fixed", value=D("15"), priority=5)
    assert catalog_best(D("100.00"), [small, fixed]).price == D("85.00")
    assert catalog_best(D("0.00"), [fixed]) is None  # nothing to take off: no promotion shown


def test_buy_two_get_one_frees_the_cheapest_unit_of_every_three():
    lines = [Line(1, D("30.00"), 2), Line(2, D("10.00"), 2), Line(3, D("99.00"), 1)]
    goods = cart_promotions_apply(
        lines=lines, offers=[buy_get(7, 2, 1, {1, 2})], coupon_applies=False
    )
    # 4 units of the set (30, 30, 10, 10): one group of three, its cheapest free; variant 3 is
    # not in the set
    assert goods.discount == D("10.00")
    assert dict(goods.applied[0].lines) == {2: D("10.00")}
    assert goods.next.units_missing == 2
    assert goods.next.message == "add 2 more from buy 2 get 1 for 1 free"


def test_the_best_spend_tier_applies_and_the_next_one_is_announced():
    offers = [
        spend(1, "50", value="5.00"),
        spend(2, "100", value="15.00"),
        spend(3, "80", reward="free_shipping"),
    ]
    goods = cart_promotions_apply(
        lines=[Line(1, D("68.00"), 1)], offers=offers, coupon_applies=False
    )
    assert [a.promotion_id for a in goods.applied] == [1]
    assert goods.discount == D("5.00")
    assert goods.free_shipping_offer is None
    assert goods.next.message == "spend 12.00 more for free shipping"
    goods = cart_promotions_apply(
        lines=[Line(1, D("120.00"), 1)], offers=offers, coupon_applies=False
    )
    assert [a.promotion_id for a in goods.applied] == [2]
    assert goods.free_shipping_offer.promotion_id == 3
    assert goods.next is None


def test_an_exclusive_promotion_steps_aside_for_a_coupon():
    offers = [spend(1, "10", value="5.00", coupon_rule="exclusive")]
    line = [Line(1, D("20.00"), 1)]
    assert cart_promotions_apply(lines=line, offers=offers, coupon_applies=False).discount == D("5")
    assert cart_promotions_apply(lines=line, offers=offers, coupon_applies=True).discount == 0


def test_limits_and_budget_decide_whether_a_promotion_applies():
    line = [Line(1, D("20.00"), 1)]
    spent = spend(1, "10", value="5.00", uses_left=0)
    assert cart_promotions_apply(lines=line, offers=[spent], coupon_applies=False).applied == ()
    short = spend(1, "10", value="5.00", budget_left=D("4.99"))
    assert cart_promotions_apply(lines=line, offers=[short], coupon_applies=False).applied == ()
    enough = spend(1, "10", value="5.00", budget_left=D("5.00"))
    assert cart_promotions_apply(lines=line, offers=[enough], coupon_applies=False).discount == 5
    assert offers_reached(lines=line, offers=[spent, short]) == [spent, short]


def test_an_amount_off_is_shared_by_the_lines_to_the_cent():
    shares = allocate(D("10.00"), {1: D("10.00"), 2: D("10.00"), 3: D("10.00")})
    assert sum(shares.values()) == D("10.00")
    assert sorted(shares.values()) == [D("3.33"), D("3.33"), D("3.34")]


def test_cart_totals_waive_shipping_with_a_promotion_and_value_it(settings):
    settings.SHIPPING_FLAT_RATE, settings.SHIPPING_FREE_THRESHOLD = D("5.00"), D("50.00")
    settings.TAX_RATE = D("0")
    lines = [Line(1, D("15.00"), 2)]
    totals = cart_totals(
        subtotal=D("30.00"),
        coupon=None,
        lines=lines,
        offers=[
            spend(9, "25", reward="free_shipping"),
            spend(4, "20", value="10", reward="percent"),
        ],
    )
    assert totals.discount_total == D("3.00")
    assert totals.shipping_total == D("0.00")
    assert totals.grand_total == D("27.00")
    assert [(a.promotion_id, a.amount, a.shipping) for a in totals.promotions] == [
        (4, D("3.00"), False),
        (9, D("5.00"), True),
    ]
