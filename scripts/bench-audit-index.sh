#!/bin/bash
# The audit service's indexes on a large trail (docs/audit.md, "Queries
# and indexes"), for `make bench`:
#
#   1. `audit gen --nosync` writes INDEX_N records (10,000,000) in the
#      real on-disk format through the service's own append path (its
#      indexes included), in 64 MiB segments;
#   2. the service starts on it: the time from exec to its "started"
#      line, twice (the first start after gen, then after a graceful
#      stop), with what the start re-indexed;
#   3. filtered queries, ROUNDS (200) of each, on one kept-alive
#      connection (the kit sets TCP_NODELAY): p50 and p99 latency, with
#      the query used.
#
# Needs about 500 bytes of disk per record (4.7 GB for 10 M); with less
# free space under build/, INDEX_N is scaled down and the report says so.
# Environment: INDEX_N, ROUNDS, PORT (18191), KEEP (1: keep the folder).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
audit="$top/build/backends/audit"
INDEX_N=${INDEX_N:-10000000} ROUNDS=${ROUNDS:-200} PORT=${PORT:-18191}

[ -x "$audit" ] || { echo "bench-audit-index: $audit is missing: run make backends" >&2; exit 1; }

mkdir -p "$top/build"
free_kb=$(df -Pk "$top/build" | awk 'NR == 2 { print $4 }')
max_n=$(( free_kb * 1024 / 600 ))
if [ "$INDEX_N" -gt "$max_n" ]; then
    echo "bench-audit-index: only $(( free_kb / 1024 )) MiB free: $max_n records instead of $INDEX_N"
    INDEX_N=$max_n
fi

d=$(mktemp -d "$top/build/bench-audit-index.XXXXXX")
svc=
cleanup() {
    [ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
    [ "${KEEP:-0}" = 1 ] || rm -rf "$d"
}
trap cleanup EXIT

"$audit" keygen bench.tollgate/audit "$d/audit.key" >/dev/null

gen=$("$audit" gen "$d/log" "$INDEX_N" --key "$d/audit.key" --batch 4096 --nosync)
echo "audit index: $INDEX_N records written by audit gen --nosync: $gen"
echo "audit index: on disk: $(du -sh "$d/log" | cut -f1) ($(du -ch "$d"/log/idx-* | tail -1 | cut -f1) of segment indexes, $(du -h "$d/log/ids" | cut -f1) of id index)"

start() {
    local t0 t1
    : > "$d/svc.log"
    t0=$(date +%s.%N)
    TOLLGATE_AUDIT_LISTEN="127.0.0.1:$PORT" TOLLGATE_AUDIT_REDIS=127.0.0.1:1 \
    TOLLGATE_AUDIT_STREAM_INGEST=off TOLLGATE_AUDIT_CHECKPOINT_INTERVAL=0 \
    TOLLGATE_AUDIT_DATA_DIR="$d/log" TOLLGATE_AUDIT_KEY_FILE="$d/audit.key" \
        "$audit" >> "$d/svc.log" 2>&1 &
    svc=$!
    until grep -q '"message":"started"' "$d/svc.log"; do
        kill -0 "$svc" 2>/dev/null || { cat "$d/svc.log" >&2; exit 1; }
        sleep 0.01
    done
    t1=$(date +%s.%N)
    echo "audit index: start on $INDEX_N records ($1): $(echo "$t1 - $t0" | bc) s; $(grep -o '"records_indexed":[0-9]*,"indexes_rebuilt":[0-9]*,"ids_reinserted":[0-9]*' "$d/svc.log")"
}

stop() {
    kill "$svc"
    wait "$svc" || true
    svc=
}

start "first start after gen"
stop
start "after a graceful stop"

mid=$(( 1700000000000 + INDEX_N / 2 ))
perl -MHTTP::Tiny -MTime::HiRes=time -e '
    my ($port, $rounds, @q) = @ARGV;
    my $http = HTTP::Tiny->new(keep_alive => 1);
    for my $q (@q) {
        my (@t, $n, $scanned);
        for (1 .. $rounds) {
            my $t0 = time;
            my $r = $http->get("http://127.0.0.1:$port/v1/audit/records?$q");
            push @t, time - $t0;
            die "$q: $r->{status}\n" unless $r->{success};
            $n = () = $r->{content} =~ /"seq":/g;
            ($scanned) = $r->{content} =~ /"scanned":(\d+)/;
        }
        @t = sort { $a <=> $b } @t;
        printf "audit index: GET /v1/audit/records?%s: p50 %.2f ms, "
               . "p99 %.2f ms (%d records, %d read)\n", $q,
               $t[@t / 2] * 1000, $t[int(@t * 0.99)] * 1000, $n, $scanned;
    }' "$PORT" "$ROUNDS" \
    "actor=consumer-rare&limit=100" \
    "actor=consumer-rare&limit=100&cursor=$(( INDEX_N / 2 ))" \
    "actor=nobody&limit=100" \
    "status=403&limit=100" \
    "status=403&limit=100&cursor=$(( INDEX_N / 2 ))" \
    "actor=consumer-42&action=GET&limit=100" \
    "actor=consumer-42&status=404&limit=100" \
    "from=$mid&to=$(( mid + 1000 ))&limit=100" \
    "from=$mid&to=$(( mid + 100000 ))&actor=consumer-42&limit=100"
