"""The server the benchmarks load: gunicorn as shipped (`gunicorn -c deploy/gunicorn.conf.py`),
on the production settings (bench/server_settings.py), behind no proxy.

Only what a deployment sets in its environment differs from production: the address, the worker
count (WEB_CONCURRENCY; 2 on the 2-core machine), the services the benchmark's process started,
and the secrets prod.py requires. Like docker-compose.prod.yml it sets PROMETHEUS_MULTIPROC_DIR,
so every request writes its metrics to files as in production. Requests carry
`X-Forwarded-Proto: https`, as nginx sends it (prod settings redirect plain HTTP).

Every worker boot is counted from gunicorn's log: a worker recycled during a run shows there.

On a shared machine throughput drifts with what else runs; CPU time per request drifts far
less. `process_tree_cpu` reads it from /proc (Linux) for a server, Redis or PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {"X-Forwarded-Proto": "https"}


TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> list[str] | None:
    try:
        # Fields after the command name, which may hold spaces: state is [0], ppid [1].
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def process_tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children: its own, those of the children
    it has waited for (a recycled worker, an ended database backend), and the live ones'."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    ticks = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            child = _stat(int(entry.name))
            if child is not None and child[1] == str(pid):
                ticks += int(child[11]) + int(child[12])
    return ticks / TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(services: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment prod.py needs, pointed at the benchmark's services."""
    return {
        **os.environ,
        **services,
        "DJANGO_SETTINGS_MODULE": "bench.server_settings",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEFAULT_FROM_EMAIL": "Emporium bench <bench@emporium.test>",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class Server:
    """`gunicorn -c deploy/gunicorn.conf.py` in its own process group until stop()."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, workers: int = 2):
        self.name = name
        self.port = free_port()
        self.workers = workers
        self.log_path = log_dir / f"gunicorn-{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
            cwd=ROOT,
            env={
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "WEB_CONCURRENCY": str(workers),
                "PROMETHEUS_MULTIPROC_DIR": str(log_dir / f"prometheus-{name}"),
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn {self.name} exited; see {self.log_path}")
            try:
                self.get("/api/health/live")
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn {self.name} did not answer in {timeout} s")

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(self.base + path, headers=HEADERS)  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            if response.status != 200:
                raise RuntimeError(f"{path}: {response.status}")
            return response.read()

    def get_all(self, paths: list[str]) -> None:
        for path in paths:
            self.get(path)

    def worker_boots(self) -> int:
        """Workers started so far, the first `workers` included (gunicorn logs each boot)."""
        self.log.flush()
        with open(self.log_path, "rb") as log:
            return sum(b"Booting worker with pid" in line for line in log)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
