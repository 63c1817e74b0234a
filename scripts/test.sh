#!/usr/bin/env bash
# The whole test suite; extra arguments go to pytest (e.g. scripts/test.sh -k health -x).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
sync_env
exec "$PY" -m pytest "$@"
