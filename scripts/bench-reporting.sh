#!/bin/bash
# The reporting service's benchmark (docs/reporting.md, "Figures"), for
# `make bench-reporting` (part of `make bench`): a SQLite store of
# 1,000,000 rows shaped as the processing engine's SQL sink writes the
# demo pipeline's per-consumer aggregates (per_minute: consumer, minute,
# events, amount; key consumer + minute), a private redis-server, and
# build/backends/reporting started afresh for each format, so that its
# peak memory (VmHWM in /proc/<pid>/status, read after the run) is that
# format's.  One report with a bar chart, run through the API as
#
#   CSV   1,000,000 rows
#   XLSX  1,000,000 rows (constant memory; target: flat, <= 64 MiB)
#   PDF      10,000 rows (the first ones, by the query's :limit
#                         parameter; pdf_max_rows, 10,000 by default,
#                         fails a longer PDF run)
#
# and each file downloaded once (streamed from the spool).  Prints rows,
# seconds (from the POST to "done", polled every 100 ms), rows/s, the
# service's peak RSS and the file's size; no pass or fail on speed.
# Environment: REPORTING (the binary), REDIS_SERVER, ROWS (default
# 1000000), KEEP=1 keeps the temporary folder.

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${REPORTING:-$top/build/backends/reporting}
redis_server=${REDIS_SERVER:-redis-server}
rows=${ROWS:-1000000}

[ -x "$bin" ] || { echo "bench-reporting: no $bin (make backends)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "bench-reporting: no sqlite3 CLI" >&2; exit 1; }
command -v "$redis_server" >/dev/null || { echo "bench-reporting: no $redis_server" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-reporting-XXXXXX")
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ "${KEEP:-0}" = 1 ] && echo "bench-reporting: kept $tmp" >&2 && return
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# the store: what the demo pipeline's sink writes, for consumer "demo"
# and a few others (the tenant parameter keeps them out)
db=$tmp/store.db
sqlite3 "$db" <<SQL
CREATE TABLE per_minute (consumer TEXT, minute INTEGER, events INTEGER,
                         amount REAL, PRIMARY KEY (consumer, minute));
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s
                        WHERE i < $rows - 1)
INSERT INTO per_minute SELECT 'demo', 1764547200000 + i * 60000,
                              1 + i % 97, (i % 9973) / 4.0 FROM s;
INSERT INTO per_minute SELECT 'other', minute, events, amount
    FROM per_minute LIMIT 1000;
SQL

redis_port=$(free_port)
"$redis_server" --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --daemonize no --dir "$tmp" \
    > "$tmp/redis.log" 2>&1 &
pids="$pids $!"
for _ in $(seq 50); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
done

doc='{"id": "bench", "title": "Events and amounts per minute",
  "query": "SELECT minute, events, amount FROM per_minute WHERE consumer = :tenant ORDER BY minute LIMIT :limit",
  "tenant_param": "tenant",
  "params": {"limit": {"type": "integer", "default": 100000000}},
  "columns": [{"name": "minute", "title": "Minute", "type": "datetime"},
              {"name": "events", "title": "Events", "type": "integer"},
              {"name": "amount", "title": "Amount", "type": "currency",
               "currency": "EUR", "decimals": 2}],
  "chart": {"type": "bar", "category": "minute", "series": ["events"],
            "title": "Events per minute"},
  "formats": ["csv", "xlsx", "pdf"]}'
redis-cli -p "$redis_port" HSET gw:md:e:u.reports:bench v 1 doc "$doc" \
    >/dev/null
redis-cli -p "$redis_port" ZADD gw:md:ix:u.reports 0 bench >/dev/null

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tmp/secret.key"
chmod 600 "$tmp/secret.key"

printf '%-6s %10s %9s %10s %14s %10s\n' format rows seconds rows/s \
    peak-RSS-MiB file-MiB

for run in csv:0 xlsx:0 pdf:10000; do
    fmt=${run%%:*}
    limit=${run#*:}
    port=$(free_port)
    mkdir -p "$tmp/spool-$fmt"
    TOLLGATE_REPORTING_LISTEN=127.0.0.1:$port \
    TOLLGATE_REPORTING_REDIS=127.0.0.1:$redis_port \
    TOLLGATE_REPORTING_SQLITE=$db \
    TOLLGATE_REPORTING_SPOOL=$tmp/spool-$fmt \
    TOLLGATE_REPORTING_SECRET_KEY_FILE=$tmp/secret.key \
    TOLLGATE_REPORTING_MAX_SECONDS=600s \
    TOLLGATE_REPORTING_MAX_BYTES=1024m \
    TOLLGATE_REPORTING_SCHEDULES=off \
        "$bin" > "$tmp/rp-$fmt.log" 2>&1 &
    pid=$!
    pids="$pids $pid"
    svc=http://127.0.0.1:$port
    for _ in $(seq 100); do
        curl -sf -o /dev/null "$svc/readyz" && break
        sleep 0.1
    done

    if [ "$limit" = 0 ]; then
        body="{\"format\": \"$fmt\"}"
    else
        body="{\"format\": \"$fmt\", \"params\": {\"limit\": $limit}}"
    fi
    hdr=(-H 'X-Consumer-ID: demo' -H 'X-Consumer-Scope: reports:read')

    t0=$(date +%s.%N)
    id=$(curl -s "${hdr[@]}" -H 'Content-Type: application/json' \
             -d "$body" "$svc/v1/reports/bench/runs" \
         | sed -n 's/.*"run": *"\([0-9a-f]*\)".*/\1/p')
    [ -n "$id" ] || { echo "bench-reporting: $fmt: no run (see $tmp/rp-$fmt.log)" >&2; exit 1; }
    while :; do
        st=$(curl -s "${hdr[@]}" "$svc/v1/reports/bench/runs/$id")
        case $st in
            *'"status": "done"'*|*'"status":"done"'*) break ;;
            *'"status": "failed"'*|*'"status":"failed"'*)
                echo "bench-reporting: $fmt failed: $st" >&2; exit 1 ;;
        esac
        sleep 0.1
    done
    t1=$(date +%s.%N)

    n=$(echo "$st" | sed -n 's/.*"rows": *\([0-9]*\).*/\1/p')
    link=$(echo "$st" | sed -n 's/.*"download": *"\([^"]*\)".*/\1/p')
    curl -s -o /dev/null "${hdr[@]}" "$svc$link"
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
    size=$(stat -c %s "$tmp/spool-$fmt/$id.$fmt")

    kill "$pid"
    wait "$pid" 2>/dev/null || true

    awk -v f="$fmt" -v n="$n" -v a="$t0" -v b="$t1" -v m="$hwm" \
        -v z="$size" 'BEGIN { printf "%-6s %10d %9.1f %10d %14.1f %10.1f\n",
                              f, n, b - a, n / (b - a), m / 1024,
                              z / 1048576 }'
done
