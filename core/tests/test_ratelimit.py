"""Rate limits in Redis: the sliding window, sign-in failures per IP and per email (the API's and
the admin's), register and reset limits, the general per-route-group limit, and one count shared by
two server processes."""

import contextlib
import json
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings
from django.db import connection
from redis.exceptions import ConnectionError as RedisConnectionError

from api import ratelimit
from api.ratelimit import Rate
from testing import servers
from testing.factories import PASSWORD, ProductFactory, UserFactory, bearer


def post(client, path, body, ip="10.0.0.1", **extra):
    return client.post(path, body, content_type="application/json", REMOTE_ADDR=ip, **extra)


def sign_in(client, email, password="wrong-password-1", ip="10.0.0.1"):
    return post(client, "/api/auth/token", {"email": email, "password": password}, ip=ip)


# -- the limiter ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "seconds"),
    [
        ("5/min", 5, 60),
        ("300/m", 300, 60),
        ("10/hour", 10, 3600),
        ("100/30s", 100, 30),
        ("7/day", 7, 86400),
    ],
)
def test_rates_parse(text, limit, seconds):
    assert Rate.parse(text) == Rate(limit, seconds)


@pytest.mark.parametrize("text", ["", "5", "5/fortnight", "0/min", "-1/min", "five/min"])
def test_bad_rates_are_refused(text):
    with pytest.raises(ValueError):
        Rate.parse(text)


def test_the_window_slides_and_says_how_long_to_wait():
    limits = [(ratelimit.key_for("test", "window"), Rate(3, 1))]
    results = [ratelimit.hit(limits) for _ in range(3)]
    assert [r.allowed for r in results] == [True, True, True]
    assert [r.remaining for r in results] == [2, 1, 0]
    refused = ratelimit.hit(limits)
    assert not refused.allowed
    assert refused.retry_after == 1
    time.sleep(1.05)
    assert ratelimit.hit(limits).allowed


def test_a_hit_counts_against_every_key_or_none():
    loose, tight = ratelimit.key_for("test", "loose"), ratelimit.key_for("test", "tight")
    assert ratelimit.hit([(loose, Rate(10, 60)), (tight, Rate(1, 60))]).allowed
    assert not ratelimit.hit([(loose, Rate(10, 60)), (tight, Rate(1, 60))]).allowed
    # the refused hit was not recorded against the loose key
    assert ratelimit.hit([(loose, Rate(10, 60))]).remaining == 8


def test_a_released_hit_gives_its_slot_back():
    limits = [(ratelimit.key_for("test", "release"), Rate(1, 60))]
    ratelimit.hit(limits).release()
    assert ratelimit.hit(limits).allowed
    assert not ratelimit.hit(limits).allowed


# -- sign-in failures -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_five_failures_from_one_ip_then_429_with_retry_after(api_client, user):
    for attempt in range(5):
        assert sign_in(api_client, f"victim{attempt}@example.com").status_code == 401
    blocked = sign_in(api_client, "someone@example.com")
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "rate_limited"
    assert 1 <= int(blocked["Retry-After"]) <= 60
    # even the right password waits: the IP is blocked, whoever it signs in as
    assert sign_in(api_client, user.email, PASSWORD).status_code == 429
    # another address is not
    assert sign_in(api_client, user.email, PASSWORD, ip="10.0.0.2").status_code == 200


@pytest.mark.django_db
def test_five_failures_on_one_email_from_many_ips_then_429(api_client, user):
    for attempt in range(5):
        assert sign_in(api_client, "ADA@example.com", ip=f"10.1.0.{attempt}").status_code == 401
    assert sign_in(api_client, user.email, PASSWORD, ip="10.2.0.1").status_code == 429
    assert sign_in(api_client, "grace@example.com", ip="10.2.0.1").status_code == 401


@pytest.mark.django_db
def test_successful_sign_ins_do_not_count(api_client, user):
    for _ in range(8):
        assert sign_in(api_client, user.email, PASSWORD).status_code == 200
    for _ in range(5):
        assert sign_in(api_client, user.email).status_code == 401
    assert sign_in(api_client, user.email).status_code == 429


