"""Rate limits kept in Redis, so every API process and server shares one count
(docs/architecture.md §6).

Each limit is a sliding window log: a sorted set of hit timestamps per key, trimmed, counted and
appended by one Lua script on Redis' own clock, so "5 per minute" means at most 5 in any 60 s,
across processes and hosts, and Retry-After is the exact wait until the oldest hit leaves.

Two layers, both configured in settings: RATE_LIMITS composed in api/settings/base.py from each
topic's *_RATE_LIMITS (the machinery's own settings in api/settings/ratelimit.py), and
RATE_LIMIT_ACTIONS in api/settings/auth.py:

- RATE_LIMITS, the general limit on every /api/ route, per route group (the first path segment
  after /api/: "auth", "me", "cart", ...), per IP for anonymous callers and per user for signed-in
  ones; applied by RateLimitMiddleware so no controller repeats it. For GETs of the groups in
  RATE_LIMIT_DEFERRED_GROUPS (the catalog) it is counted in the view's cache read instead, in the
  same round trip (PendingLimit).
- RATE_LIMIT_ACTIONS, stricter limits that a service enforces for one action, over several
  identities at once: `ratelimit.enforce("password_reset", ip=ip, email=email)` raises
  api.errors.RateLimited (429 with Retry-After) when any of them is exhausted.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import logging
import math
import re
import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_redis import get_redis_connection
from redis.exceptions import RedisError

from api.errors import RateLimited, RateLimitUnavailable, exception_response

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

# KEYS: one sorted set per limit, then any keys to read once the hit is allowed. ARGV: member,
# the number of limit keys, then (limit, window_ms) per limit key. Returns {allowed (0/1),
# retry_after_ms, remaining, values of the read keys...}. Nothing is recorded, and nothing read,
# unless every limit allows.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = tonumber(ARGV[2])
local wait = 0
local remaining = -1
for i = 1, n do
  local key = KEYS[i]
  local limit = tonumber(ARGV[2 * i + 1])
  local window = tonumber(ARGV[2 * i + 2])
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
for i = 1, n do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i + 2]))
end
local answer = {1, 0, remaining}
if #KEYS > n then
  local values = redis.call('MGET', unpack(KEYS, n + 1))
  for i = 1, #KEYS - n do answer[3 + i] = values[i] end
end
return answer
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
    return hit_and_read(limits)[0]


def hit_and_read(
    limits: Sequence[tuple[str, Rate]], read: Sequence[str] = (), *, client: Any = None
) -> tuple[Hit, list[Any]]:
    """hit(), and when allowed the raw values of the Redis keys `read`, in the same round trip
    (a cached answer and its limit cost one, not two: see PendingLimit)."""
    if not limits and not read:
        return Hit(allowed=True), []
    client = client or _redis()
    result = Hit(allowed=True, keys=tuple(key for key, _ in limits))
    args: list[object] = [result.member, len(limits)]
    for _, rate in limits:
        args += [rate.limit, rate.seconds * 1000]
    allowed, wait_ms, remaining, *values = _script(client)(
        keys=[*result.keys, *read], args=args, client=client
    )
    result.allowed = bool(allowed)
    result.retry_after = math.ceil(int(wait_ms) / 1000)
    result.remaining = max(0, int(remaining)) if limits else None
    result.limit = min((rate.limit for _, rate in limits), default=None)
    if not result.allowed:
        result.keys = ()
        return result, []
    return result, values + [None] * (len(read) - len(values))


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
        raise RateLimitUnavailable() from None
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


def client_address(request: HttpRequest) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The caller's address; behind N trusted proxies, the Nth X-Forwarded-For entry from the end.
    None when it is not an address."""
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
    return _parsed_address(address)


