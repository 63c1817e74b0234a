"""core/devserver.py (run by scripts/dev.sh): everything starts; Ctrl-C leaves nothing behind."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from django.conf import settings

from api.embedded import EmbeddedPostgres, EmbeddedRedis

SERVICE_VARIABLES = (
    "DATABASE_URL",
    "DATABASE_REPLICA_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer 200 within {seconds} s")
        time.sleep(0.25)


@pytest.fixture
def data_dir():
    path = Path(settings.DATA_DIR) / "test" / f"dev-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    for server in (
        EmbeddedPostgres(path / "dev" / "postgres"),
        EmbeddedRedis(path / "dev" / "redis"),
    ):
        server.stop()
    shutil.rmtree(path, ignore_errors=True)


def test_dev_runs_everything_and_ctrl_c_stops_it_all(data_dir):
    port, flower_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update(
        DJANGO_SETTINGS_MODULE="api.settings.dev",
        EMPORIUM_DATA_DIR=str(data_dir),
        PORT=str(port),
        FLOWER_PORT=str(flower_port),
    )
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "core.devserver"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/api/docs", 90)
        ready = wait_for(f"http://127.0.0.1:{port}/api/health/ready", 90).json()
        assert {c["status"] for c in ready["checks"].values()} == {"ok"}
        for asset in (
            "ninja/swagger-ui-bundle.js",
            "ninja/redoc.standalone.js",
            "unfold/css/styles.css",
        ):
            wait_for(f"http://127.0.0.1:{port}/static/{asset}", 5)
        wait_for(f"http://127.0.0.1:{flower_port}/", 90)
        tree = psutil.Process(supervisor.pid).children(recursive=True)
        names = " ".join(" ".join(p.cmdline()) for p in tree)
        assert "runserver_dev" in names and "worker" in names and "beat" in names
        assert EmbeddedPostgres(data_dir / "dev" / "postgres").is_running()
    finally:
        supervisor.send_signal(signal.SIGINT)
        output, _ = supervisor.communicate(timeout=60)
    assert supervisor.returncode == 0, output[-3000:]
    assert "staff@emporium.test" in output
    assert f"http://127.0.0.1:{flower_port}/" in output
    leftovers = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert leftovers == []
    assert not EmbeddedPostgres(data_dir / "dev" / "postgres").is_running()
    assert not EmbeddedRedis(data_dir / "dev" / "redis").is_running()
