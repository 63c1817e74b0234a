#!/usr/bin/env bash
# Development container (docker-compose.yml): wait until PostgreSQL and the broker answer, then
# migrate (which also installs the default beat schedules), seed the demo data and run the API
# with hot reload. With arguments it only waits, then runs them instead (the worker, beat and
# Flower use it that way: they must not migrate at the same time as the API).
set -euo pipefail
cd "$(dirname "$0")/.."

python - <<'PY'
import os
import sys
import time

deadline = time.monotonic() + float(os.environ.get("WAIT_FOR_SERVICES_SECONDS", "120"))


def wait(name, check):
    while True:
        try:
            check()
            print(f"{name} is ready", flush=True)
            return
        except Exception as exc:  # any failure means "not yet"
            if time.monotonic() > deadline:
                sys.exit(f"{name} did not answer in time: {exc}")
            time.sleep(1)


if os.environ.get("DATABASE_URL"):
    import psycopg

    wait("database", lambda: psycopg.connect(os.environ["DATABASE_URL"], connect_timeout=3).close())
if os.environ.get("CELERY_BROKER_URL"):
    from kombu import Connection

    def broker():
        with Connection(os.environ["CELERY_BROKER_URL"], connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)

    wait("broker", broker)
PY

if [ "$#" -gt 0 ]; then
  exec "$@"
fi

python manage.py migrate --noinput
if [ "${SEED_DEMO:-1}" = "1" ]; then
  python manage.py seed_demo
fi
exec python manage.py runserver_dev "0.0.0.0:${PORT:-8000}"
