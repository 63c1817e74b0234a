"""Rate limits kept in Redis, so every API process and server shares one count (DESIGN.md §6).

Each limit is a sliding window log: a sorted set of hit timestamps per key, trimmed, counted and
appended by one Lua script on Redis' own clock, so "5 per minute" means at most 5 in any 60 s,
across processes and hosts, and Retry-After is the exact wait until the oldest hit leaves.

Two layers, both configured in settings (api/settings/auth.py):

- RATE_LIMITS, the general limit on every /api/ route, per route group (the first path segment
  after /api/: "auth", "me", "cart", ...), per IP for anonymous callers and per user for signed-in
  ones; applied by RateLimitMiddleware so no controller repeats it.
- RATE_LIMIT_ACTIONS, stricter limits that a service enforces for one action, over several
  identities at once: `ratelimit.enforce("password_reset", ip=ip, email=email)` raises
  api.errors.RateLimited (429 with Retry-After) when any of them is exhausted.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from api.errors import ApiError, RateLimited, exception_response

logger = logging.getLogger("api.ratelimit")

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")
_UNITS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}

# KEYS: one sorted set per limit. ARGV: member, then (limit, window_ms) per key.
# Returns {allowed (0/1), retry_after_ms, remaining}. Nothing is recorded unless every key allows.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
local remaining = -1
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local freeing = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local key_wait = tonumber(freeing[2]) + window - now
    if key_wait > wait then wait = key_wait end
  else
    local left = limit - count - 1
    if remaining < 0 or left < remaining then remaining = left end
  end
end
if wait > 0 then return {0, wait, 0} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return {1, 0, remaining}
"""


@dataclass(frozen=True)
class Rate:
    limit: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """'5/min', '300/m', '10/hour', '100/30s', '1000/day'."""
        match = _RATE.match(text.lower())
        if not match or match.group(3) not in _UNITS:
            raise ValueError(f"not a rate: {text!r} (expected e.g. '5/min' or '100/30s')")
        count, multiple, unit = match.groups()
        seconds = int(multiple or 1) * _UNITS[unit]
        if int(count) < 1 or seconds < 1:
            raise ValueError(f"not a rate: {text!r}")
        return cls(int(count), seconds)

    def __str__(self) -> str:
        return f"{self.limit}/{self.seconds}s"


@dataclass
class Hit:
    """The outcome of counting one request against one or more limits."""

    allowed: bool
    retry_after: int = 0
    remaining: int | None = None
    limit: int | None = None
    keys: tuple[str, ...] = ()
    member: str = field(default_factory=lambda: uuid.uuid4().hex)

    def release(self) -> None:
        """Take this hit back (a login attempt that turned out to be right)."""
        if self.allowed and self.keys:
            try:
                pipe = _redis().pipeline(transaction=False)
                for key in self.keys:
                    pipe.zrem(key, self.member)
                pipe.execute()
            except RedisError:
                logger.warning("rate limit release failed", exc_info=True)


def _redis() -> Any:
    return get_redis_connection("default")


_scripts: dict[int, Any] = {}


def _script(client: Any) -> Any:
    # register_script keeps the SHA and falls back to EVAL when Redis lost its script cache.
    key = id(client)
    if key not in _scripts:
        _scripts[key] = client.register_script(_SCRIPT)
    return _scripts[key]


def key_for(*parts: object) -> str:
    return ":".join([settings.RATE_LIMIT_KEY_PREFIX, *(str(p) for p in parts)])


def hit(limits: Sequence[tuple[str, Rate]]) -> Hit:
    """Count one hit against every (key, rate) pair, or against none if any is exhausted."""
    if not limits:
        return Hit(allowed=True)
    client = _redis()
    result = Hit(allowed=True, keys=tuple(key for key, _ in limits))
    args: list[object] = [result.member]
    for _, rate in limits:
        args += [rate.limit, rate.seconds * 1000]
    allowed, wait_ms, remaining = _script(client)(keys=list(result.keys), args=args, client=client)
    result.allowed = bool(allowed)
    result.retry_after = math.ceil(int(wait_ms) / 1000)
    result.remaining = max(0, int(remaining))
    result.limit = min(rate.limit for _, rate in limits)
    if not result.allowed:
        result.keys = ()
    return result


