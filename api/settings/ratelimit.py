"""The rate-limit machinery (api/ratelimit.py) and the API-wide groups of RATE_LIMITS.

RATE_LIMITS is the general limit on every /api/ route, per route group (first path segment after
/api/): "ip" counts anonymous callers per address, "user" signed-in callers per account; None
turns a group's limit off. Each topic declares its own groups (AUTH_RATE_LIMITS,
ORDERS_RATE_LIMITS, ...); base.py merges them with API_RATE_LIMITS, and the RATE_LIMITS variable
of the environment last.
"""

from .env import env

RATE_LIMIT_ENABLED = env.bool("RATE_LIMIT_ENABLED", default=True)
RATE_LIMIT_KEY_PREFIX = env("RATE_LIMIT_KEY_PREFIX", default="emporium:rl")
# How many reverse proxies (nginx, a load balancer) append to X-Forwarded-For in front of the API;
# 0 trusts only the socket's address, so a client cannot pick its own IP.
RATE_LIMIT_TRUSTED_PROXIES = env.int("RATE_LIMIT_TRUSTED_PROXIES", default=0)

# Route groups whose GETs are counted by the view's first cache read, in the same Redis round trip
# (api.ratelimit.PendingLimit): a cached catalog or content answer costs one round trip, not two.
RATE_LIMIT_DEFERRED_GROUPS = frozenset(
    env.list("RATE_LIMIT_DEFERRED_GROUPS", default=["catalog", "cms"])
)

API_RATE_LIMITS: dict[str, dict[str, str] | None] = {
    "default": {"ip": "300/min", "user": "600/min"},  # every group without its own entry
    "health": None,  # probes from load balancers and orchestrators
}
