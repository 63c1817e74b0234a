#!/usr/bin/env bash
# Formatting and lint, as CI checks them. --fix rewrites what ruff can fix.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
sync_env
RUFF="$ROOT/.venv/bin/ruff"
if [ "${1:-}" = "--fix" ]; then
  "$RUFF" format .
  "$RUFF" check --fix .
else
  "$RUFF" format --check .
  "$RUFF" check .
fi
