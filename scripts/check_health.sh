#!/usr/bin/env bash
# Ask a running server how it is: liveness, then readiness service by service.
# Usage: scripts/check_health.sh [base URL, default http://127.0.0.1:${PORT:-8000}]
set -uo pipefail
BASE=${1:-http://127.0.0.1:${PORT:-8000}}
status=0
for probe in live ready; do
  body=$(curl -sS -w '\n%{http_code}' "$BASE/api/health/$probe") || { echo "$probe: no answer from $BASE"; exit 2; }
  code=$(tail -n 1 <<<"$body")
  echo "$probe: HTTP $code"
  head -n -1 <<<"$body" | python3 -c '
import json, sys
data = json.load(sys.stdin)
for name, check in data.get("checks", {}).items():
    extra = " (%s)" % check["error"] if check.get("error") else ""
    print("  %-10s %-5s %8.2f ms%s" % (name, check["status"], check["latency_ms"], extra))
'
  [ "$code" = 200 ] || status=1
done
exit $status