def identity(dimension: str, value: object) -> str:
    """The key part for one identity; emails are hashed so Redis never holds them."""
    text = str(value).strip().lower()
    if dimension == "email":
        return hashlib.sha256(text.encode()).hexdigest()[:32]
    return text


def action_limits(action: str, identities: dict[str, object]) -> list[tuple[str, Rate]]:
    config = settings.RATE_LIMIT_ACTIONS.get(action) or {}
    limits = []
    for dimension, value in identities.items():
        rate = config.get(dimension)
        if rate and value not in (None, ""):
            limits.append(
                (key_for("a", action, dimension, identity(dimension, value)), _rate(rate))
            )
    return limits


def enforce(action: str, **identities: object) -> Hit:
    """Count one `action` for each identity (ip=, email=, user=); 429 when any is exhausted.

    Fails closed: without Redis the action is refused (503) rather than left unlimited.
    """
    if not settings.RATE_LIMIT_ENABLED:
        return Hit(allowed=True)
    try:
        result = hit(action_limits(action, identities))
    except RedisError:
        logger.error("rate limit store unavailable", exc_info=True, extra={"action": action})
        raise ApiError(
            "Please try again in a moment.", code="service_unavailable", status=503
        ) from None
    if not result.allowed:
        raise RateLimited(
            result.retry_after,
            message="Too many attempts; retry later.",
            details={"retry_after": result.retry_after, "action": action},
        )
    return result


def reset() -> int:
    """Forget every count (tests; an operator after a false alarm). Returns the keys removed."""
    client = _redis()
    removed = 0
    for key in client.scan_iter(match=f"{settings.RATE_LIMIT_KEY_PREFIX}:*", count=500):
        removed += client.delete(key)
    return removed


_parsed: dict[str, Rate] = {}


def _rate(text: str) -> Rate:
    if text not in _parsed:
        _parsed[text] = Rate.parse(text)
    return _parsed[text]


# -- who is calling --------------------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """The caller's address; behind N trusted proxies, the Nth X-Forwarded-For entry from the end.

    IPv6 callers are counted per /64, since one host usually holds a whole /64.
    """
    address = request.META.get("REMOTE_ADDR", "")
    proxies = settings.RATE_LIMIT_TRUSTED_PROXIES
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            address = forwarded[-proxies]
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def bearer_user_id(request: HttpRequest) -> int | str | None:
    """The user id of a valid access token, checked without a query (signature and expiry)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    from ninja_jwt.exceptions import TokenError
    from ninja_jwt.settings import api_settings
    from ninja_jwt.tokens import AccessToken

    try:
        return AccessToken(token.strip()).get(api_settings.USER_ID_CLAIM)
    except (TokenError, ValueError, TypeError):
        return None


def route_group(path: str) -> str:
    """'/api/auth/token' -> 'auth'; the group names a RATE_LIMITS entry."""
    rest = path.removeprefix("/api/")
    return rest.split("/", 1)[0] or "default"


def general_limits(request: HttpRequest) -> list[tuple[str, Rate]]:
    group = route_group(request.path_info)
    config = settings.RATE_LIMITS.get(group, settings.RATE_LIMITS.get("default"))
    if not config:
        return []
    user_id = bearer_user_id(request)
    if user_id is not None and config.get("user"):
        return [(key_for("g", group, "user", user_id), _rate(config["user"]))]
    if config.get("ip"):
        return [(key_for("g", group, "ip", client_ip(request)), _rate(config["ip"]))]
    return []


class RateLimitMiddleware:
    """The general per-IP / per-user limit on every /api/ route, by route group.

    Fails open: when Redis is unreachable the request goes through and the failure is logged,
    so a cache outage does not take the whole API down.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.RATE_LIMIT_ENABLED or not request.path_info.startswith("/api/"):
            return self.get_response(request)
        result = None
        try:
            limits = general_limits(request)
            if limits:
                result = hit(limits)
        except RedisError:
            logger.warning("rate limit store unavailable; request let through", exc_info=True)
        if result is not None and not result.allowed:
            response = exception_response(request, RateLimited(result.retry_after))
            response["X-RateLimit-Limit"] = str(result.limit)
            response["X-RateLimit-Remaining"] = "0"
            return response
        response = self.get_response(request)
        if result is not None:
            response["X-RateLimit-Limit"] = str(result.limit)
            response["X-RateLimit-Remaining"] = str(result.remaining)
        return response
