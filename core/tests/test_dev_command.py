"""core/devserver.py (run by scripts/dev.sh): everything starts; Ctrl-C leaves nothing behind.

Each run gets a data dir of its own, so each is a first start: a new cluster, every migration
applied while the API already answers.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psutil
import pytest
from django.conf import settings

from api.embedded import EmbeddedPostgres, EmbeddedRedis
from testing import browser
from testing.servers import free_port, wait_until_ok

SERVICE_VARIABLES = (
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
)
# What a client does during a first start: read the catalog, register, read the docs, sign in.
PROBES = (
    ("GET", "/api/catalog/products", None),
    ("POST", "/api/auth/register", "register"),
    ("GET", "/api/docs", None),
    ("GET", "/admin/login/", None),
    ("GET", "/api/health/ready", None),
)


class DevRun:
    """One `python -m core.devserver` in its own data dir, its output in a file."""

    def __init__(self, root: Path, *args: str, **env: str) -> None:
        self.data_dir = root
        self.port = free_port()
        self.log = root / "devserver.log"
        child_env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
        child_env.update(
            DJANGO_SETTINGS_MODULE="api.settings.dev",
            EMPORIUM_DATA_DIR=str(root),
            PORT=str(self.port),
            WORKER_CONCURRENCY="1",
            **env,
        )
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "core.devserver", *args],
                cwd=settings.BASE_DIR,
                env=child_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{self.port}"
        self.tree: list[psutil.Process] = []

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_banner(self, seconds: float = 120) -> str:
        deadline = time.monotonic() + seconds
        while "Press Ctrl-C" not in self.output():
            assert self.process.poll() is None, self.output()[-3000:]
            assert time.monotonic() < deadline, self.output()[-3000:]
            time.sleep(0.2)
        return self.output()

    def flower_url(self) -> str:
        return re.search(r"Flower\s+(http://\S+)", self.wait_for_banner()).group(1)

    def stop(self) -> int:
        """Ctrl-C, as a developer stops it; the exit status."""
        self.tree = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def leftovers(self) -> list[psutil.Process]:
        return [p for p in self.tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]

    def embedded_running(self) -> list[str]:
        servers = {
            "postgres": EmbeddedPostgres(self.data_dir / "dev" / "postgres"),
            "redis": EmbeddedRedis(self.data_dir / "dev" / "redis"),
        }
        return [name for name, server in servers.items() if server.is_running()]

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for server in (
            EmbeddedPostgres(self.data_dir / "dev" / "postgres"),
            EmbeddedRedis(self.data_dir / "dev" / "redis"),
        ):
            server.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture
def new_data_dir():
    made = []

    def make() -> Path:
        path = Path(settings.DATA_DIR) / "test" / f"dev-{uuid.uuid4().hex[:8]}"
        path.mkdir(parents=True)
        made.append(path)
        return path

    yield make
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def probe_until_ready(base: str, seconds: float) -> list[tuple[str, int, str]]:
    """Call PROBES in a loop from the server's first answer until it is ready; every answer as
    (path, status, error code)."""
    answers: list[tuple[str, int, str]] = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=10) as http:
        while time.monotonic() < deadline:
            for method, path, body in PROBES:
                json = None
                if body == "register":
                    json = {
                        "email": f"{uuid.uuid4().hex[:10]}@example.com",
                        "password": "Xy-9f3!kq2-Lm",
                    }
                try:
                    response = http.request(method, path, json=json)
                except httpx.TransportError:
                    time.sleep(0.05)  # not listening yet
                    continue
                code = ""
                if response.headers.get("Content-Type", "").startswith("application/json"):
                    code = response.json().get("code", "") if response.status_code >= 400 else ""
                answers.append((path, response.status_code, code))
                if path == "/api/health/ready" and response.status_code == 200:
                    return answers
        raise AssertionError(f"not ready within {seconds} s: {Counter(answers)}")


def test_a_first_start_answers_503_starting_until_migrated_and_ctrl_c_stops_it_all(
    new_data_dir,
):
    dev = DevRun(new_data_dir(), FLOWER_PORT=str(free_port()))
    try:
        answers = probe_until_ready(dev.base, 120)
        server_errors = Counter(
            (path, status, code) for path, status, code in answers if status >= 500
        )
        # The only 5xx a client meets while the database is migrated: 503 `starting` (the
        # readiness probe: 503 naming the pending migrations), never a 500.
        assert {status for _, status, _ in server_errors} <= {503}, server_errors
        api_codes = {
            code
            for path, _, code in server_errors
            if path.startswith("/api/") and path != "/api/health/ready"
        }
        assert api_codes <= {"starting"}, server_errors  # the admin's is a page that reloads
        ready = wait_until_ok(f"{dev.base}/api/health/ready", 90).json()
        assert {c["status"] for c in ready["checks"].values()} == {"ok"}
        for asset in (
            "ninja/swagger-ui-bundle.js",
            "ninja/redoc.standalone.js",
            "unfold/css/styles.css",
        ):
            wait_until_ok(f"{dev.base}/static/{asset}", 5)
        flower = dev.flower_url()
        wait_until_ok(flower, 90)
        names = " ".join(
            " ".join(p.cmdline()) for p in psutil.Process(dev.process.pid).children(recursive=True)
        )
        assert "runserver_dev" in names and "worker" in names and "beat" in names
        assert dev.embedded_running() == ["postgres", "redis"]
        assert dev.stop() == 0, dev.output()[-3000:]
        assert "staff@emporium.test" in dev.output()
        assert dev.leftovers() == []
        assert dev.embedded_running() == []
    finally:
        dev.cleanup()
    print(f"first start answers: {Counter((p, s, c) for p, s, c in answers)}")


def test_two_dev_servers_at_once_both_come_up_and_flower_moves_aside(new_data_dir):
    # Both ask for the same Flower port, as two clones with the default 5555 would; the second
    # starts while the first runs.
    wanted = free_port()
    first = DevRun(new_data_dir(), "--no-seed", FLOWER_PORT=str(wanted))
    second = None
    try:
        wait_until_ok(first.flower_url(), 90)
        second = DevRun(new_data_dir(), "--no-seed", FLOWER_PORT=str(wanted))
        flowers = {first.flower_url(), second.flower_url()}
        assert len(flowers) == 2, flowers
        assert f"http://127.0.0.1:{wanted}/" in flowers
        assert "is taken" in first.output() + second.output()
        for dev in (first, second):
            wait_until_ok(f"{dev.base}/api/health/ready", 90)
            assert dev.process.poll() is None
        for url in flowers:
            wait_until_ok(url, 90)
        _flower_pages_render(sorted(flowers))
        for dev in (first, second):
            assert dev.stop() == 0, dev.output()[-3000:]
            assert dev.leftovers() == []
            assert dev.embedded_running() == []
    finally:
        for dev in (first, second):
            if dev:
                dev.cleanup()


def _flower_pages_render(urls: list[str]) -> None:
    """Each Flower URL that dev.sh printed, as an operator opens it: the dashboard with its
    worker, no console error."""
    browser.require_browser()
    driver = browser.new_driver()
    try:
        for url in urls:
            driver.get(url)
            deadline = time.monotonic() + 60
            while "dev-worker@" not in driver.page_source:
                assert time.monotonic() < deadline, driver.page_source[:2000]
                time.sleep(1)
                driver.refresh()
            assert "Flower" in driver.title
            assert browser.console_errors(driver) == []
    finally:
        driver.quit()


def test_a_busy_flower_port_is_replaced_by_a_free_one():
    from core.devserver import port_or_free_one

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert port_or_free_one("127.0.0.1", busy) != busy
    free = free_port()
    assert port_or_free_one("127.0.0.1", free) == free
