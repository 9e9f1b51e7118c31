#!/bin/sh
# pg_run.sh — runs a command (a PostgreSQL test) inside a throwaway PostgreSQL
# cluster: pg_virtualenv (postgresql-common) creates it in a temporary
# directory (-t, also as root), exports PGHOST, PGPORT, PGUSER, PGPASSWORD,
# PGDATABASE and PGVERSION, runs the command and drops the cluster.
#   usage: tests/gateway/pg_run.sh COMMAND [ARGS...]
set -eu
if ! command -v pg_virtualenv >/dev/null 2>&1; then
  echo "pg_run.sh: pg_virtualenv not found (apt-get install postgresql postgresql-common)" >&2
  exit 1
fi
# the cluster's own settings: enough connections for two gateways and the test; no fsync
# (a throwaway cluster) unless PG_RUN_FSYNC=on (benchmarks of durable commits)
exec pg_virtualenv -t -o max_connections=100 -o "fsync=${PG_RUN_FSYNC:-off}" "$@"
