"""Everything for development in one process tree (scripts/dev.sh runs this).

Migrates, seeds, then runs runserver_dev, a Celery worker, Celery beat and Flower, all pointed at
the services this process resolved (embedded ones it started, or configured ones). Ctrl-C or
SIGTERM stops every child process group and then the embedded servers: nothing is left running.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV

PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 15


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


class Command(BaseCommand):
    help = "Run the API (hot reload), a Celery worker, beat and Flower on the resolved services."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--flower-port", type=int, default=int(os.environ.get("FLOWER_PORT", "5555"))
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--no-seed", action="store_true", help="Skip seed_demo.")
        parser.add_argument("--print-sql", action="store_true", help="Print each request's SQL.")

    def handle(self, *args, **options):
        self.children: dict[str, Child] = {}
        self.stopping = False
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._request_stop)
        try:
            self._prepare(options)
            if self.stopping:
                return
            self._start_children(options)
            self._print_banner(options)
            exit_reason = self._watch()
            if exit_reason:
                self.stderr.write(exit_reason)
        finally:
            self._stop_children()
            self._stop_services()

    # -- steps ----------------------------------------------------------------------------------
    def _prepare(self, options) -> None:
        services = settings.SERVICES
        embedded = ", ".join(services.embedded) or "none"
        self.stdout.write(f"services: embedded for {embedded}; data in {settings.DATA_DIR}")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        if not options["no_seed"]:
            call_command("seed_demo", stdout=self.stdout)

    def _start_children(self, options) -> None:
        self.env = {
            **os.environ,
            **settings.SERVICES.environ(),
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "api.settings.dev"),
            "PYTHONUNBUFFERED": "1",
        }
        python = sys.executable
        runserver = [
            python,
            str(settings.BASE_DIR / "manage.py"),
            "runserver_dev",
            f"{options['host']}:{options['port']}",
        ]
        if options["print_sql"]:
            runserver.append("--print-sql")
        celery = [python, "-m", "celery", "-A", "api"]
        self.commands = {
            "api": runserver,
            "worker": [
                *celery,
                "worker",
                "--loglevel=INFO",
                f"--concurrency={os.environ.get('WORKER_CONCURRENCY', '2')}",
                "--hostname=dev-worker@%h",
            ],
            "beat": [*celery, "beat", "--loglevel=INFO", "--pidfile="],
            "flower": [
                *celery,
                "flower",
                f"--address={options['host']}",
                f"--port={options['flower_port']}",
            ],
        }
        self._spawn("api")
        # The API gets both cores first; the worker, beat and Flower start once it answers.
        self._wait_until_live(f"http://{options['host']}:{options['port']}/api/health/live")
        for name in ("worker", "beat", "flower"):
            if not self.stopping:
                self._spawn(name, nice=5)

    def _spawn(self, name: str, nice: int = 0) -> None:
        env = self.env
        if name == "api":
            # This process is the autoreloader's parent: the server child exits with status 3
            # when a file changes and _watch starts it again (one Django start instead of two).
            env = {**env, DJANGO_AUTORELOAD_ENV: "true"}

        def prepare() -> None:
            _die_with_parent()
            if nice:
                os.nice(nice)

        process = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            self.commands[name],
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=prepare,
        )
        self.children[name] = Child(name, process)

    def _wait_until_live(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.stopping and time.monotonic() < deadline:
            if self.children["api"].process.poll() is not None:
                return
            try:
                with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our URL
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)

    def _print_banner(self, options) -> None:
        base = f"http://{options['host']}:{options['port']}"
        self.stdout.write(
            self.style.SUCCESS(
                "\nEmporium is starting:\n"
                f"  API docs (Swagger)  {base}/api/docs\n"
                f"  API docs (ReDoc)    {base}/api/redoc\n"
                f"  Admin               {base}/admin/\n"
                f"  Flower              http://{options['host']}:{options['flower_port']}/\n"
                f"  Health              {base}/api/health/ready\n"
                f"  Staff login         {settings.DEMO_STAFF_EMAIL} / "
                f"{settings.DEMO_STAFF_PASSWORD}\n"
                f"  Customer login      {settings.DEMO_CUSTOMER_EMAIL} / "
                f"{settings.DEMO_CUSTOMER_PASSWORD}\n"
                "Press Ctrl-C to stop everything.\n"
            )
        )

    def _watch(self) -> str | None:
        while not self.stopping:
            for name, child in list(self.children.items()):
                code = child.process.poll()
                if code == 3 and name == "api":
                    self._spawn("api")  # a source file changed: reload
                elif code is not None:
                    return f"{name} exited with status {code}; stopping everything."
            time.sleep(0.2)
        return None

    def _request_stop(self, signum, frame) -> None:
        if not self.stopping:
            self.stdout.write("\nstopping...")
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
                self.stderr.write(f"{child.name} did not stop in time; killing it")
                child.signal_group(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=5)

    def _stop_services(self) -> None:
        # Stop the embedded servers even when an earlier run left them running for us to adopt.
        for server in settings.SERVICES.servers:
            server.stop()
        if settings.SERVICES.servers:
            self.stdout.write("embedded PostgreSQL and Redis stopped")
