"""The client's address through the production chain: balancer -> nginx (the shipped site) ->
gunicorn with RATE_LIMIT_TRUSTED_PROXIES=1, as docker-compose.prod.yml runs it.

The balancer in front appends the client's address to X-Forwarded-For; the test plays the
balancer (its requests come from 127.0.0.1, a trusted address in the site). Without real_ip in
nginx, every client counts as the balancer and one client's limit locks out everybody.
"""

import json

import httpx
import pytest

from conftest import IN_CI
from testing import servers


@pytest.fixture
def chain(tmp_path):
    if servers.NGINX is None:
        message = "nginx is not installed (Debian: nginx-light)"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: .ci/run installs it)", pytrace=False)
        pytest.skip(message)
    with (
        servers.gunicorn(
            "--workers=1",
            "--log-level=warning",
            log=tmp_path / "gunicorn.log",
            RATE_LIMIT_TRUSTED_PROXIES="1",
            RATE_LIMITS=json.dumps({"me": {"ip": "3/min"}}),
        ) as api,
        servers.nginx(api, workdir=tmp_path / "nginx") as front,
    ):
        yield front


def _statuses(base: str, forwarded_for: str, times: int) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"}
    return [httpx.get(f"{base}/api/me", headers=headers).status_code for _ in range(times)]


@pytest.mark.django_db(transaction=True)
def test_each_client_behind_the_balancer_has_its_own_limit(chain):
    # the balancer appends the client's address; "me" allows 3 anonymous calls a minute per IP
    assert _statuses(chain, "198.51.100.1", 3) == [401, 401, 401]
    assert _statuses(chain, "198.51.100.1", 1) == [429]
    # another client behind the same balancer is not locked out by the first
    assert _statuses(chain, "198.51.100.2", 3) == [401, 401, 401]


@pytest.mark.django_db(transaction=True)
def test_a_client_cannot_choose_its_address(chain):
    assert _statuses(chain, "198.51.100.7", 3) == [401, 401, 401]
    # the client sent its own X-Forwarded-For, the balancer appended the real address: nginx
    # walks from the right and stops at the first untrusted address, the real one
    for spoofed in ("203.0.113.66", "10.0.0.5", "203.0.113.67, 10.1.2.3"):
        assert _statuses(chain, f"{spoofed}, 198.51.100.7", 1) == [429], spoofed
