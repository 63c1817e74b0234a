"""The rows more than one app's tests build: customers and staff, addresses, the catalog, coupons
and carts; prices are Decimals. An app's own factories stay in its tests/fixtures.py.

    user = UserFactory()                      # password PASSWORD
    staff = staff_user("orders.view_order")   # "app.codename", or "app.*" for all of an app's
    client.get("/api/me", **bearer(user))
    _, token = guest_cart((make_variant(price="25.00", stock=3), 2))
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import Permission

from api.auth import tokens_for
from cart.models import Cart, CartLine, Coupon, CouponKind, cart_token_hash, new_cart_token
from core.models import Address, User
from products.attribute_values import fill_typed_value
from products.models import (
    AttributeDefinition,
    AttributeType,
    Brand,
    Category,
    Product,
    ProductAttributeValue,
    Variant,
    VariantAttributeValue,
)
from products.services.products import product_prices_refresh

PASSWORD = "Correct-Horse-42"  # noqa: S105 - every test user's password

ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "street_address_1": "12 Rue de Rivoli",
    "city": "Paris",
    "postal_code": "75001",
    "country": "FR",
}


# -- people ---------------------------------------------------------------------------------------


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = "Ada"
    last_name = "Lovelace"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        return model_class.objects.create_user(password=password, **kwargs)


def staff_user(*perms: str, email: str = "staff@example.com") -> User:
    """An active staff user holding each "app.codename" permission ("app.*": all of that app's)."""
    user = UserFactory(email=email, is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        of_app = Permission.objects.filter(content_type__app_label=app)
        if codename == "*":
            user.user_permissions.add(*of_app)
        else:
            user.user_permissions.add(of_app.get(codename=codename))
    return User.objects.get(pk=user.pk)


def bearer(user_or_token: User | str) -> dict[str, str]:
    """The Authorization header of a user's fresh access token (or of the token given)."""
    token = user_or_token if isinstance(user_or_token, str) else tokens_for(user_or_token)["access"]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(UserFactory)
    first_name = "Ada"
    last_name = "Lovelace"
    street_address_1 = factory.Sequence(lambda n: f"{n} Rue de Rivoli")
    city = "Paris"
    postal_code = "75001"
    country = "FR"


# -- the catalog ----------------------------------------------------------------------------------


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class AttributeDefinitionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AttributeDefinition

    code = factory.Sequence(lambda n: f"attr{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    type = AttributeType.TEXT


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    category = factory.SubFactory(CategoryFactory)
    brand = factory.SubFactory(BrandFactory)
    base_price = Decimal("19.99")

    @factory.post_generation
    def default_variant(self, create, extracted, **kwargs):
        # Every product has at least one variant; pass default_variant=False to add your own.
        if create and extracted is not False:
            VariantFactory(product=self, is_default=True, stock_quantity=kwargs.get("stock", 10))


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory, default_variant=False)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    stock_quantity = 10

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        variant = super()._create(model_class, *args, **kwargs)
        product_prices_refresh([variant.product_id])
        return variant


def make_variant(*, price: str = "20.00", stock: int = 10, sku: str | None = None, **kwargs: Any):
    """A product with one default variant at `price`, holding `stock`."""
    product = ProductFactory(base_price=Decimal(price), default_variant=False, **kwargs)
    extra = {"sku": sku} if sku else {}
    return VariantFactory(product=product, is_default=True, stock_quantity=stock, **extra)


def set_value(owner, definition, raw):
    """Attach a validated attribute value to a product or a variant."""
    if isinstance(owner, Product):
        value = ProductAttributeValue(product=owner, definition=definition)
    else:
        value = VariantAttributeValue(variant=owner, definition=definition)
    fill_typed_value(value, definition, raw)
    value.save()
    return value


# -- coupons and carts ----------------------------------------------------------------------------


class CouponFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coupon

    code = factory.Sequence(lambda n: f"SAVE{n}")
    kind = CouponKind.PERCENT
    value = Decimal("10.00")


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


# -- a small catalog ------------------------------------------------------------------------------


class Catalog:
    """A small tree with attributes, for the catalog and search tests (the `catalog` fixture):

    Apparel > Shoes > Running, Electronics > Laptops; color/size per variant on Apparel/Shoes,
    material per product on Apparel, ram per variant on Electronics.
    """

    def __init__(self):
        self.apparel = CategoryFactory(name="Apparel", slug="apparel")
        self.shoes = CategoryFactory(name="Shoes", slug="shoes", parent=self.apparel)
        self.running = CategoryFactory(name="Running", slug="running", parent=self.shoes)
        self.electronics = CategoryFactory(name="Electronics", slug="electronics", position=1)
        self.laptops = CategoryFactory(name="Laptops", slug="laptops", parent=self.electronics)
        self.acme = BrandFactory(name="Acme", slug="acme")
        self.zenith = BrandFactory(name="Zenith", slug="zenith")
        self.color = AttributeDefinitionFactory(
            code="color",
            name="Color",
            type=AttributeType.CHOICE,
            category=self.apparel,
            choices=["Blue", "Red", "Black"],
            is_variant_attribute=True,
        )
        self.size = AttributeDefinitionFactory(
            code="size",
            name="Size",
            type=AttributeType.CHOICE,
            category=self.shoes,
            choices=["41", "42", "43"],
            is_variant_attribute=True,
        )
        self.material = AttributeDefinitionFactory(
            code="material", name="Material", type=AttributeType.TEXT, category=self.apparel
        )
        self.ram = AttributeDefinitionFactory(
            code="ram",
            name="RAM",
            type=AttributeType.NUMBER,
            unit="GB",
            category=self.electronics,
            is_variant_attribute=True,
        )
        # Running shoe: blue 42 (in stock), red 43 (sold out); 89.00 / 99.00.
        self.runner = ProductFactory(
            name="Road Runner",
            slug="road-runner",
            category=self.running,
            brand=self.acme,
            base_price=Decimal("89.00"),
            default_variant=False,
        )
        set_value(self.runner, self.material, "Mesh")
        self.runner_blue = VariantFactory(
            product=self.runner,
            sku="RR-BLUE-42",
            is_default=True,
            stock_quantity=5,
            compare_at_price=Decimal("120.00"),
        )
        set_value(self.runner_blue, self.color, "Blue")
        set_value(self.runner_blue, self.size, "42")
        self.runner_red = VariantFactory(
            product=self.runner,
            sku="RR-RED-43",
            position=1,
            price=Decimal("99.00"),
            stock_quantity=0,
        )
        set_value(self.runner_red, self.color, "Red")
        set_value(self.runner_red, self.size, "43")
        product_prices_refresh([self.runner.pk])
        # Shoe with no variants of its own: one default variant, featured.
        self.slipper = ProductFactory(
            name="Soft Slipper",
            slug="soft-slipper",
            category=self.shoes,
            brand=self.zenith,
            base_price=Decimal("25.50"),
            is_featured=True,
        )
        # Laptop: 16 GB and 32 GB.
        self.laptop = ProductFactory(
            name="Zen Book",
            slug="zen-book",
            category=self.laptops,
            brand=self.zenith,
            base_price=Decimal("999.00"),
            default_variant=False,
        )
        self.laptop_16 = VariantFactory(product=self.laptop, sku="ZB-16", is_default=True)
        set_value(self.laptop_16, self.ram, 16)
        self.laptop_32 = VariantFactory(
            product=self.laptop, sku="ZB-32", position=1, price=Decimal("1299.00")
        )
        set_value(self.laptop_32, self.ram, 32)
        product_prices_refresh([self.laptop.pk])


def refunds_confirm_due(actor=None) -> int:
    """Confirm every refund of an offline payment that is due, as staff do once they sent the
    money back (payments.services.payment_refund_confirm); how many."""
    from payments.models import Refund, RefundStatus
    from payments.services import payment_refund_confirm

    due = Refund.objects.filter(status=RefundStatus.PENDING).order_by("pk")
    ids = list(due.values_list("pk", flat=True))
    for refund_id in ids:
        payment_refund_confirm(refund_id=refund_id, actor=actor, note="sent back")
    return len(ids)
