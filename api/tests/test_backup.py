"""db_backup and db_restore: a round trip into an empty database finds the same orders and media."""

import tarfile
import uuid

import psycopg
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from api import backup
from orders.models import Order
from testing.factories import UserFactory


@pytest.fixture
def media(settings, tmp_path):
    root = tmp_path / "media"
    (root / "products" / "2026").mkdir(parents=True)
    (root / "products" / "2026" / "runner.webp").write_bytes(b"RIFF\x00image bytes")
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def empty_database():
    """A new database on the test server, dropped afterwards; yields its URL."""
    name = f"emporium_restore_{uuid.uuid4().hex[:8]}"
    admin_url = backup.Target.from_settings().environ
    conninfo = {
        "host": admin_url.get("PGHOST"),
        "port": admin_url.get("PGPORT"),
        "user": admin_url.get("PGUSER"),
        "password": admin_url.get("PGPASSWORD"),
        "dbname": "postgres",
    }
    conninfo = {key: value for key, value in conninfo.items() if value}
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield psycopg.conninfo.make_conninfo(**{**conninfo, "dbname": name}), name
    finally:
        with psycopg.connect(**conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_url(conninfo: str) -> str:
    from urllib.parse import quote

    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    host = quote(str(params.get("host", "")), safe="")
    user = quote(str(params.get("user", "")), safe="")
    password = params.get("password")
    auth = f"{user}:{quote(str(password), safe='')}" if password else user
    port = params.get("port") or 5432
    return f"postgresql://{auth}@{host}:{port}/{params['dbname']}"


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_an_empty_database_with_the_same_orders(
    client, place, media, tmp_path, empty_database, settings, capsys
):
    orders = [place(client, UserFactory(), key=f"k{i}") for i in range(3)]
    expected = sorted((o.number, str(o.grand_total), o.status, o.email) for o in orders)
    archive = tmp_path / "backups" / "shop.tar"

    call_command("db_backup", "--output", str(archive))

    progress = capsys.readouterr().err
    assert "dumping" in progress and "media: 1/1 files" in progress
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "database.dump", "media/products/2026/runner.webp"} <= names
    manifest = backup.read_manifest(archive)
    assert manifest["counts"]["orders_order"] == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(name) FROM django_migrations WHERE app = 'orders'")
        assert manifest["migrations"]["orders"] == cursor.fetchone()[0]

    conninfo, _ = empty_database
    restored_media = tmp_path / "restored-media"
    settings.MEDIA_ROOT = restored_media
    call_command("db_restore", str(archive), "--database-url", _as_url(conninfo))

    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT number, grand_total::text, status, email FROM orders_order"
        ).fetchall()
        lines = conn.execute("SELECT count(*) FROM orders_orderline").fetchone()[0]
    assert sorted(rows) == expected
    assert lines == sum(order.lines.count() for order in orders)
    assert (restored_media / "products/2026/runner.webp").read_bytes() == b"RIFF\x00image bytes"
    assert "restored: rows" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_a_restore_refuses_a_database_that_holds_data(client, place, media, tmp_path):
    place(client, UserFactory())
    archive = tmp_path / "shop.tar"
    call_command("db_backup", "--output", str(archive), "--no-media")
    place(client, UserFactory(), key="second")

    with pytest.raises(CommandError, match="is not empty"):
        call_command("db_restore", str(archive))
    assert Order.objects.count() == 2


def test_a_file_that_is_not_a_backup_is_refused_by_name(tmp_path):
    stray = tmp_path / "orders.csv"
    stray.write_text("number,total\n")
    with pytest.raises(CommandError, match=r"orders\.csv is not an Emporium backup"):
        call_command("db_restore", str(stray))


def test_media_paths_cannot_leave_the_media_folder(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("media/../../escaped.txt")
        info.size = 0
        tar.addfile(info)
    with tarfile.open(archive) as tar, pytest.raises(backup.BackupError, match="unsafe path"):
        backup._extract_media(tar, tar.getmember("media/../../escaped.txt"), tmp_path / "media")
    assert not (tmp_path / "escaped.txt").exists()