@pytest.mark.django_db
def test_ipv6_callers_are_counted_per_64(api_client, user):
    for host in range(5):
        assert (
            sign_in(api_client, f"v{host}@example.com", ip=f"2001:db8::{host}").status_code == 401
        )
    assert sign_in(api_client, "x@example.com", ip="2001:db8::ffff:1").status_code == 429


# -- register and password reset ------------------------------------------------------------------


@pytest.mark.django_db
def test_registration_is_limited_per_ip(api_client, settings):
    settings.RATE_LIMIT_ACTIONS = {**settings.RATE_LIMIT_ACTIONS, "register": {"ip": "2/hour"}}
    for n in range(2):
        body = {"email": f"new{n}@example.com", "password": "Analytical-Engine-1843"}
        assert post(api_client, "/api/auth/register", body).status_code == 201
    body = {"email": "new9@example.com", "password": "Analytical-Engine-1843"}
    refused = post(api_client, "/api/auth/register", body)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 3000


@pytest.mark.django_db
def test_password_reset_is_limited_per_email_whether_it_exists_or_not(api_client, user):
    for email in (user.email, "nobody@example.com"):
        for n in range(3):
            response = post(
                api_client, "/api/auth/password/reset", {"email": email}, ip=f"10.3.{n}.1"
            )
            assert response.status_code == 202
        refused = post(api_client, "/api/auth/password/reset", {"email": email}, ip="10.3.9.1")
        assert refused.status_code == 429


