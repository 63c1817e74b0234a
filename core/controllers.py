"""/api/auth, /api/me, /api/me/addresses and /api/staff/users."""

from dataclasses import asdict

from ninja import Query, Status
from ninja_extra import api_controller, route
from ninja_extra.pagination import paginate

from api.auth import JWTAuth
from api.controllers import ApiController
from api.pagination import Page, PageNumberPagination
from api.permissions import StaffWithPerms
from api.ratelimit import client_ip
from api.schemas import ErrorOut, MessageOut
from cart import selectors as cart_selectors
from cart import services as cart_services
from cart.controllers import CartToken
from cart.schemas import TokenPairWithCartOut
from core import selectors, services, tokens
from core.schemas import (
    AddressIn,
    AddressOut,
    AddressPatchIn,
    AuthOut,
    EmailVerifyIn,
    LogoutIn,
    PasswordChangeIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    ProfileUpdateIn,
    RegisterIn,
    StaffUserDetailOut,
    StaffUserFilter,
    StaffUserOut,
    TokenInfoOut,
    TokenObtainIn,
    TokenPairOut,
    TokenRefreshIn,
    TokenVerifyIn,
    UserOut,
)

# Errors every route can answer: bad input, and the general rate limit.
COMMON_ERRORS = {422: ErrorOut, 429: ErrorOut}
AUTH_ERRORS = {401: ErrorOut, **COMMON_ERRORS}

RESET_ACCEPTED = (
    "If an account uses this address, an email with a link to reset its password is on its way."
)


@api_controller("/auth", tags=["auth"], auth=None)
class AuthController(ApiController):
    @route.post(
        "/register",
        response={201: AuthOut, 409: ErrorOut, **COMMON_ERRORS},
        summary="Create a customer account and sign in",
    )
    def register(self, payload: RegisterIn):
        user, pair = services.user_register(
            email=payload.email,
            password=payload.password,
            first_name=payload.first_name,
            last_name=payload.last_name,
            ip=client_ip(self.context.request),
        )
        return Status(201, {"user": user, "tokens": pair})

    @route.post(
        "/token",
        response={200: TokenPairWithCartOut, **AUTH_ERRORS},
        summary="Sign in: email and password for an access and refresh token pair",
        description="With a guest cart's X-Cart-Token, that cart is merged into the account's "
        "and `cart_merge` reports how (see POST /api/cart/merge).",
        exclude_unset=True,  # no X-Cart-Token: the answer has no cart_merge key at all
    )
    def token_obtain(self, payload: TokenObtainIn, x_cart_token: str | None = CartToken()):
        user = services.user_authenticate(
            email=payload.email, password=payload.password, ip=client_ip(self.context.request)
        )
        pair = tokens.token_pair_issue(user=user)
        if not x_cart_token:
            return asdict(pair)
        merge = cart_services.cart_merge_at_sign_in(user=user, token=x_cart_token)
        merged = cart_selectors.merge_report_priced(merge, user=user) if merge else None
        return {**asdict(pair), "cart_merge": merged}

    @route.post(
        "/token/refresh",
        response={200: TokenPairOut, **AUTH_ERRORS},
        summary="Trade a refresh token for a new pair (the old one stops working)",
        description="A refresh token presented again after REFRESH_TOKEN_REUSE_GRACE_SECONDS (30) "
        "since its rotation is taken as stolen: every token its sign-in led to is revoked and the "
        "answer is a 401 with code `token_reused`. Sooner, or after a logout, a plain 401.",
    )
    def token_refresh(self, payload: TokenRefreshIn):
        return tokens.token_refresh(refresh=payload.refresh)

    @route.post(
        "/token/verify",
        response={200: TokenInfoOut, **AUTH_ERRORS},
        summary="Whether a token would be accepted now",
    )
    def token_verify(self, payload: TokenVerifyIn):
        return tokens.token_verify(token=payload.token)

    @route.post(
        "/logout",
        response={204: None, **AUTH_ERRORS},
        summary="Blacklist a refresh token (or, with everywhere, every one of the account)",
    )
    def logout(self, payload: LogoutIn):
        tokens.token_blacklist(refresh=payload.refresh, everywhere=payload.everywhere)
        return Status(204, None)

    @route.post(
        "/password/change",
        response={200: TokenPairOut, **AUTH_ERRORS},
        auth=JWTAuth(),
        summary="Change the password; other sessions end, this one gets a new pair",
    )
    def password_change(self, payload: PasswordChangeIn):
        return services.password_change(
            user=self.context.request.auth,
            current_password=payload.current_password,
            new_password=payload.new_password,
        )

    @route.post(
        "/password/reset",
        response={202: MessageOut, **COMMON_ERRORS},
        summary="Email a password reset link (same answer whether the account exists or not)",
    )
    def password_reset(self, payload: PasswordResetIn):
        services.password_reset_request(email=payload.email, ip=client_ip(self.context.request))
        return Status(202, {"detail": RESET_ACCEPTED})

    @route.post(
        "/password/reset/confirm",
        response={204: None, 400: ErrorOut, **COMMON_ERRORS},
        summary="Set a new password with the token of a reset link",
    )
    def password_reset_confirm(self, payload: PasswordResetConfirmIn):
        services.password_reset_confirm(token=payload.token, new_password=payload.new_password)
        return Status(204, None)

    @route.post(
        "/email/verify",
        response={200: UserOut, 400: ErrorOut, **COMMON_ERRORS},
        summary="Verify an email address with the token of a verification link",
    )
    def email_verify(self, payload: EmailVerifyIn):
        return services.email_verify(token=payload.token)

    @route.post(
        "/email/verify/resend",
        response={202: MessageOut, 409: ErrorOut, **AUTH_ERRORS},
        auth=JWTAuth(),
        summary="Send a new verification link to the caller's address",
    )
    def email_verification_resend(self):
        services.email_verification_resend(user=self.context.request.auth)
        return Status(202, {"detail": "A verification link is on its way."})


