"""The shipped gunicorn configuration (deploy/gunicorn.conf.py): the master imports the project
once and forks the workers, each worker opens its own database and Redis connections, and a
recycled worker is forked again from the imported master rather than importing anew.

The servers run `gunicorn -c deploy/gunicorn.conf.py` on the test database with
api/tests/preload_settings.py, whose URLconf opens a database and a Redis connection when it is
imported and answers /_whoami with the process ids and connections involved.
"""

from __future__ import annotations

import contextlib
import re
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from testing import servers

ROOT = Path(settings.BASE_DIR)
CONF = ROOT / "deploy" / "gunicorn.conf.py"
# Requests a second one worker answers at the bare framework's floor on the benchmark machine,
# rounded up from its best (docs/benchmarks.md: 2 workers, up to 6,600/s together).
FLOOR_PER_WORKER = 3500


def shipped_conf(monkeypatch, **env: str) -> dict:
    for name in ("GUNICORN_MAX_REQUESTS", "GUNICORN_MAX_WORKER_MEMORY_MB", "GUNICORN_PRELOAD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def documented(name: str) -> int:
    """The default docs/operations.md gives for an environment variable: `NAME` [value]."""
    text = " ".join((ROOT / "docs" / "operations.md").read_text().split())
    match = re.search(rf"`{name}` \[(\d+)\]", text)
    assert match, f"docs/operations.md does not give {name}'s default"
    return int(match.group(1))


def test_the_shipped_conf_preloads_and_recycles_as_the_docs_say(monkeypatch):
    conf = shipped_conf(monkeypatch)
    assert conf["preload_app"] is True
    assert conf["max_requests"] == documented("GUNICORN_MAX_REQUESTS")
    assert conf["max_worker_memory_mb"] == documented("GUNICORN_MAX_WORKER_MEMORY_MB")
    assert conf["max_requests_jitter"] == conf["max_requests"] // 10
    # The earliest a worker can be recycled by count, at the floor's load: over a minute.
    soonest = (conf["max_requests"] - conf["max_requests_jitter"]) / FLOOR_PER_WORKER
    assert soonest >= 60, f"a worker would restart every {soonest:.0f} s at the floor's load"


def test_recycling_by_count_and_preloading_can_be_turned_off(monkeypatch):
    conf = shipped_conf(monkeypatch, GUNICORN_MAX_REQUESTS="0", GUNICORN_PRELOAD="0")
    assert conf["max_requests"] == 0  # gunicorn: never
    assert conf["preload_app"] is False


@contextlib.contextmanager
def shipped_gunicorn(tmp_path: Path, **env: str) -> Iterator[httpx.Client]:
    port = servers.free_port()
    with (
        servers.server_process(
            [sys.executable, "-m", "gunicorn", "-c", str(CONF)],
            port=port,
            env=servers.test_database_env(
                DJANGO_SETTINGS_MODULE="api.tests.preload_settings",
                GUNICORN_BIND=f"127.0.0.1:{port}",
                **env,
            ),
            log=tmp_path / "gunicorn.log",
            ready_path="/api/health/live",
        ) as base,
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        yield client


def whoami(client: httpx.Client) -> dict:
    # A new connection each time: gunicorn's sync workers close it after every answer anyway.
    response = client.get("/_whoami", headers={"Connection": "close"})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.django_db(transaction=True)
def test_workers_forked_after_the_preload_each_use_their_own_connections(tmp_path):
    with shipped_gunicorn(tmp_path, WEB_CONCURRENCY="2") as client:
        answers: dict[int, dict] = {}
        for _ in range(200):
            answer = whoami(client)
            answers.setdefault(answer["pid"], answer)
            if len(answers) == 2:
                break
        assert len(answers) == 2, "one worker answered every request"

    # gunicorn's own lines (its format prints the process id) format without an error.
    log = (tmp_path / "gunicorn.log").read_text()
    assert "Booting worker with pid" in log
    assert "Logging error" not in log and "Traceback" not in log, log[-2000:]

    first, second = answers.values()
    imported = first["imported"]
    for answer in (first, second):
        # The master imported the project (and the URLconf): the worker only forked from it.
        assert answer["imported"] == imported
        assert imported["pid"] == answer["parent"] != answer["pid"]
        # What the master opened while importing is not what the worker talks through.
        assert answer["db_backend_pid"] != imported["db_backend_pid"]
        assert answer["redis_client_id"] != imported["redis_client_id"]
    assert first["db_backend_pid"] != second["db_backend_pid"]
    assert first["redis_client_id"] != second["redis_client_id"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("env", "requests_per_worker"),
    [
        pytest.param({"GUNICORN_MAX_REQUESTS": "3"}, 3, id="by-count"),
        pytest.param({"GUNICORN_MAX_WORKER_MEMORY_MB": "1"}, 1, id="by-memory"),
    ],
)
def test_a_recycled_worker_is_forked_from_the_master_not_imported_again(
    tmp_path, env, requests_per_worker
):
    with shipped_gunicorn(tmp_path, WEB_CONCURRENCY="1", **env) as client:
        answers = [whoami(client) for _ in range(3 * requests_per_worker + 1)]

    workers = [answer["pid"] for answer in answers]
    in_turn = list(dict.fromkeys(workers))
    # One worker at a time, each replaced after its share (the readiness probe took some of the
    # first one's): every worker's answers in one run, none beyond the limit.
    assert workers == [pid for pid in in_turn for _ in range(workers.count(pid))]
    assert max(workers.count(pid) for pid in in_turn) == requests_per_worker
    assert len(in_turn) >= 3
    (master,) = {answer["parent"] for answer in answers}
    assert {answer["imported"]["pid"] for answer in answers} == {master}
    assert len({answer["db_backend_pid"] for answer in answers}) == len(in_turn)
