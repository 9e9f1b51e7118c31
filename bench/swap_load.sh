#!/bin/sh
# swap_load.sh [BUILD_DIR] [SECONDS] [CLIENTS] — hot swaps under load (docs/serving.md, "Hot swap").
# `hearth serve` with one model; CLIENTS loops of streaming chat requests run
# for SECONDS while the model is swapped back and forth between two files (the
# licenses model in F16 and Q8_0) through POST /admin/models/swap, once per
# second. Prints the swap times (the admin call, load and hashing included)
# and the requests that completed, failed (not 200, or no [DONE]) or were
# refused.
set -eu
BUILD=${1:-build}
SECS=${2:-20}
CLIENTS=${3:-8}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$BUILD/bin/hearth
[ -x "$BIN" ] || BIN=$BUILD/hearth
A=$ROOT/tests/data/models/licenses-llama-f16.gguf
B=$ROOT/tests/data/models/licenses-llama-Q8_0.gguf
W=$(mktemp -d /tmp/hearth-swap-bench.XXXXXX)
trap 'kill $SRV 2>/dev/null || true; rm -rf "$W"' EXIT
echo "swap-bench-admin-token-$$-0123456789" >"$W/token"
TOKEN=$(cat "$W/token")
"$BIN" serve --model "lic=$A" --admin-token-file "$W/token" --port 0 --parallel 4 -t 2 --ctx-per-seq 256 \
    2>"$W/serve.log" &
SRV=$!
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$W/serve.log" | head -1)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { cat "$W/serve.log"; exit 1; }
URL=http://127.0.0.1:$PORT
END=$(($(date +%s) + SECS))
client() {
    i=0
    while [ "$(date +%s)" -lt "$END" ]; do
        out=$(curl -sN -w '\nHTTP %{http_code}\n' "$URL/v1/chat/completions" \
            -d '{"model":"lic","messages":[{"role":"user","content":"What does the MIT license allow?"}],"max_tokens":24,"temperature":0,"stream":true}')
        case "$out" in
            *"data: [DONE]"*"HTTP 200"*) echo ok ;;
            *"HTTP 429"*) echo refused ;;
            *) echo failed; echo "$out" >>"$W/failed.txt" ;;
        esac
        i=$((i + 1))
    done >"$W/client.$1"
}
PIDS=
for c in $(seq "$CLIENTS"); do
    client "$c" &
    PIDS="$PIDS $!"
done
n=0
while [ "$(date +%s)" -lt "$END" ]; do
    sleep 1
    f=$A; [ $((n % 2)) -eq 0 ] && f=$B
    curl -s -o "$W/swap.json" -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$URL/admin/models/swap" \
        -d "{\"name\":\"lic\",\"path\":\"$f\"}" >>"$W/swap_times"
    grep -q '"replaced"' "$W/swap.json" || { echo "swap failed: $(cat "$W/swap.json")"; exit 1; }
    n=$((n + 1))
done
for p in $PIDS; do wait "$p" || true; done
sleep 1
ok=$(cat "$W"/client.* | grep -c '^ok$' || true)
failed=$(cat "$W"/client.* | grep -c '^failed$' || true)
refused=$(cat "$W"/client.* | grep -c '^refused$' || true)
sort -n "$W/swap_times" | awk -v n="$n" '{t[NR]=$1; s+=$1} END {printf "swaps: %d, admin call median %.3f s, max %.3f s, mean %.3f s\n", n, t[int((NR+1)/2)], t[NR], s/NR}'
echo "requests: $ok completed, $failed failed, $refused refused (429) over ${SECS} s with $CLIENTS clients"
curl -s -H "Authorization: Bearer $TOKEN" "$URL/admin/models" | tr -d '\n'; echo
[ "$failed" -eq 0 ]
