#!/usr/bin/env bash
# The whole thing on embedded services: migrate, seed, then the API with hot reload, a Celery
# worker, beat and Flower. Ctrl-C stops all of it. PORT (default 8000) picks the API port;
# extra arguments go to core/devserver.py (--print-sql, --no-seed, --flower-port N).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
sync_env
exec "$PY" -m core.devserver "$@"