# -- the general limit ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_general_limit_per_ip_and_per_user_by_route_group(api_client, settings, user):
    settings.RATE_LIMITS = {
        "default": {"ip": "3/min", "user": "5/min"},
        "health": None,
    }
    for _ in range(3):
        assert api_client.get("/api/me").status_code == 401
    refused = api_client.get("/api/me")
    assert refused.status_code == 429
    assert refused["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" in refused
    # a signed-in caller has their own budget, whatever the address
    headers = bearer(user)
    statuses = [api_client.get("/api/me", **headers).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    # an unlimited group
    assert api_client.get("/api/health/live").status_code == 200


@pytest.mark.django_db
def test_route_groups_have_separate_budgets(api_client, settings):
    settings.RATE_LIMITS = {"default": {"ip": "2/min"}, "me": {"ip": "1/min"}}
    assert api_client.get("/api/me").status_code == 401
    assert api_client.get("/api/me").status_code == 429
    assert api_client.get("/api/me/addresses").status_code == 429  # same group
    assert api_client.get("/api/no-such-route").status_code == 404  # "no-such-route": default


@pytest.mark.django_db
def test_answers_carry_the_remaining_budget(api_client):
    response = api_client.get("/api/me")
    assert response["X-RateLimit-Limit"] == str(
        Rate.parse(settings.RATE_LIMITS["default"]["ip"]).limit
    )
    assert int(response["X-RateLimit-Remaining"]) == int(response["X-RateLimit-Limit"]) - 1


@pytest.mark.django_db
def test_forwarded_for_is_trusted_only_behind_configured_proxies(api_client, settings):
    settings.RATE_LIMITS = {"default": {"ip": "1/min"}}
    forged = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert api_client.get("/api/me", **forged).status_code == 401
    # without a trusted proxy the header changes nothing: same socket address, same budget
    assert api_client.get("/api/me", HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 429

    settings.RATE_LIMIT_TRUSTED_PROXIES = 1
    behind_nginx = {"HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.20"}
    assert api_client.get("/api/me", **behind_nginx).status_code == 401
    assert api_client.get("/api/me", **behind_nginx).status_code == 429
    assert api_client.get("/api/me", HTTP_X_FORWARDED_FOR="203.0.113.21").status_code == 401


@pytest.mark.django_db
def test_without_redis_general_limits_fail_open_and_auth_limits_fail_closed(
    api_client, monkeypatch, user
):
    def down(*args, **kwargs):
        raise RedisConnectionError("connection refused")

    monkeypatch.setattr(ratelimit, "hit", down)
    assert api_client.get("/api/me", **bearer(user)).status_code == 200
    refused = sign_in(api_client, user.email, PASSWORD)
    assert refused.status_code == 503
    assert refused.json()["code"] == "service_unavailable"


# -- the admin's login ----------------------------------------------------------------------------

STAFF_EMAIL = "boss@example.com"


@pytest.fixture
def staff(db):
    return UserFactory(email=STAFF_EMAIL, is_staff=True)


def admin_sign_in(client, username=STAFF_EMAIL, password="wrong-password-1", ip="10.0.0.1"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password},
        REMOTE_ADDR=ip,
    )


def signed_in_to_admin(client) -> bool:
    return client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_admin_login_sixth_failure_is_429_and_the_password_is_not_even_checked(client, staff):
    for attempt in range(5):
        assert admin_sign_in(client, f"guess{attempt}@example.com").status_code == 200
    blocked = admin_sign_in(client)
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert blocked["Content-Type"].startswith("text/html")
    assert b"Too many failed sign-ins" in blocked.content
    assert b'name="password"' in blocked.content  # the form again, to retry later
    # the right password waits too, and signs nobody in
    assert admin_sign_in(client, password=PASSWORD).status_code == 429
    assert not signed_in_to_admin(client)
    staff.refresh_from_db()
    assert staff.last_login is None
    # another address is not limited
    assert admin_sign_in(client, password=PASSWORD, ip="10.0.0.2").status_code == 302
    assert signed_in_to_admin(client)


@pytest.mark.django_db
def test_admin_login_failures_on_one_email_from_many_ips_then_429(client, staff):
    for attempt in range(5):
        assert admin_sign_in(client, "BOSS@example.com", ip=f"10.1.0.{attempt}").status_code == 200
    assert admin_sign_in(client, password=PASSWORD, ip="10.2.0.1").status_code == 429
    assert admin_sign_in(client, "other@example.com", ip="10.2.0.1").status_code == 200


@pytest.mark.django_db
def test_successful_admin_logins_do_not_count(client, staff):
    for _ in range(8):
        assert admin_sign_in(client, password=PASSWORD).status_code == 302
        client.logout()
    for _ in range(5):
        assert admin_sign_in(client).status_code == 200
    assert admin_sign_in(client).status_code == 429


@pytest.mark.django_db
def test_the_admin_and_the_api_share_the_failure_counts(client, api_client, staff):
    for _ in range(3):
        assert sign_in(api_client, STAFF_EMAIL).status_code == 401
    for _ in range(2):
        assert admin_sign_in(client).status_code == 200
    assert admin_sign_in(client, password=PASSWORD).status_code == 429
    assert sign_in(api_client, STAFF_EMAIL, PASSWORD).status_code == 429


@pytest.mark.django_db
def test_without_redis_the_admin_login_is_refused_too(client, monkeypatch, staff):
    def down(*args, **kwargs):
        raise RedisConnectionError("connection refused")

    monkeypatch.setattr(ratelimit, "hit", down)
    refused = admin_sign_in(client, password=PASSWORD)
    assert refused.status_code == 503
    assert refused["Content-Type"].startswith("text/html")
    assert not signed_in_to_admin(client)


# -- two server processes -------------------------------------------------------------------------


def _request(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - http only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local server
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


@pytest.fixture
def two_servers(tmp_path):
    """Two gunicorn processes on the test database and the same Redis."""
    limits = json.dumps({"me": {"ip": "4/min", "user": "4/min"}})
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(
                servers.gunicorn(
                    "--workers=1",
                    "--log-level=warning",
                    log=tmp_path / f"server-{name}.log",
                    RATE_LIMITS=limits,
                )
            )
            for name in ("a", "b")
        ]


@pytest.mark.django_db(transaction=True)
def test_rate_limits_hold_across_two_server_processes(two_servers):
    a, b = two_servers
    user = UserFactory(email="shared@example.com")
    wrong = {"email": user.email, "password": "wrong-password-1"}
    statuses = [_request(f"{server}/api/auth/token", wrong)[0] for server in (a, b, a, b, a)]
    assert statuses == [401] * 5
    for server in (b, a):
        status, headers = _request(f"{server}/api/auth/token", wrong)
        assert status == 429
        assert 1 <= int(headers["Retry-After"]) <= 60
    right = {"email": user.email, "password": PASSWORD}
    assert _request(f"{b}/api/auth/token", right)[0] == 429

    # the general limit of a route group ("me": 4 a minute per IP in the servers' environment)
    assert [_request(f"{server}/api/me")[0] for server in (a, b, a, b)] == [401] * 4
    assert _request(f"{b}/api/me")[0] == 429
    assert _request(f"{a}/api/me")[0] == 429


# -- deferred reads: the limit counted with the cached answer ------------------------------------


@pytest.fixture
def shoe(db):
    return ProductFactory(name="Deferred Runner", slug="deferred-runner")


class RedisCalls:
    """Counts the commands the default cache's Redis client sends (one per round trip here)."""

    def __init__(self, monkeypatch):
        from redis.client import Redis

        self.commands: list[str] = []
        original = Redis.execute_command

        def counted(client, *args, **options):
            self.commands.append(str(args[0]))
            return original(client, *args, **options)

        monkeypatch.setattr(Redis, "execute_command", counted)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/catalog/products/deferred-runner", "/api/catalog/products?page_size=5"]
)
def test_a_cached_catalog_answer_counts_its_limit_in_the_same_round_trip(
    api_client, settings, shoe, monkeypatch, path
):
    settings.RATE_LIMITS = {"default": {"ip": "3/min"}}
    first = api_client.get(path)  # builds and stores the answer
    assert first.status_code == 200 and first["X-RateLimit-Remaining"] == "2"
    calls = RedisCalls(monkeypatch)
    with django_assert_queries(0):
        cached = api_client.get(path)
    assert cached.status_code == 200 and cached.content == first.content
    assert cached["X-RateLimit-Limit"] == "3" and cached["X-RateLimit-Remaining"] == "1"
    assert calls.commands == ["EVALSHA"]  # the limit and the cached bytes together
    assert api_client.get(path).status_code == 200
    calls.commands.clear()
    refused = api_client.get(path)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1 and refused["X-RateLimit-Remaining"] == "0"
    assert b"Deferred Runner" not in refused.content
    assert calls.commands == ["EVALSHA"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/catalog/products/deferred-runner",
        "/api/catalog/products?page_size=5",
        "/api/catalog/products/deferred-runner/reviews",
    ],
)
def test_without_the_cache_a_deferred_limit_is_counted_before_any_query(
    api_client, settings, shoe, path
):
    settings.RATE_LIMITS = {"default": {"ip": "2/min"}}
    settings.CATALOG_CACHE_ENABLED = False
    assert [api_client.get(path).status_code for _ in range(2)] == [200, 200]
    with django_assert_queries(0):
        refused = api_client.get(path)
    assert refused.status_code == 429 and refused["X-RateLimit-Remaining"] == "0"