@api_controller("/me", tags=["me"], auth=JWTAuth())
class MeController(ApiController):
    @route.get("", response={200: UserOut, **AUTH_ERRORS}, summary="The caller's profile")
    def me(self):
        return self.context.request.auth

    @route.patch("", response={200: UserOut, **AUTH_ERRORS}, summary="Change profile fields")
    def update(self, payload: ProfileUpdateIn):
        return services.user_profile_update(
            user=self.context.request.auth, data=payload.model_dump(exclude_unset=True)
        )


@api_controller("/me/addresses", tags=["me"], auth=JWTAuth())
class AddressController(ApiController):
    @route.get("", response={200: Page[AddressOut], **AUTH_ERRORS}, summary="Saved addresses")
    @paginate(PageNumberPagination)
    def list(self):
        return selectors.address_list(user=self.context.request.auth)

    @route.post(
        "",
        response={201: AddressOut, 409: ErrorOut, **AUTH_ERRORS},
        summary="Save an address (the first one becomes the default of each kind)",
    )
    def create(self, payload: AddressIn):
        data = payload.model_dump(exclude_unset=True)
        data.update(payload.model_dump(exclude={"is_default_shipping", "is_default_billing"}))
        address = services.address_create(user=self.context.request.auth, data=data)
        return Status(201, address)

    @route.get(
        "/{int:address_id}",
        response={200: AddressOut, 404: ErrorOut, **AUTH_ERRORS},
        summary="One address",
    )
    def get(self, address_id: int):
        return selectors.address_get(user=self.context.request.auth, address_id=address_id)

    @route.patch(
        "/{int:address_id}",
        response={200: AddressOut, 404: ErrorOut, **AUTH_ERRORS},
        summary="Change an address; setting a default flag moves it from the previous default",
    )
    def update(self, address_id: int, payload: AddressPatchIn):
        return services.address_update(
            user=self.context.request.auth,
            address_id=address_id,
            data=payload.model_dump(exclude_unset=True),
        )

    @route.delete(
        "/{int:address_id}",
        response={204: None, 404: ErrorOut, **AUTH_ERRORS},
        summary="Delete an address",
    )
    def delete(self, address_id: int):
        services.address_delete(user=self.context.request.auth, address_id=address_id)
        return Status(204, None)


@api_controller(
    "/staff/users",
    tags=["staff"],
    auth=JWTAuth(),
    permissions=[StaffWithPerms("core.view_user")],
)
class StaffUserController(ApiController):
    @route.get(
        "",
        response={200: Page[StaffUserOut], 403: ErrorOut, **AUTH_ERRORS},
        summary="Customers and staff, newest first (needs core.view_user)",
    )
    @paginate(PageNumberPagination)
    def list(self, filters: Query[StaffUserFilter]):
        return selectors.user_list_for_staff(
            search=filters.search, is_staff=filters.is_staff, email_verified=filters.email_verified
        )

    @route.get(
        "/{int:user_id}",
        response={200: StaffUserDetailOut, 403: ErrorOut, 404: ErrorOut, **AUTH_ERRORS},
        summary="One user with their addresses and groups (needs core.view_user)",
    )
    def get(self, user_id: int):
        return selectors.user_get_for_staff(user_id=user_id)
