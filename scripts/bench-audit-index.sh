#!/bin/bash
# The audit service's indexes on a large trail (docs/audit.md, "Queries
# and indexes"), for `make bench`:
#
#   1. `audit gen --nosync` writes INDEX_N records (10,000,000) in the
#      real on-disk format through the service's own append path (its
#      indexes included), in 64 MiB segments;
#   2. the service starts on it: the time from exec to its "started"
#      line, four times: the first start after gen, after a graceful
#      stop (the open segment's index was written: nothing re-indexed),
#      after a kill -9 (the open index of that stop still holds), and
#      after a kill -9 with the open index removed (a crash before any
#      graceful stop: the whole open segment re-indexed from its text);
#   3. filtered queries, ROUNDS (200) of each, on one kept-alive
#      connection (the kit sets TCP_NODELAY): p50 and p99 latency, with
#      the query used;
#   4. the event loop under appends: on a new trail, PAUSE_N (300,000)
#      events POSTed in batches of 500 with 8 MiB segments, so that
#      segments roll over and the id table grows (1,024 slots doubling
#      to 512 Ki) while it runs: p50, p99 and the largest request
#      latency, with the number of rollovers and growths; meanwhile a
#      second client GETs /healthz every 5 ms on its own connection: its
#      largest latency bounds how long the event loop was ever busy.
#
# Needs about 500 bytes of disk per record (4.7 GB for 10 M); with less
# free space under build/, INDEX_N is scaled down and the report says so.
# Environment: INDEX_N, ROUNDS, PORT (18191), KEEP (1: keep the folder).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
audit="$top/build/backends/audit"
INDEX_N=${INDEX_N:-10000000} ROUNDS=${ROUNDS:-200} PORT=${PORT:-18191}
PAUSE_N=${PAUSE_N:-300000}

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
    TOLLGATE_AUDIT_DATA_DIR="${DATA:-$d/log}" \
    TOLLGATE_AUDIT_KEY_FILE="$d/audit.key" \
        "$audit" >> "$d/svc.log" 2>&1 &
    svc=$!
    until grep -q '"message":"started"' "$d/svc.log"; do
        kill -0 "$svc" 2>/dev/null || { cat "$d/svc.log" >&2; exit 1; }
        sleep 0.01
    done
    t1=$(date +%s.%N)
    [ -n "${DATA:-}" ] && return
    echo "audit index: start on $INDEX_N records ($1): $(echo "$t1 - $t0" | bc) s; $(grep -o '"records_indexed":[0-9]*,"indexes_rebuilt":[0-9]*,"ids_reinserted":[0-9]*,"open_index_records":[0-9]*' "$d/svc.log")"
}

kill9() {
    kill -9 "$svc"
    wait "$svc" 2>/dev/null || true
    svc=
}

stop() {
    kill "$svc"
    wait "$svc" || true
    svc=
}

start "first start after gen"
stop
start "after a graceful stop"
kill9
start "after kill -9, the open index of the last stop kept"
kill9
rm -f "$d"/log/idx-*.open
start "after kill -9, no open index: the open segment re-indexed"

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
    "actor=nobody&action=GET&limit=100" \
    "actor=consumer-42&status=500&limit=100" \
    "actor=consumer-42&status=404&limit=100" \
    "from=$mid&to=$(( mid + 1000 ))&limit=100" \
    "from=$mid&to=$(( mid + 100000 ))&actor=consumer-42&limit=100"

# ---- 4. the event loop under appends ---------------------------------------

stop
rm -rf "$d/log"
DATA="$d/pause" TOLLGATE_AUDIT_SEGMENT_SIZE=8m start "appends"
perl -MHTTP::Tiny -MTime::HiRes=time,sleep -e '
    my ($port, $out) = @ARGV;
    my $http = HTTP::Tiny->new(keep_alive => 1);
    my @t;
    $SIG{TERM} = sub {
        @t = sort { $a <=> $b } @t;
        open my $fh, ">", $out or die;
        printf $fh "audit index: meanwhile GET /healthz (%d): p50 %.2f ms, "
               . "p99 %.2f ms, max %.2f ms\n", scalar @t,
               $t[@t / 2] * 1000, $t[int(@t * 0.99)] * 1000, $t[-1] * 1000;
        exit 0;
    };
    while (1) {
        my $t0 = time;
        $http->get("http://127.0.0.1:$port/healthz");
        push @t, time - $t0;
        sleep 0.005;
    }
' "$PORT" "$d/probe.txt" &
probe=$!
perl -MHTTP::Tiny -MTime::HiRes=time -e '
    my ($port, $n) = @ARGV;
    my $http = HTTP::Tiny->new(keep_alive => 1);
    my (@t, $k);
    while ($k < $n) {
        my $body = "[" . join(",", map {
            my $i = $k + $_;
            sprintf(q({"id":"p-%d","time":%d,"actor":"consumer-%d",)
                    . q("action":"GET","resource":"/api/items/%d",)
                    . q("status":200}), $i, 1700000000000 + $i,
                    $i % 10000, $i % 1000)
        } 0 .. 499) . "]";
        my $t0 = time;
        my $r = $http->post("http://127.0.0.1:$port/v1/audit/events",
                            { content => $body, headers =>
                              { "Content-Type" => "application/json" } });
        push @t, time - $t0;
        die "POST: $r->{status} $r->{content}\n" unless $r->{success};
        $k += 500;
    }
    @t = sort { $a <=> $b } @t;
    printf "audit index: %d events POSTed in batches of 500: request p50 "
           . "%.2f ms, p99 %.2f ms, max %.2f ms\n", $n,
           $t[@t / 2] * 1000, $t[int(@t * 0.99)] * 1000, $t[-1] * 1000;
' "$PORT" "$PAUSE_N"
kill "$probe"
wait "$probe" || true
cat "$d/probe.txt"
echo "audit index: during it $(ls "$d"/pause/seg-* | wc -l) segments (rollovers + 1), id table of $(( ($(stat -c %s "$d/pause/ids") - 4096) / 16 )) slots (grown from 1024)"
