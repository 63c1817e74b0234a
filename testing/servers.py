"""Real server processes on the test database, for tests that must talk HTTP to a process.

    with servers.runserver(log=tmp_path / "server.log") as base:   # the dev server, static, media
        httpx.get(f"{base}/api/health/live")
    with servers.gunicorn("--workers=2", log=tmp_path / "gunicorn.log") as base:
        httpx.get(f"{base}/api/health/live")

The child gets the test session's services (the test database by its test name, the test Redis)
through the environment, as core/devserver.py hands them to its children.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import connection


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_env(**extra: str) -> dict[str, str]:
    """This process's environment, pointed at the test database and the test Redis."""
    url = urlsplit(settings.SERVICES.database_url)
    return {
        **os.environ,
        **settings.SERVICES.environ(),
        "DATABASE_URL": url._replace(path="/" + connection.settings_dict["NAME"]).geturl(),
        "DJANGO_SETTINGS_MODULE": "api.settings.test",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def wait_until_ok(
    url: str, seconds: float, *, process: subprocess.Popen | None = None, log: Path | None = None
) -> httpx.Response:
    """The first 200 from `url`; fails early if `process` exits, with the end of its log."""
    deadline = time.monotonic() + seconds
    while True:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise AssertionError(f"the server exited with {process.returncode}:\n{tail}")
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not answer 200 within {seconds} s")
        time.sleep(0.2)


def stop_process_group(process: subprocess.Popen, grace: float = 30) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def server_process(
    command: list[str], *, port: int, env: dict[str, str], log: Path, ready_path: str
) -> Iterator[str]:
    """Run `command` in its own process group until the block ends; yields its base URL."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and commands
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(base + ready_path, 90, process=process, log=log)
        yield base
    finally:
        stop_process_group(process)


def runserver(*, log: Path, **env: str) -> contextlib.AbstractContextManager[str]:
    """Django's dev server (threaded, no reload) on the test database, DEBUG on for static files
    and media, the startup gate on: what a developer's browser talks to."""
    port = free_port()
    return server_process(
        [sys.executable, "manage.py", "runserver_dev", f"127.0.0.1:{port}", "--noreload"],
        port=port,
        env=test_database_env(DEBUG="true", STARTUP_GATE="true", **env),
        log=log,
        ready_path="/api/health/ready",
    )


def gunicorn(*options: str, log: Path, **env: str) -> contextlib.AbstractContextManager[str]:
    """gunicorn serving api.wsgi on the test database, with its command-line `options` and `env`
    added to the test environment."""
    port = free_port()
    return server_process(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "api.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            *options,
        ],
        port=port,
        env=test_database_env(**env),
        log=log,
        ready_path="/api/health/live",
    )


NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
)


@contextlib.contextmanager
def nginx(upstream: str, *, workdir: Path) -> Iterator[str]:
    """The repository's nginx site (deploy/nginx/emporium.conf) in front of `upstream`
    ("http://127.0.0.1:PORT"), on a free local port; yields its base URL.

    Only the addresses change: the API and Flower upstreams point at `upstream`, and the server
    listens on 127.0.0.1. The rest (real_ip, the headers sent to the API) is the shipped file.
    """
    if NGINX is None:
        raise FileNotFoundError("nginx is not installed (Debian: nginx-light)")
    port = free_port()
    upstream_host = urlsplit(upstream).netloc
    site = (settings.BASE_DIR / "deploy" / "nginx" / "emporium.conf").read_text()
    for shipped, local in (
        ("server web:8000;", f"server {upstream_host};"),
        ("server flower:5555;", f"server {upstream_host};"),
        ("listen 80 default_server;", f"listen 127.0.0.1:{port} default_server;"),
    ):
        assert shipped in site, f"deploy/nginx/emporium.conf no longer has {shipped!r}"
        site = site.replace(shipped, local)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "site.conf").write_text(site)
    temp = {name: workdir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (workdir / "nginx.conf").write_text(
        f"pid {workdir / 'nginx.pid'};\n"
        f"error_log {workdir / 'error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"  access_log {workdir / 'access.log'};\n"
        f"  client_body_temp_path {temp['body']};\n"
        f"  proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']};\n"
        f"  uwsgi_temp_path {temp['uwsgi']};\n"
        f"  scgi_temp_path {temp['scgi']};\n"
        f"  include {workdir / 'site.conf'};\n"
        "}\n"
    )
    with server_process(
        [NGINX, "-p", str(workdir), "-c", str(workdir / "nginx.conf"), "-g", "daemon off;"],
        port=port,
        env=dict(os.environ),
        log=workdir / "nginx.log",
        ready_path="/nginx-health",
    ) as base:
        yield base
