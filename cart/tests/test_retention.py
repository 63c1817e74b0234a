"""Closed carts' lines pruned after CART_CLOSED_LINES_KEEP_DAYS by the daily purge: the cart row
stays for its order and its guest token; open carts keep their lines however old."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cart.models import Cart, CartLine, CartStatus
from cart.services import carts_purge_stale
from testing.factories import UserFactory, guest_cart, make_variant, user_cart

pytestmark = pytest.mark.django_db


def closed(cart: Cart, days_ago: float) -> None:
    Cart.objects.filter(pk=cart.pk).update(
        status=CartStatus.CHECKED_OUT, closed_at=timezone.now() - timedelta(days=days_ago)
    )


def test_checked_out_carts_lose_their_lines_after_the_period_and_keep_their_row(settings):
    settings.CART_CLOSED_LINES_KEEP_DAYS = 30
    variant, other = make_variant(stock=50), make_variant(stock=50)
    long_ago, _ = guest_cart((variant, 1), (other, 2))
    lately = user_cart(UserFactory(), (variant, 1))
    still_open = user_cart(UserFactory(), (other, 3))
    closed(long_ago, 31)
    closed(lately, 29)
    Cart.objects.filter(pk=still_open.pk).update(updated_at=timezone.now() - timedelta(days=365))

    assert carts_purge_stale() == 2
    assert not CartLine.objects.filter(cart=long_ago).exists()
    assert CartLine.objects.filter(cart=lately).count() == 1
    assert CartLine.objects.filter(cart=still_open).count() == 1
    assert Cart.objects.filter(pk__in=[long_ago.pk, lately.pk, still_open.pk]).count() == 3
    assert carts_purge_stale() == 0


def test_zero_days_keeps_closed_carts_lines(settings):
    settings.CART_CLOSED_LINES_KEEP_DAYS = 0
    cart, _ = guest_cart((make_variant(stock=5), 1))
    closed(cart, 3650)
    assert carts_purge_stale() == 0
    assert CartLine.objects.filter(cart=cart).count() == 1
