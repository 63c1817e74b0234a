#!/usr/bin/env bash
# Both compose files parse, and the production one refuses to start without its secrets.
# Uses docker-compose (Debian's 1.29 is enough) or `docker compose`; skips when neither exists.
set -euo pipefail
cd "$(dirname "$0")/.."

if command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  echo "compose check skipped: neither docker-compose nor docker compose is installed"
  exit 0
fi

"${compose[@]}" -f docker-compose.yml config -q
echo "docker-compose.yml: ok"
"${compose[@]}" --env-file deploy/env.prod.example -f docker-compose.prod.yml config -q
echo "docker-compose.prod.yml: ok (with deploy/env.prod.example)"
# With an empty environment the secrets have no defaults: it must refuse.
empty=$(mktemp)
trap 'rm -f "$empty"' EXIT
if output=$(env -i PATH="$PATH" HOME="${HOME:-/tmp}" "${compose[@]}" --env-file "$empty" \
    -f docker-compose.prod.yml config -q 2>&1); then
  echo "docker-compose.prod.yml parsed without its secrets: a default crept in" >&2
  exit 1
fi
grep -q "set SECRET_KEY\|set POSTGRES_PASSWORD\|Missing mandatory value\|required variable" <<<"$output" || {
  echo "docker-compose.prod.yml failed for another reason than missing secrets:" >&2
  echo "$output" >&2
  exit 1
}
echo "docker-compose.prod.yml: refuses to start without its secrets"
