#!/usr/bin/env bash
# Drive a running server (scripts/dev.sh) through its public API and report each step.
# Usage: scripts/test_feature.sh [base URL, default http://127.0.0.1:${PORT:-8000}] [--only NAME]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
sync_env
exec "$PY" scripts/feature_check.py "$@"
