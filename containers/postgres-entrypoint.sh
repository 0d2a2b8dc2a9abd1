#!/usr/bin/env bash
# PostgreSQL 15 entrypoint: on an empty data directory, initdb with POSTGRES_USER as the superuser
# and POSTGRES_PASSWORD (scram-sha-256, also for connections from other containers), then create
# POSTGRES_DB; afterwards (and on every later start) run the server in the foreground. The
# credentials apply only when the volume is initialised, as with the official image.
#   health   the healthcheck: a query over TCP with the password, as a client connects
set -euo pipefail
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}" "${PGDATA:=/var/lib/postgresql/data}"

if [ "${1:-}" = health ]; then
  PGPASSWORD=${POSTGRES_PASSWORD:-} exec psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAqc 'select 1' >/dev/null
fi
[ -n "${POSTGRES_PASSWORD:-}" ] || { echo "POSTGRES_PASSWORD must be set (the superuser's password)" >&2; exit 2; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "initialising $PGDATA: superuser $POSTGRES_USER, database $POSTGRES_DB"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  # A private server on the socket only, to create the database, then the real one below.
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -t 60 start >/dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    PGPASSWORD=$POSTGRES_PASSWORD psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -q \
      -c "CREATE DATABASE \"$POSTGRES_DB\""
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
