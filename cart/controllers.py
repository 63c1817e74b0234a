"""/api/cart: a signed-in customer's cart, or a guest's named by the X-Cart-Token header."""

from typing import Any

from ninja import Header, Path, Status
from ninja_extra import api_controller, route

from api.auth import JWTAuth, OptionalJWTAuth
from api.controllers import ApiController
from api.schemas import ErrorOut
from cart import selectors, services
from cart.errors import CartNotFound
from cart.models import Cart
from cart.schemas import (
    CART_TOKEN_HEADER,
    CartLineIn,
    CartLinePatch,
    CartMergeOut,
    CartOut,
    CouponIn,
    Id,
)

ERRORS = {401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut, 429: ErrorOut}


def CartToken():
    return Header(
        None,
        alias=CART_TOKEN_HEADER,
        max_length=128,
        description="A guest cart's token (from POST /api/cart); ignored for signed-in customers.",
    )


@api_controller("/cart", tags=["cart"], auth=OptionalJWTAuth())
class CartController(ApiController):
    def _user(self) -> Any:
        return selectors.caller_user(self.context.request.auth)

    def _cart(self, token: str | None, *, create: bool = False) -> Cart:
        user = self._user()
        if user is not None:
            if create:
                return services.cart_for_user(user=user)
            cart = selectors.cart_open_for(user=user, token=None)
            return cart if cart is not None else services.cart_for_user(user=user)
        cart = selectors.cart_open_for(user=None, token=token)
        if cart is None:
            raise CartNotFound()
        return cart

    def _out(self, cart: Cart, token: str | None) -> CartOut:
        """The answer after a write that returns the cart (create, coupon): read again."""
        return CartOut.model_validate(
            selectors.cart_for_answer(cart, user=self._user(), token=token)
        )

    @route.get("", response={200: CartOut, **ERRORS}, summary="The cart, priced from the catalog")
    def get(self, x_cart_token: str | None = CartToken()):
        cart = self._cart(x_cart_token)  # with its coupon: priced as read, not read again
        return CartOut.model_validate(
            selectors.cart_priced(cart, user=self._user(), token=x_cart_token)
        )

    @route.post(
        "",
        response={200: CartOut, 201: CartOut, **ERRORS},
        summary="Open a cart: a guest gets a new one and its token; a customer their own",
        description="201 when a cart was created, 200 for a customer's existing cart.",
    )
    def create(self):
        cart, token, created = services.cart_create(user=self._user())
        return Status(201 if created else 200, self._out(cart, token))

    @route.post(
        "/items",
        response={201: CartOut, **ERRORS},
        summary="Add a variant (to its line if already in the cart)",
        description="409 `insufficient_stock` (details.available) beyond the stock.",
    )
    def add(self, payload: CartLineIn, x_cart_token: str | None = CartToken()):
        priced = services.cart_line_add(
            cart=self._cart(x_cart_token, create=True),
            variant_id=payload.variant_id,
            quantity=payload.quantity,
            user=self._user(),
            token=x_cart_token,
        )
        return Status(201, CartOut.model_validate(priced))

    @route.patch(
        "/items/{line_id}",
        response={200: CartOut, **ERRORS},
        summary="Change a line's quantity",
    )
    def update(
        self, line_id: Path[Id], payload: CartLinePatch, x_cart_token: str | None = CartToken()
    ):
        priced = services.cart_line_update(
            cart=self._cart(x_cart_token),
            line_id=line_id,
            quantity=payload.quantity,
            user=self._user(),
            token=x_cart_token,
        )
        return CartOut.model_validate(priced)

    @route.delete("/items/{line_id}", response={200: CartOut, **ERRORS}, summary="Remove a line")
    def delete(self, line_id: Path[Id], x_cart_token: str | None = CartToken()):
        priced = services.cart_line_delete(
            cart=self._cart(x_cart_token), line_id=line_id, user=self._user(), token=x_cart_token
        )
        return CartOut.model_validate(priced)

    @route.post(
        "/coupon",
        response={200: CartOut, **ERRORS},
        summary="Apply a coupon code",
        description=(
            "404 `coupon_not_found`; 409 `coupon_expired`, `coupon_not_started`, "
            "`coupon_min_subtotal`, `coupon_usage_limit`, `coupon_customer_limit`, "
            "`coupon_inactive`."
        ),
    )
    def coupon_apply(self, payload: CouponIn, x_cart_token: str | None = CartToken()):
        cart = self._cart(x_cart_token, create=True)
        services.cart_coupon_apply(cart=cart, code=payload.code, user=self._user())
        return self._out(cart, x_cart_token)

    @route.delete("/coupon", response={200: CartOut, **ERRORS}, summary="Remove the coupon")
    def coupon_remove(self, x_cart_token: str | None = CartToken()):
        cart = self._cart(x_cart_token)
        services.cart_coupon_remove(cart=cart)
        return self._out(cart, x_cart_token)

    @route.post(
        "/merge",
        response={200: CartMergeOut, **ERRORS},
        auth=JWTAuth(),
        summary="Merge the guest cart named by X-Cart-Token into your cart",
        description=(
            "Quantities are capped at the stock; the report lists what was merged, capped, "
            "dropped and repriced. Merging the same guest cart again changes nothing "
            "(`already_merged`)."
        ),
    )
    def merge(self, x_cart_token: str | None = CartToken()):
        if not x_cart_token:
            raise CartNotFound("Send the guest cart's token in the X-Cart-Token header.")
        user = self.context.request.auth
        report = services.cart_merge(user=user, token=x_cart_token)
        return selectors.merge_report_priced(report, user=user)
