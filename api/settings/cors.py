"""Cross-origin requests (django-cors-headers): which browser origins may call the API.

A storefront served from another origin (the seeds' storefront on STOREFRONT_URL in development,
https://shop.example.com in production) calls /api/ from the browser. Without an allowed origin
the browser refuses every such call; with one, CorsMiddleware answers its preflights before the
startup gate and the rate limiter see them (api/settings/base.py MIDDLEWARE) and marks real
answers, 429s and 503s included, readable by it. The admin is same-origin: not covered.
Credentials stay off: the API authenticates with bearer tokens and guest tokens in headers,
never cookies.
"""

from .env import env

# Exact origins (scheme://host[:port], no path). None by default; dev.py allows the storefront's.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/"
CORS_ALLOW_CREDENTIALS = False
# The request headers the API reads (lower case, as browsers send them in the preflight).
CORS_ALLOW_HEADERS = (
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-cart-token",
    "x-order-token",
    "x-request-id",
    "x-trace-id",
    "traceparent",
)
# The answer headers a storefront reads: a new guest cart's and order's tokens, the key a
# checkout was stored under and whether it was replayed, the ids to quote in a support ticket,
# and the rate limit's figures.
CORS_EXPOSE_HEADERS = (
    "X-Cart-Token",
    "X-Order-Token",
    "Idempotency-Key",
    "Idempotent-Replayed",
    "X-Request-ID",
    "X-Trace-ID",
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "Location",
)
# How long a browser may reuse a preflight's answer (browsers cap it: Chromium at 2 hours).
CORS_PREFLIGHT_MAX_AGE = env.int("CORS_PREFLIGHT_MAX_AGE", default=3600)
