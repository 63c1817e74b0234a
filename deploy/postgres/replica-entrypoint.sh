#!/usr/bin/env bash
# Streaming replica: on first start, copy the primary with pg_basebackup (-R writes the standby
# settings), holding a replication slot so the primary keeps the WAL the replica still needs;
# then run the image's own entrypoint, which starts postgres as a hot standby.
set -euo pipefail
: "${PRIMARY_HOST:?set PRIMARY_HOST}"
: "${REPLICATION_PASSWORD:?set REPLICATION_PASSWORD}"
SLOT=${REPLICATION_SLOT:-replica_1}
# The image sets PGDATA (18: /var/lib/postgresql/18/docker, inside the volume at /var/lib/postgresql).
export PGDATA=${PGDATA:-/var/lib/postgresql/18/docker}
export PGPASSWORD=$REPLICATION_PASSWORD

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h "$PRIMARY_HOST" -U replicator -d postgres -q; do
    echo "waiting for the primary at $PRIMARY_HOST"
    sleep 2
  done
  mkdir -p "$PGDATA"
  chown postgres:postgres "$(dirname "$PGDATA")" "$PGDATA"
  chmod 0700 "$PGDATA"
  basebackup=(pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA"
    --write-recovery-conf --wal-method=stream --checkpoint=fast --slot="$SLOT")
  # The slot survives a replica rebuilt from scratch: create it only when it is missing.
  if ! gosu postgres "${basebackup[@]}" --create-slot; then
    rm -rf "${PGDATA:?}"/*
    gosu postgres "${basebackup[@]}"
  fi
fi
exec docker-entrypoint.sh postgres -c hot_standby=on
