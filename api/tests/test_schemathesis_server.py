"""Schemathesis against a real server process, as a client calls the API: gunicorn on the test
database, the schemathesis CLI from outside with a staff token and with a customer token, every
phase (examples, coverage, fuzzing, stateful), two checks: no 5xx, and no status the operation
does not declare in /api/openapi.json.

SCHEMATHESIS_MAX_EXAMPLES (default 3 here, about a minute a role; the coverage phase's cases
do not depend on it) is the examples per operation and phase: 40 is the run by hand.
SCHEMATHESIS_REPORT_DIR keeps the CLI's output, its NDJSON event stream and the server's log.
Rate limits are off on this server: one address sends thousands of requests a minute, and a 429
would hide what the request would have done (every limited operation declares 429:
api/tests/test_error_statuses.py). In CI (CI=true) a missing schemathesis CLI fails, never skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from api.auth import tokens_for
from conftest import IN_CI
from testing import servers
from testing.factories import AddressFactory, Catalog, UserFactory, user_cart

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "3"))
REPORT_DIR = os.environ.get("SCHEMATHESIS_REPORT_DIR")
CHECKS = "not_a_server_error,status_code_conformance"
PHASES = "examples,coverage,fuzzing,stateful"
CLI = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def cli() -> Path:
    if not CLI.exists():
        message = f"the schemathesis CLI is not installed next to {sys.executable}"
        if IN_CI:
            pytest.fail(f"{message} (CI=true: it is a dev dependency)", pytrace=False)
        pytest.skip(message)
    return CLI


@pytest.fixture
def shop(transactional_db):
    """What the fuzzer finds ids for: a catalog, a staff user, a customer with an address and a
    cart; each role's access token."""
    catalog = Catalog()
    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    customer = UserFactory(email="customer@example.com")
    AddressFactory(user=customer)
    user_cart(customer, (catalog.runner_blue, 1))
    return {
        "staff": tokens_for(staff)["access"],
        "customer": tokens_for(customer)["access"],
    }


@pytest.fixture
def server(shop, tmp_path, request):
    role = request.node.callspec.params["role"]
    # The production configuration (preloaded, forked workers), on the test database.
    with servers.gunicorn(
        "--config=deploy/gunicorn.conf.py",
        log=Path(REPORT_DIR or tmp_path) / f"gunicorn-{role}.log",
        WEB_CONCURRENCY="2",
        GUNICORN_TIMEOUT="120",
        GUNICORN_LOG_LEVEL="warning",
        RATE_LIMIT_ENABLED="false",
    ) as base:
        yield base


def failures(events: Path) -> Counter[str]:
    """Each failed check as "check: METHOD /path -> status", counted, from the CLI's NDJSON
    event stream (one ScenarioFinished per operation and phase)."""
    found: Counter[str] = Counter()
    for line in events.read_text().splitlines():
        recorder = json.loads(line).get("ScenarioFinished", {}).get("recorder", {})
        for case_id, checks in recorder.get("checks", {}).items():
            case = recorder["cases"][case_id]["value"]
            response = (recorder.get("interactions", {}).get(case_id) or {}).get("response")
            status = response["status_code"] if response else "no response"
            for check in checks:
                if check["status"] == "failure":
                    found[f"{check['name']}: {case['method']} {case['path']} -> {status}"] += 1
    return found


@pytest.mark.parametrize("role", ["staff", "customer"])
@pytest.mark.django_db(transaction=True)
def test_no_server_error_and_no_undocumented_status(role, cli, shop, server, tmp_path):
    report = Path(REPORT_DIR or tmp_path)
    report.mkdir(parents=True, exist_ok=True)
    events = report / f"schemathesis-{role}.ndjson"
    command = [
        str(cli),
        "run",
        f"{server}/api/openapi.json",
        f"--phases={PHASES}",
        f"--checks={CHECKS}",
        f"--max-examples={MAX_EXAMPLES}",
        f"--header=Authorization: Bearer {shop[role]}",
        "--workers=2",
        "--seed=15",
        "--request-timeout=60",
        "--suppress-health-check=all",
        "--continue-on-failure",
        "--generation-database=none",
        "--no-color",
        "--report=ndjson",
        f"--report-ndjson-path={events}",
    ]
    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=1800, check=False
    )
    output = run.stdout[-6000:] + run.stderr[-3000:]
    (report / f"schemathesis-{role}.txt").write_text(run.stdout + run.stderr)
    assert events.exists(), output
    assert failures(events) == Counter(), output
    assert run.returncode == 0, output
