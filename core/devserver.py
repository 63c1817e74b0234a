"""Everything for development in one process tree: `python -m core.devserver` (scripts/dev.sh).

Resolves the services (starting the embedded PostgreSQL and Redis unless configured), then at
once starts the API (runserver_dev, hot reload) and, beside it, migrates and seeds; once both are
done it starts a Celery worker, beat and Flower. Ctrl-C or SIGTERM stops every child process
group, then the embedded servers: nothing is left running.

It is a plain module rather than a management command so that it need not set Django up itself:
the API child's start-up overlaps the migration instead of waiting for it (about half the time to
the first answer on a 2-core machine).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 15
# Django's autoreloader runs the server in a child with this set, and restarts it on status 3.
DJANGO_AUTORELOAD_ENV = "RUN_MAIN"
RELOAD_EXIT_STATUS = 3
# Operators' conveniences: losing one (say, a port taken in a race) must not stop the shop.
OPTIONAL_CHILDREN = frozenset({"flower"})


def _die_with_parent() -> None:
    # A child whose supervisor is killed outright gets SIGTERM instead of lingering.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True


def port_or_free_one(host: str, wanted: int) -> int:
    """`wanted` when nothing listens there, else a free port the kernel picks.

    A second scripts/dev.sh (another clone, another PORT) must not stop because the first one's
    Flower holds 5555: Flower is a convenience, not worth refusing to start over.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Flower binds
        try:
            probe.bind((host, wanted))
            return wanted
        except OSError:
            pass
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def worker_command(python: str) -> list[str]:
    # No -Q: the worker consumes every queue of CELERY_TASK_QUEUES.
    return [
        python,
        "-m",
        "celery",
        "-A",
        "api",
        "worker",
        "--loglevel=INFO",
        f"--concurrency={os.environ.get('WORKER_CONCURRENCY', '2')}",
        "--hostname=dev-worker@%h",
    ]


