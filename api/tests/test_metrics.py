"""/metrics (Prometheus) and Sentry."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from api import metrics
from api.celery import app
from api.models import FailedTask
from api.tests.worker_tasks import report_record_task
from testing import servers

TOKEN = "metrics-token-for-tests"


def scrape(client, token: str = TOKEN) -> dict[tuple, float]:
    """Every sample of /metrics: {(name, (label pairs...)): value}."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


# -- protection -----------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer"])
def test_metrics_need_the_token(client, token, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **extra)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_without_a_token_metrics_are_open_only_in_debug(client, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False
    assert client.get("/metrics").status_code == 401
    settings.DEBUG = True
    assert client.get("/metrics").status_code == 200


# -- what they say --------------------------------------------------------------------------------
def requests_count(samples, route: str, status: str) -> float:
    key = (
        "emporium_http_requests_total",
        (("method", "GET"), ("route", route), ("status", status)),
    )
    return samples.get(key, 0)


@pytest.mark.django_db
def test_requests_are_counted_by_route_and_status_and_timed(client, token):
    before = scrape(client)
    for _ in range(3):
        client.get("/api/health/live")
    client.get("/api/no/such/route")
    client.get("/api/no/other/route")
    after = scrape(client)

    assert (
        requests_count(after, "api/health/live", "200")
        - requests_count(before, "api/health/live", "200")
        == 3
    )
    # Unknown paths share one label value: a scanner cannot blow up the series count.
    assert (
        requests_count(after, "<unmatched>", "404") - requests_count(before, "<unmatched>", "404")
        == 2
    )
    assert not any(
        "route" in dict(labels) and "no/such" in dict(labels)["route"] for _, labels in after
    )
    timed = (
        "emporium_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "api/health/live")),
    )
    assert after[timed] - before.get(timed, 0) == 3
    assert requests_count(after, "metrics", "200") == 0  # scrapes do not count themselves


@pytest.mark.django_db
def test_task_outcomes_and_runtimes_from_the_workers(client, token):
    name = f"maintenance.metrics_{uuid.uuid4().hex[:6]}"
    metrics.record_task_outcome(name, "succeeded", 0.25)
    metrics.record_task_outcome(name, "succeeded", 0.75)
    metrics.record_task_outcome(name, "retried", 0.1)
    metrics.record_task_outcome(name, "failed", 0.1)
    samples = scrape(client)
    outcome = lambda o: samples[("emporium_tasks_total", (("outcome", o), ("task", name)))]  # noqa: E731
    assert (outcome("succeeded"), outcome("retried"), outcome("failed")) == (2, 1, 1)
    assert samples[("emporium_task_runtime_seconds_count", (("task", name),))] == 4
    assert samples[("emporium_task_runtime_seconds_sum", (("task", name),))] == pytest.approx(1.2)


@pytest.mark.django_db
def test_queue_depth_per_queue_failed_tasks_and_sources(client, token):
    app.control.purge()
    for _ in range(3):
        report_record_task.delay("nobody consumes this")
    FailedTask.objects.create(
        job_id="j1",
        task_name="email.send_welcome",
        task_id="t1",
        exception="SMTPError: 451",
        attempts=5,
        first_failed_at="2026-11-21T10:00:00Z",
        last_failed_at="2026-11-21T10:05:00Z",
    )
    try:
        samples = scrape(client)
    finally:
        app.control.purge()
    assert samples[("emporium_queue_messages", (("queue", "reports"),))] == 3
    assert samples[("emporium_queue_messages", (("queue", "email.send_welcome"),))] == 0
    queues = {
        dict(labels)["queue"] for name, labels in samples if name == "emporium_queue_messages"
    }
    assert queues == set(settings.TASK_QUEUE_NAMES)
    assert samples[("emporium_dead_letter_messages", ())] == 0  # the Redis broker cannot
    assert samples[("emporium_failed_tasks", (("status", "failed"),))] == 1
    assert samples[("emporium_failed_tasks", (("status", "resolved"),))] == 0
    for source in ("tasks", "broker", "database", "replica"):
        assert samples[("emporium_metrics_source_up", (("source", source),))] == 1


@pytest.mark.django_db
def test_an_unreachable_broker_is_reported_not_raised(client, token, monkeypatch):
    def broker_down():
        raise ConnectionRefusedError("broker unreachable")

    monkeypatch.setattr(metrics, "queue_depths", broker_down)
    samples = scrape(client)
    assert samples[("emporium_metrics_source_up", (("source", "broker"),))] == 0
    assert samples[("emporium_metrics_source_up", (("source", "database"),))] == 1
    assert not any(name == "emporium_queue_messages" for name, _ in samples)


# -- gunicorn with several worker processes -------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_gunicorn_workers_share_one_view_of_the_request_metrics(tmp_path):
    multiproc_dir = Path(settings.DATA_DIR) / "test" / f"prom-{uuid.uuid4().hex[:8]}"
    port = servers.free_port()
    env = servers.test_database_env(
        PROMETHEUS_MULTIPROC_DIR=str(multiproc_dir),
        WEB_CONCURRENCY="2",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        METRICS_TOKEN=TOKEN,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
        cwd=settings.BASE_DIR,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "gunicorn.log", "wb"),  # noqa: SIM115 - closed with the process
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                # Probe another route: a timed-out probe served late must not count below.
                probe = httpx.get(
                    f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=2
                )
                if probe.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "gunicorn did not answer"
            time.sleep(0.2)

        def served() -> float:
            scraped = parse(
                httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
            )
            return requests_count(scraped, "api/health/live", "200")

        before = served()

        def hit(_):
            with httpx.Client(base_url=base) as http:  # a new connection each time
                return http.get("/api/health/live").status_code

        def counting_pids() -> set[str]:
            return {path.stem.rsplit("_", 1)[-1] for path in multiproc_dir.glob("counter_*.db")}

        # The second worker may still be importing Django when the first answers, and until it
        # accepts connections the first serves them all: send batches until both have counted some
        # (a slow CI machine once failed a single batch of 40 here).
        sent = 0
        with ThreadPoolExecutor(max_workers=8) as pool:
            while True:
                assert set(pool.map(hit, range(40))) == {200}
                sent += 40
                if len(counting_pids()) == 2:
                    break
                assert time.monotonic() < deadline + 30, f"one worker served all {sent}"

        # Whichever worker answers the scrape, it reports every worker's requests.
        assert {served() - before for _ in range(6)} == {sent}
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)
        shutil.rmtree(multiproc_dir, ignore_errors=True)


