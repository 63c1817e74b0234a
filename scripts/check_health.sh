#!/usr/bin/env bash
# Ask a running server how it is: liveness, then readiness service by service.
# Usage: [METRICS_TOKEN=...] scripts/check_health.sh [base URL, default http://127.0.0.1:${PORT:-8000}]
# Readiness names each check only for the metrics token (or a staff access token), or on a
# development server (DEBUG) without a token; otherwise it says ok or down.
set -uo pipefail
BASE=${1:-http://127.0.0.1:${PORT:-8000}}
auth=()
[ -n "${METRICS_TOKEN:-}" ] && auth=(-H "Authorization: Bearer $METRICS_TOKEN")
status=0
for probe in live ready; do
  body=$(curl -sS "${auth[@]}" -w '\n%{http_code}' "$BASE/api/health/$probe") || { echo "$probe: no answer from $BASE"; exit 2; }
  code=$(tail -n 1 <<<"$body")
  echo "$probe: HTTP $code"
  head -n -1 <<<"$body" | PROBE=$probe python3 -c '
import json, os, sys
data = json.load(sys.stdin)
if "checks" not in data and os.environ["PROBE"] == "ready":
    print("  %s (set METRICS_TOKEN to see each check)" % data.get("status", data))
for name, check in data.get("checks", {}).items():
    extra = " (%s)" % check["error"] if check.get("error") else ""
    print("  %-10s %-5s %8.2f ms%s" % (name, check["status"], check["latency_ms"], extra))
'
  [ "$code" = 200 ] || status=1
done
exit $status
