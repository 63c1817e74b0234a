#!/usr/bin/env bash
# Prepare a development machine without starting anything: uv, the locked environment, a
# migrated and seeded embedded database (stopped again afterwards).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
sync_env
"$PY" manage.py migrate --no-input
"$PY" manage.py seed_demo
echo "ready: scripts/dev.sh runs everything, scripts/test.sh runs the tests"