# -- Sentry ---------------------------------------------------------------------------------------
def test_sentry_is_off_without_a_dsn():
    import sentry_sdk

    assert not settings.SENTRY_DSN
    assert not sentry_sdk.get_client().is_active()


class _Collector(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


SENTRY_PROBE = """
import django, sentry_sdk
django.setup()
from django.test import Client
from django.test.utils import override_settings
client = sentry_sdk.get_client()
print("integrations", sorted(client.integrations))
with override_settings(ROOT_URLCONF="api.tests.error_urls"):
    status = Client(raise_request_exception=False).get(
        "/django-crash", HTTP_X_TRACE_ID="trace-of-the-crash"
    ).status_code
print("status", status)
sentry_sdk.flush(timeout=5)
"""


@pytest.mark.django_db(transaction=True)
def test_a_dsn_sends_django_errors_to_sentry_with_our_ids():
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dsn = f"http://publickey@127.0.0.1:{server.server_port}/1"
        result = subprocess.run(
            [sys.executable, "-c", SENTRY_PROBE],
            cwd=settings.BASE_DIR,
            env=servers.test_database_env(SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="test"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "'celery'" in result.stdout and "'django'" in result.stdout
    assert "status 500" in result.stdout
    events = [
        json.loads(line)
        for envelope in _Collector.received
        for line in envelope.splitlines()
        if line.startswith(b"{") and b'"exception"' in line
    ]
    (event,) = [
        e for e in events if e["exception"]["values"][-1]["value"] == "a plain Django view failed"
    ]
    assert event["environment"] == "test"
    assert event["tags"]["trace_id"] == "trace-of-the-crash"
    assert event["tags"]["request_id"]