@pytest.mark.django_db
def test_a_deferred_read_that_never_counted_is_counted_on_the_way_out(
    api_client, settings, shoe, monkeypatch
):
    """A catalog read whose view reads no cache (a future route that forgets
    api.cache.deferred_limit_settle) is still limited: the middleware counts it after the view."""
    from products.controllers import public

    settings.RATE_LIMITS = {"default": {"ip": "1/min"}}
    monkeypatch.setattr(public.cache, "deferred_limit_settle", lambda: None)
    path = "/api/catalog/products/deferred-runner/reviews"
    assert api_client.get(path).status_code == 200
    refused = api_client.get(path)
    assert refused.status_code == 429 and refused["X-RateLimit-Remaining"] == "0"


@pytest.mark.django_db
def test_writes_and_other_groups_are_counted_before_the_view(api_client, settings, user):
    settings.RATE_LIMITS = {"default": {"ip": "1/min"}}
    assert api_client.get("/api/me").status_code == 401
    with django_assert_queries(0):
        assert api_client.get("/api/me").status_code == 429
    assert not ratelimit._deferred(
        type("R", (), {"method": "POST", "path_info": "/api/catalog/products"})()
    )


class django_assert_queries:
    """At most `n` SQL queries in the block."""

    def __init__(self, n: int) -> None:
        from django.test.utils import CaptureQueriesContext

        self.n = n
        self.captured = CaptureQueriesContext(connection)

    def __enter__(self):
        self.captured.__enter__()
        return self.captured

    def __exit__(self, *exc):
        self.captured.__exit__(*exc)
        if exc[0] is None:
            queries = [q["sql"] for q in self.captured.captured_queries]
            assert len(queries) <= self.n, queries
