"""Real Celery worker processes on the test database and a broker (the test Redis unless given),
for tests that need one: `python -m celery -A api worker`, with the tasks of
api/tests/worker_tasks.py included, logging JSON lines to a file the tests read.

    worker = Worker(log_dir, pool="prefork", concurrency=2)
    try:
        worker.wait_ready()
        ...
    finally:
        worker.stop()
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connection

from testing import servers

# The worker heartbeat stays on: it wakes the event loop, which sends acks and rejects queued
# by timers (a retried task's final reject waited ~10 s without it on RabbitMQ + solo).
WORKER_FLAGS = ("--without-gossip", "--without-mingle")


def wait_for(predicate: Callable[[], object], seconds: float, what: str):
    """The predicate's first true value, asked every 50 ms; AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.05)


class Worker:
    """One `celery worker` process group, logging JSON lines to a file."""

    def __init__(
        self,
        log_dir: Path,
        *,
        broker_url: str | None = None,
        pool: str = "solo",
        concurrency: int = 1,
    ) -> None:
        self.name = f"test-{uuid.uuid4().hex[:8]}"
        self.log_path = log_dir / f"{self.name}.log"
        name = connection.settings_dict["NAME"]
        assert name.startswith("test_"), "start workers after django_db_setup"
        env = servers.test_database_env(LOG_LEVEL=os.environ.get("WORKER_LOG_LEVEL", "INFO"))
        if broker_url:
            env["CELERY_BROKER_URL"] = broker_url
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "api",
            "worker",
            "-P",
            pool,
            f"--concurrency={concurrency}",
            f"--hostname={self.name}@%h",
            "--include=api.tests.worker_tasks",
            "--loglevel=INFO",
            *WORKER_FLAGS,
        ]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and commands
                command,
                cwd=settings.BASE_DIR,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def lines(self) -> list[dict]:
        parsed = []
        for raw in self.log_path.read_text(errors="replace").splitlines():
            try:
                parsed.append(json.loads(raw))
            except ValueError:
                continue  # a banner line or a plain traceback
        return parsed

    def wait_ready(self, seconds: float = 30) -> None:
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited:\n{self.log_path.read_text()[-3000:]}")
            return any(line.get("message", "").endswith(" ready.") for line in self.lines())

        wait_for(ready, seconds, f"worker {self.name} to be ready")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): nothing gets to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # Pool children of a killed main process must not outlive the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
