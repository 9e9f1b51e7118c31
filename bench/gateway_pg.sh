#!/bin/sh
# gateway_pg.sh — the latency `hearth gateway` adds with its storage on SQLite
# and on PostgreSQL, side by side: bench_gateway (N requests paced at RATE/s,
# direct and through the gateway in alternating blocks) once with SQLite files
# (audit sync=normal) and once with `database: postgresql://` in a throwaway
# cluster (pg_virtualenv, through tests/gateway/pg_run.sh).
#   usage: bench/gateway_pg.sh [N=5000] [RATE=500] [durable]   (after building: build/bench/bench_gateway)
# durable: SQLite with audit sync=full and PostgreSQL with fsync on (each commit
# on disk before the answer); otherwise sync=normal and fsync off.
set -eu
cd "$(dirname "$0")/.."
N=${1:-5000}; RATE=${2:-500}; SYNC=normal; PG_RUN_FSYNC=off
if [ "${3:-}" = durable ]; then SYNC=full; PG_RUN_FSYNC=on; fi
export PG_RUN_FSYNC
B=build/bench/bench_gateway
[ -x "$B" ] || { echo "gateway_pg.sh: build $B first (cmake --build build)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$B" "$N" "$RATE" "$SYNC" > "$out/sqlite.txt"
tests/gateway/pg_run.sh env HEARTH_BENCH_DATABASE=postgresql:// "$B" "$N" "$RATE" > "$out/pg.txt" 2> "$out/pg.err" ||
  { cat "$out/pg.err" >&2; exit 1; }
printf '%-8s | %-28s | %-28s\n' "" "SQLite (audit sync=$SYNC)" "PostgreSQL (fsync=$PG_RUN_FSYNC)"
for row in direct gateway added; do
  s=$(grep "^$row" "$out/sqlite.txt" | sed 's/^[a-z ]*: *//')
  p=$(grep "^$row" "$out/pg.txt" | sed 's/^[a-z ]*: *//')
  printf '%-8s | %-28s | %-28s\n' "$row" "$s" "$p"
done
printf '%-8s | %-28s | %-28s\n' "failed" "$(sed -n 's/.*, \([0-9]*\) failed.*/\1/p' "$out/sqlite.txt")" \
  "$(sed -n 's/.*, \([0-9]*\) failed.*/\1/p' "$out/pg.txt")"
