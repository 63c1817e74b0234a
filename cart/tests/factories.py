"""Factories and helpers for cart, checkout and order tests; prices are Decimals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Permission

from api.auth import tokens_for
from cart.models import Cart, CartLine, Coupon, CouponKind, cart_token_hash, new_cart_token
from core.models import User
from core.tests.factories import AddressFactory, UserFactory
from products.tests.factories import ProductFactory, VariantFactory

__all__ = [
    "AddressFactory",
    "CouponFactory",
    "ProductFactory",
    "UserFactory",
    "VariantFactory",
    "bearer",
    "guest_cart",
    "make_variant",
    "staff_user",
    "user_cart",
]

ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "street_address_1": "12 Rue de Rivoli",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
}


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"SAVE{n}")
    kind = CouponKind.PERCENT
    value = Decimal("10.00")


def bearer(user: User) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens_for(user)['access']}"}


def make_variant(*, price: str = "20.00", stock: int = 10, sku: str | None = None, **kwargs: Any):
    """A product with one default variant at `price`, holding `stock`."""
    product = ProductFactory(base_price=Decimal(price), default_variant=False, **kwargs)
    extra = {"sku": sku} if sku else {}
    return VariantFactory(product=product, is_default=True, stock_quantity=stock, **extra)


def guest_cart(*lines: tuple[Any, int], coupon: Coupon | None = None) -> tuple[Cart, str]:
    """A guest cart holding (variant, quantity) lines, and its token."""
    token = new_cart_token()
    cart = Cart.objects.create(token_hash=cart_token_hash(token), coupon=coupon)
    _add(cart, lines)
    return cart, token


def user_cart(user: User, *lines: tuple[Any, int], coupon: Coupon | None = None) -> Cart:
    cart = Cart.objects.create(user=user, coupon=coupon)
    _add(cart, lines)
    return cart


def _add(cart: Cart, lines) -> None:
    for variant, quantity in lines:
        CartLine.objects.create(
            cart=cart, variant=variant, quantity=quantity, unit_price_at_add=variant.effective_price
        )


def staff_user(*perms: str, email: str = "staff@example.com") -> User:
    """Active staff holding each 'app.codename' permission."""
    user = UserFactory(email=email, is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    return User.objects.get(pk=user.pk)
