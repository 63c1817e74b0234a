"""Domain errors of accounts and authentication; api/errors.py renders them."""

from api.errors import (
    BadRequest,
    Conflict,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TokenNotValid,
)


class InvalidCredentials(NotAuthenticated):
    code, message = "invalid_credentials", "The email or the password is wrong."


class RefreshTokenReused(TokenNotValid):
    """A refresh token presented again after its rotation: taken as stolen, its family revoked."""

    code = "token_reused"
    message = (
        "This refresh token was already used; the sessions it led to have ended. Sign in again."
    )

    def __init__(self) -> None:
        super().__init__(details={"reason": "token_reused"})


class EmailTaken(Conflict):
    code, message = "email_taken", "An account with this email already exists."


class OneTimeTokenInvalid(BadRequest):
    code, message = "token_invalid", "This link is invalid or has expired; ask for a new one."


class EmailAlreadyVerified(Conflict):
    code, message = "email_already_verified", "This email address is already verified."


class EmailNotVerified(PermissionDenied):
    """Raised by the checkout when REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT holds and it is not."""

    code, message = "email_not_verified", "Verify your email address first."


class AddressLimitReached(Conflict):
    code, message = "address_limit_reached", "You cannot save more addresses; delete one first."


class AddressNotFound(NotFound):
    code, message = "address_not_found", "Address not found."


class UserNotFound(NotFound):
    code, message = "user_not_found", "User not found."


class PasswordInvalid(InvalidInput):
    """A new password the validators refuse; details.errors lists their reasons."""

    code, message = "password_invalid", "The password is too weak."


class WrongPassword(InvalidInput):
    code, message = "wrong_password", "The current password is wrong."
