#!/usr/bin/env bash
# Create and migrate the database: the embedded one by default, or DATABASE_URL's.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
sync_env
"$PY" manage.py migrate --no-input
"$PY" manage.py showmigrations --plan | tail -n 5
