"""Accounts and authentication: email tokens and their links, saved addresses, the auth route
group's rate limit, the per-action limits of the account services, and the token clean-up."""

from .env import env

# Whether a customer must verify their email before checking out (read by the checkout through
# core.selectors.user_may_checkout).
REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT = env.bool("REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT", default=False)

# A refresh token presented again more than this long after its rotation is taken as stolen: every
# token its rotation led to is revoked (401 token_reused). Sooner, it is the race of two browser
# tabs refreshing at once, and only a plain 401.
REFRESH_TOKEN_REUSE_GRACE_SECONDS = env.int("REFRESH_TOKEN_REUSE_GRACE_SECONDS", default=30)

# One-time tokens sent by email.
PASSWORD_RESET_TOKEN_TTL_MINUTES = env.int("PASSWORD_RESET_TOKEN_TTL_MINUTES", default=60)
EMAIL_VERIFICATION_TOKEN_TTL_HOURS = env.int("EMAIL_VERIFICATION_TOKEN_TTL_HOURS", default=72)
# Links in those emails lead to the storefront, which posts the token back to the API.
STOREFRONT_URL = env("STOREFRONT_URL", default="http://localhost:3000")
PASSWORD_RESET_URL = env(
    "PASSWORD_RESET_URL", default=STOREFRONT_URL + "/account/reset-password?token={token}"
)
EMAIL_VERIFICATION_URL = env(
    "EMAIL_VERIFICATION_URL", default=STOREFRONT_URL + "/account/verify-email?token={token}"
)
SHOP_NAME = env("SHOP_NAME", default="Emporium")

# A customer keeps at most this many saved addresses.
MAX_ADDRESSES_PER_USER = 50

# The auth route group's part of RATE_LIMITS (composed in base.py).
AUTH_RATE_LIMITS = {"auth": {"ip": "60/min", "user": "60/min"}}

# Stricter limits one service enforces for one action, per identity (ip, email, user).
RATE_LIMIT_ACTIONS: dict[str, dict[str, str]] = {
    # Failed sign-ins only; a right password takes its attempt back.
    "login_failure": {"ip": "5/min", "email": "5/min"},
    "register": {"ip": "10/hour"},
    "password_reset": {"ip": "10/hour", "email": "3/hour"},
    "email_verification": {"user": "5/hour"},
    "password_change": {"user": "10/hour"},
    **env.json("RATE_LIMIT_ACTIONS", default={}),
}

# Auth's part of DEFAULT_BEAT_SCHEDULES (composed in base.py).
AUTH_BEAT_SCHEDULES = {
    "flush-expired-tokens": {
        "task": "maintenance.flush_expired_tokens",
        "crontab": {"minute": "17", "hour": "3"},
    },
}
