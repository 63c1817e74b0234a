"""Accounts, authentication and rate limits. Imported at the end of base.py."""

from .base import DEFAULT_BEAT_SCHEDULES, MIDDLEWARE, env

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

# -- rate limits (api/ratelimit.py) ------------------------------------------------------------
RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)
RATE_LIMIT_KEY_PREFIX = env("RATE_LIMIT_KEY_PREFIX", default="emporium:rl")
# How many reverse proxies (nginx, a load balancer) append to X-Forwarded-For in front of the API;
# 0 trusts only the socket's address, so a client cannot pick its own IP.
RATE_LIMIT_TRUSTED_PROXIES = env.int("RATE_LIMIT_TRUSTED_PROXIES", default=0)

# The general limit on every /api/ route, per route group (first path segment after /api/):
# "ip" counts anonymous callers per address, "user" signed-in callers per account; None turns a
# group's limit off. Other apps add their group: RATE_LIMITS["search"] = {"ip": ..., "user": ...}.
# RATE_LIMITS='{"search": {"ip": "60/min"}}' in the environment overrides groups without a deploy.
RATE_LIMITS: dict[str, dict[str, str] | None] = {
    "default": {"ip": "300/min", "user": "600/min"},
    "auth": {"ip": "60/min", "user": "60/min"},
    "health": None,  # probes from load balancers and orchestrators
    **env.json("RATE_LIMITS", default={}),
}

# Route groups whose GETs are counted by the view's first cache read, in the same Redis round trip
# (api.ratelimit.PendingLimit): a cached catalog answer costs one round trip instead of two.
RATE_LIMIT_DEFERRED_GROUPS = frozenset(env.list("RATE_LIMIT_DEFERRED_GROUPS", default=["catalog"]))

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

# Before the session and CSRF middleware: a limited request is refused before any other work.
MIDDLEWARE.insert(
    MIDDLEWARE.index("api.middleware.JsonErrorMiddleware") + 1, "api.ratelimit.RateLimitMiddleware"
)

DEFAULT_BEAT_SCHEDULES["flush-expired-tokens"] = {
    "task": "maintenance.flush_expired_tokens",
    "crontab": {"minute": "17", "hour": "3"},
}