class DevServer:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.children: dict[str, Child] = {}
        self.flower_port = options.flower_port
        self.flower_restarted = False
        self.stopping = False
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "api.settings.dev")
        # Importing the settings resolves the services (and starts the embedded servers).
        self.settings = importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
        self.env = {
            **os.environ,
            **self.settings.SERVICES.environ(),
            "PYTHONUNBUFFERED": "1",
        }
        python, manage = sys.executable, str(self.settings.BASE_DIR / "manage.py")
        runserver = [
            python,
            manage,
            "runserver_dev",
            f"{options.host}:{options.port}",
            "--skip-checks",  # the migrate run beside it performs the system checks
        ]
        if options.print_sql:
            runserver.append("--print-sql")
        prepare = [python, manage, "dev_prepare"]
        if options.no_seed:
            prepare.append("--no-seed")
        celery = [python, "-m", "celery", "-A", "api"]
        self.commands = {
            "api": runserver,
            "prepare": prepare,
            "worker": worker_command(python),
            "beat": [*celery, "beat", "--loglevel=INFO", "--pidfile="],
            "flower": [*celery, "flower", f"--address={options.host}"],
        }

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._request_stop)
        services = self.settings.SERVICES
        print(
            f"services: embedded for {', '.join(services.embedded) or 'none'}; "
            f"data in {self.settings.DATA_DIR}",
            flush=True,
        )
        status = 0
        try:
            self._spawn("api")
            self._spawn("prepare")
            prepared = self._wait_for_prepare()
            if prepared and not self.stopping:
                self._wait_until_live(
                    f"http://{self.options.host}:{self.options.port}/api/health/live"
                )
                # The API came first; the worker, beat and Flower start at lower CPU priority.
                for name in ("worker", "beat", "flower"):
                    if not self.stopping:
                        self._spawn(name, nice=5)
                self._print_banner()
                reason = self._watch()
                if reason:
                    print(reason, file=sys.stderr, flush=True)
                    status = 1
            elif not self.stopping:
                print("migrate or seed failed; stopping everything.", file=sys.stderr, flush=True)
                status = 1
        finally:
            self._stop_children()
            self._stop_services()
        return status

    def _spawn(self, name: str, nice: int = 0) -> None:
        env = self.env
        command = self.commands[name]
        if name == "flower":
            command = [*command, f"--port={self._flower_port()}"]
        if name == "api":
            # This process is the autoreloader's parent: the server child exits with status 3
            # when a file changes and _watch starts it again (one Django start instead of two).
            env = {**env, DJANGO_AUTORELOAD_ENV: "true"}

        def prepare_child() -> None:
            _die_with_parent()
            if nice:
                os.nice(nice)

        process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            command,
            cwd=self.settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=prepare_child,
        )
        self.children[name] = Child(name, process)

    def _flower_port(self) -> int:
        """The asked port, or a free one when something (another dev.sh's Flower) holds it."""
        port = port_or_free_one(self.options.host, self.flower_port)
        if port != self.flower_port:
            print(
                f"Flower: port {self.flower_port} is taken (another scripts/dev.sh?); using {port}",
                flush=True,
            )
            self.flower_port = port
        return port

    def _wait_for_prepare(self) -> bool:
        prepare = self.children["prepare"].process
        while not self.stopping and prepare.poll() is None:
            self._restart_reloaded_api()
            time.sleep(0.1)
        self.children.pop("prepare")
        return prepare.returncode == 0

    def _wait_until_live(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.stopping and time.monotonic() < deadline:
            self._restart_reloaded_api()
            if self.children["api"].process.poll() is not None:
                return
            try:
                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our URL
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)

    def _restart_reloaded_api(self) -> None:
        if self.children["api"].process.poll() == RELOAD_EXIT_STATUS:
            self._spawn("api")  # a source file changed: reload

    def _watch(self) -> str | None:
        while not self.stopping:
            self._restart_reloaded_api()
            for name, child in list(self.children.items()):
                code = child.process.poll()
                if code is None or code == RELOAD_EXIT_STATUS:
                    continue
                if name == "flower" and not self.flower_restarted:
                    # Most likely its port was taken between our check and its bind: once more.
                    self.flower_restarted = True
                    self._spawn("flower", nice=5)
                    print(
                        f"Flower restarted: http://{self.options.host}:{self.flower_port}/",
                        flush=True,
                    )
                    continue
                if name in OPTIONAL_CHILDREN:
                    print(
                        f"{name} exited with status {code}; the rest keeps running without it.",
                        file=sys.stderr,
                        flush=True,
                    )
                    del self.children[name]
                    continue
                return f"{name} exited with status {code}; stopping everything."
            time.sleep(0.2)
        return None

    def _print_banner(self) -> None:
        s, o = self.settings, self.options
        base = f"http://{o.host}:{o.port}"
        print(
            "\nEmporium is running:\n"
            f"  API docs (Swagger)  {base}/api/docs\n"
            f"  API docs (ReDoc)    {base}/api/redoc\n"
            f"  Admin               {base}/admin/\n"
            f"  Flower              http://{o.host}:{self.flower_port}/\n"
            f"  Health              {base}/api/health/ready\n"
            f"  Staff login         {s.DEMO_STAFF_EMAIL} / {s.DEMO_STAFF_PASSWORD}\n"
            f"  Customer login      {s.DEMO_CUSTOMER_EMAIL} / {s.DEMO_CUSTOMER_PASSWORD}\n"
            "Press Ctrl-C to stop everything.\n",
            flush=True,
        )

    # -- stopping -------------------------------------------------------------------------------
    def _request_stop(self, signum, frame) -> None:
        if not self.stopping:
            print("\nstopping...", flush=True)
        self.stopping = True

    def _stop_children(self) -> None:
        children = list(self.children.values())
        for child in children:
            child.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while time.monotonic() < deadline and any(c.group_alive() for c in children):
            for child in children:
                child.process.poll()
            time.sleep(0.1)
        for child in children:
            if child.group_alive():
                print(f"{child.name} did not stop in time; killing it", file=sys.stderr)
                child.signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=5)

    def _stop_services(self) -> None:
        # Stop the embedded servers even when an earlier run left them running for us to adopt.
        servers = self.settings.SERVICES.servers
        for server in servers:
            server.stop()
        if servers:
            print("embedded PostgreSQL and Redis stopped", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/dev.sh",
        description="Run the API (hot reload), a Celery worker, beat and Flower for development.",
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--flower-port", type=int, default=int(os.environ.get("FLOWER_PORT", "5555"))
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--no-seed", action="store_true", help="Skip seed_demo.")
    parser.add_argument("--print-sql", action="store_true", help="Print each request's SQL.")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return DevServer(parse_args(sys.argv[1:] if argv is None else argv)).run()


if __name__ == "__main__":
    sys.exit(main())