@functools.lru_cache(maxsize=4096)
def _parsed_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The caller's address as a rate-limit key part (client_address).

    IPv6 callers are counted per /64, since one host usually holds a whole /64.
    """
    ip = client_address(request)
    return "unknown" if ip is None else _key_part(ip)


@functools.lru_cache(maxsize=4096)
def _key_part(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # Every limited request asks; the same few thousand callers ask again and again.
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def bearer_user_id(request: HttpRequest) -> int | str | None:
    """The user id of a valid access token, checked without a query (signature and expiry)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")  # request.headers is built on first use
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


@dataclass
class PendingLimit:
    """The general limit of a read the middleware left for the view's first Redis call to count
    (RATE_LIMIT_DEFERRED_GROUPS): a cached catalog answer then costs one round trip, the limit
    and the cached bytes together (api.cache.cached_bytes), instead of two."""

    limits: list[tuple[str, Rate]]
    result: Hit | None = None
    taken: bool = False


_pending: ContextVar[PendingLimit | None] = ContextVar("rate_limit_pending", default=None)


def take_pending() -> PendingLimit | None:
    """The current request's uncounted general limit, for the caller to count now (once)."""
    pending = _pending.get()
    if pending is None or pending.taken:
        return None
    pending.taken = True
    return pending


def settle_pending() -> None:
    """Count the current request's deferred limit now, before work that does not read the cache
    first; 429 when it is exhausted. Nothing to do when there is none, or it was counted."""
    pending = take_pending()
    if pending is not None:
        count_pending(pending)


def count_pending(pending: PendingLimit) -> None:
    """Count a taken PendingLimit on its own round trip; RateLimited when it is exhausted.
    Fails open, as the middleware does."""
    try:
        pending.result = hit(pending.limits)
    except RedisError:
        logger.warning("rate limit store unavailable; request let through", exc_info=True)
        return
    if not pending.result.allowed:
        raise RateLimited(pending.result.retry_after)


def _deferred(request: HttpRequest) -> bool:
    return request.method in ("GET", "HEAD") and (
        route_group(request.path_info) in settings.RATE_LIMIT_DEFERRED_GROUPS
    )


class RateLimitMiddleware:
    """The general per-IP / per-user limit on every /api/ route, by route group.

    Fails open: when Redis is unreachable the request goes through and the failure is logged,
    so a cache outage does not take the whole API down. For reads of the deferred groups the
    count happens in the view's first cache read (PendingLimit); a view that never counted it is
    counted on the way out, and answers 429 if it was exhausted.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not settings.RATE_LIMIT_ENABLED or not request.path_info.startswith("/api/"):
            return self.get_response(request)
        if _deferred(request):
            return self._deferred_call(request)
        result = None
        try:
            limits = general_limits(request)
            if limits:
                result = hit(limits)
        except RedisError:
            logger.warning("rate limit store unavailable; request let through", exc_info=True)
        if result is not None and not result.allowed:
            return _refused(request, result)
        response = self.get_response(request)
        _count_headers(response, result)
        return response

    def _deferred_call(self, request: HttpRequest) -> HttpResponse:
        limits = general_limits(request)
        if not limits:
            return self.get_response(request)
        pending = PendingLimit(limits)
        token = _pending.set(pending)
        try:
            response = self.get_response(request)
        finally:
            _pending.reset(token)
        if not pending.taken:  # the view read no cache: count it now
            pending.taken = True
            try:
                count_pending(pending)
            except RateLimited:
                return _refused(request, pending.result)
        _count_headers(response, pending.result)
        return response


def _refused(request: HttpRequest, result: Hit) -> HttpResponse:
    response = exception_response(request, RateLimited(result.retry_after))
    response["X-RateLimit-Limit"] = str(result.limit)
    response["X-RateLimit-Remaining"] = "0"
    return response


def _count_headers(response: HttpResponse, result: Hit | None) -> None:
    if result is not None:
        response["X-RateLimit-Limit"] = str(result.limit)
        response["X-RateLimit-Remaining"] = str(result.remaining if result.allowed else 0)
