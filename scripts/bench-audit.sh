#!/bin/bash
# The audit service's benchmark (docs/audit.md), for `make bench`:
#
#   1. append throughput in-process: `audit gen` stores synthetic events
#      through the service's own path (check, canonical JSON, hashes,
#      group commit with one fdatasync per GEN_BATCH records);
#   2. append throughput over HTTP: wrk POSTs batches of BATCH events
#      (unique ids) to a running service with group commit (fsync_batch
#      FSYNC_BATCH, fsync_interval FSYNC_INTERVAL), every answer after
#      its fdatasync;
#   3. the time `audit verify` takes on a log of VERIFY_N records (made by
#      `audit gen --nosync`), the median of ROUNDS runs.
#
# Targets: at least 50,000 events/s appended, verify of 1,000,000 records
# under 2 s.  Environment: GEN_N (200000), GEN_BATCH (512), BATCH (500),
# CONNS (32), DUR (10s), FSYNC_BATCH (1024), FSYNC_INTERVAL (5ms),
# VERIFY_N (1000000), ROUNDS (3), PORT (18190).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
audit="$top/build/backends/audit"
GEN_N=${GEN_N:-200000} GEN_BATCH=${GEN_BATCH:-512} BATCH=${BATCH:-500}
CONNS=${CONNS:-32} DUR=${DUR:-10s} FSYNC_BATCH=${FSYNC_BATCH:-1024}
FSYNC_INTERVAL=${FSYNC_INTERVAL:-5ms} VERIFY_N=${VERIFY_N:-1000000}
ROUNDS=${ROUNDS:-3} PORT=${PORT:-18190}

[ -x "$audit" ] || { echo "bench-audit: $audit is missing: run make backends" >&2; exit 1; }
command -v wrk >/dev/null || { echo "bench-audit: wrk is missing" >&2; exit 1; }

mkdir -p "$top/build"
d=$(mktemp -d "$top/build/bench-audit.XXXXXX")
svc=
cleanup() {
    [ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
    rm -rf "$d"
}
trap cleanup EXIT

"$audit" keygen bench.tollgate/audit "$d/audit.key" >/dev/null

# 1. in-process
gen=$("$audit" gen "$d/gen" "$GEN_N" --key "$d/audit.key" --batch "$GEN_BATCH")
gen_rate=$(echo "$gen" | sed 's/.*"events_per_second":\([0-9]*\).*/\1/')
echo "audit append, in-process, fdatasync every $GEN_BATCH records: $gen_rate events/s ($GEN_N events)"

# 2. HTTP
cat > "$d/post.lua" <<'LUA'
-- each thread builds its batch once, with "@" where the request number
-- goes, so that the client spends little CPU making unique ids
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("prefix", string.format("b%d-%d", os.time(), threads))
end
local n = 0
local body
local headers = { ["Content-Type"] = "application/json" }
function request()
    if body == nil then
        local batch = tonumber(os.getenv("BATCH") or "500")
        local t = {}
        for i = 1, batch do
            t[i] = string.format('{"id":"%s-@-%d","time":1700000000000,'
                .. '"actor":"bench","action":"GET",'
                .. '"resource":"/api/items/%d","status":200,'
                .. '"latency_ms":1.5,"auth":"ok","source":"gateway"}',
                prefix, i, i)
        end
        body = "[" .. table.concat(t, ",") .. "]"
    end
    n = n + 1
    return wrk.format("POST", "/v1/audit/events", headers,
                      (body:gsub("@", string.format("%08d", n))))
end
LUA

TOLLGATE_AUDIT_LISTEN="127.0.0.1:$PORT" TOLLGATE_AUDIT_REDIS=127.0.0.1:1 \
TOLLGATE_AUDIT_STREAM_INGEST=off TOLLGATE_AUDIT_LOG_LEVEL=error \
TOLLGATE_AUDIT_DATA_DIR="$d/http" TOLLGATE_AUDIT_KEY_FILE="$d/audit.key" \
TOLLGATE_AUDIT_FSYNC_BATCH="$FSYNC_BATCH" \
TOLLGATE_AUDIT_FSYNC_INTERVAL="$FSYNC_INTERVAL" \
TOLLGATE_AUDIT_BODY_MAX=4m TOLLGATE_AUDIT_BATCH_MAX=10000 \
    "$audit" 2>"$d/audit.log" &
svc=$!
for i in $(seq 50); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
done

out=$(BATCH=$BATCH wrk -t2 -c"$CONNS" -d"$DUR" -s "$d/post.lua" \
          "http://127.0.0.1:$PORT/v1/audit/events")
rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
bad=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
records=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^audit_records / { print $2 }')
commits=$(curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^audit_commits_total / { print $2 }')
http_rate=$(awk -v r="$rps" -v b="$BATCH" 'BEGIN { printf "%d", r * b }')
echo "audit append, HTTP POST batches of $BATCH, $CONNS connections, fsync_batch $FSYNC_BATCH: $http_rate events/s ($records records in $commits commits, non-2xx: ${bad:-0})"
kill "$svc"
wait "$svc" 2>/dev/null || :
svc=

# 3. verify
"$audit" gen "$d/big" "$VERIFY_N" --key "$d/audit.key" --nosync >/dev/null
times=
for i in $(seq "$ROUNDS"); do
    t=$("$audit" verify --key "$d/big/audit.pub" "$d/big" \
        | sed -n 's/^verify: ok: .*, \([0-9.]*\) s$/\1/p')
    [ -n "$t" ] || { echo "bench-audit: verify failed" >&2; exit 1; }
    times="$times $t"
done
median=$(echo $times | tr ' ' '\n' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo "audit verify, $VERIFY_N records: $median s (median of$times)"

ok=ok
[ "${gen_rate:-0}" -ge 50000 ] && [ "${http_rate:-0}" -ge 50000 ] || ok="below target"
echo "audit targets: append >= 50000 events/s: $ok;" \
     "verify 1M < 2 s: $(awk -v m="$median" 'BEGIN { print (m < 2) ? "ok" : "above target" }')"
