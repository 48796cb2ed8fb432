#!/bin/bash
# The notification service's webhook benchmark (docs/notification.md,
# "Figures"), for `make bench`: one build/backends/notification, a
# private redis-server (AOF on, fsync every second, as in production), and
# a local receiver: one nginx worker answering 204 to every POST.  Every
# process on loopback, on the same 2 cores.
#
#   1. the raw limit: wrk POSTing a delivery-sized signed body straight to
#      the receiver with CONC connections (what the service may keep in
#      flight to one endpoint): requests/s;
#   2. deliveries/s: N webhook notifications put on the stream gw:ntf:in
#      at once (redis-cli --pipe; the way the other services send them),
#      accepted by the service as it reads them (each fans out to the one
#      subscription of its owner: one delivery each), delivered, signed,
#      to the receiver with webhook_concurrency = CONC; the time runs from
#      the first XADD to the moment gw_ntf_delivered_total reaches N
#      (polled every 50 ms); and its ratio to the raw limit;
#   3. the API's latency at a stated load: POST /v1/notifications from 4
#      connections for SECS s while the deliveries run: accepts/s and
#      wrk's p50 and p99 (the platform's promise: p99 < 50 ms).
#
# The results are checked: every accepted notification delivered, none
# dead, the receiver's log holding as many requests.  Printed, never
# asserted.  Environment: N (20000, the notifications of step 2),
# SECS (10), CONC ("8 64": the default per-endpoint limit and a wider
# one), PORT (18450; PORT to PORT+2 are used), NGINX (/usr/sbin/nginx),
# REDIS_SERVER (redis-server).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-20000} SECS=${SECS:-10} CONC=${CONC:-8 64} PORT=${PORT:-18450}
nginx=${NGINX:-/usr/sbin/nginx}
redis_server=${REDIS_SERVER:-redis-server}
svc_bin="$top/build/backends/notification"
RPORT=$((PORT + 1)) SPORT=$((PORT + 2))

[ -x "$svc_bin" ] || { echo "bench-notification: $svc_bin is missing: run make backends" >&2; exit 1; }
for c in wrk curl redis-cli openssl "$redis_server"; do
    command -v "$c" >/dev/null || { echo "bench-notification: $c is missing" >&2; exit 1; }
done

mkdir -p "$top/build"
d=$(mktemp -d "$top/build/bench-notification.XXXXXX")
svc= rds= ngx=
cleanup() {
    [ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
    [ -n "$ngx" ] && kill "$ngx" 2>/dev/null && wait "$ngx" 2>/dev/null
    [ -n "$rds" ] && kill "$rds" 2>/dev/null && wait "$rds" 2>/dev/null
    rm -rf "$d"
}
trap cleanup EXIT

# the receiver: one worker, every POST answered 204 and counted in its log
mkdir -p "$d/nginx/logs"
cat > "$d/nginx/nginx.conf" <<CONF
worker_processes 1;
error_log logs/error.log error;
pid logs/nginx.pid;
events { worker_connections 4096; }
http {
    log_format n '\$request_method';
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        keepalive_requests 1000000;
        location /hook { access_log logs/hook.log n; return 204; }
    }
}
CONF
"$nginx" -p "$d/nginx/" -c nginx.conf -g 'daemon off;' &
ngx=$!

"$redis_server" --port "$RPORT" --bind 127.0.0.1 --save '' \
    --appendonly yes --appendfsync everysec --dir "$d" \
    >"$d/redis.log" 2>&1 &
rds=$!
for i in $(seq 50); do
    redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done

openssl rand -hex 32 > "$d/secret.key"
chmod 600 "$d/secret.key"

# conc: start the service with that per-endpoint limit, subscribe owner
# "bench" to the receiver
start_svc() {
    TOLLGATE_NOTIFICATION_LISTEN="127.0.0.1:$SPORT" \
    TOLLGATE_NOTIFICATION_REDIS="127.0.0.1:$RPORT" \
    TOLLGATE_NOTIFICATION_SECRET_KEY_FILE="$d/secret.key" \
    TOLLGATE_NOTIFICATION_WEBHOOK_ALLOW="127.0.0.1/32:$PORT" \
    TOLLGATE_NOTIFICATION_WEBHOOK_CONCURRENCY="$1" \
    TOLLGATE_NOTIFICATION_LOG_LEVEL=warn \
        "$svc_bin" 2>>"$d/svc.log" &
    svc=$!
    for i in $(seq 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$SPORT/readyz" && break
        sleep 0.1
    done
    curl -sf -o /dev/null -X POST -H 'X-Consumer-ID: bench' \
        -H 'Content-Type: application/json' \
        -d "{\"url\":\"http://127.0.0.1:$PORT/hook\",\"event_types\":[\"*\"]}" \
        "http://127.0.0.1:$SPORT/v1/subscriptions" \
        || { echo "bench-notification: cannot subscribe" >&2; exit 1; }
}

stop_svc() {
    kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
    svc=
}

metric() {
    curl -s "http://127.0.0.1:$SPORT/metrics" \
        | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}

now_ms() { date +%s%3N; }

body='{"channel":"webhook","type":"invoice.paid","body":{"data":{"invoice":"in_0001","customer":"cus_0001","total":4200,"currency":"EUR","lines":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]}}}'

cat > "$d/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Consumer-ID"] = "bench"
LUA

# N XADDs to gw:ntf:in in the RESP protocol, for redis-cli --pipe
BODY="$body" N="$N" perl -e '
    my $j = $ENV{BODY};
    $j =~ s/^\{/{"owner":"bench",/;
    my @a = ("XADD", "gw:ntf:in", "*", "notification", $j);
    my $cmd = "*" . @a . "\r\n"
              . join("", map { "\$" . length($_) . "\r\n$_\r\n" } @a);
    print $cmd x $ENV{N};
' > "$d/entries.resp"

# the raw limit's body: what a delivery sends, with its three headers
cat > "$d/raw.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"type":"invoice.paid","timestamp":"2026-12-07T00:00:00.000Z","data":{"invoice":"in_0001","customer":"cus_0001","total":4200,"currency":"EUR","lines":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}]}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "ntf_01M96ZZZZZZZZZZZZZZZZZZZZZ.0"
wrk.headers["webhook-timestamp"] = "1796600000"
wrk.headers["webhook-signature"] = "v1,IGfu7UGJWGtUYOI5sjtr15D0K+YShWSHCIy6REwiUww="
LUA

echo "== notification: webhooks to a local receiver (N=$N, SECS=$SECS)"

for conc in $CONC; do
    raw=$(wrk -t1 -c"$conc" -d"${SECS}s" -s "$d/raw.lua" \
              "http://127.0.0.1:$PORT/hook" \
          | awk '/^Requests\/sec/ { print int($2) }')

    redis-cli -p "$RPORT" flushall >/dev/null
    : > "$d/nginx/logs/hook.log"
    start_svc "$conc"

    # step 2: N notifications onto gw:ntf:in at once (the stream other
    # services use), accepted by the service as it reads them; the time
    # from the first XADD to the last delivery
    t0=$(now_ms)
    redis-cli -p "$RPORT" --pipe < "$d/entries.resp" >/dev/null
    accepted=0 delivered=0
    for i in $(seq 12000); do
        accepted=$(metric 'gw_ntf_accepted_total{channel="webhook"}')
        delivered=$(metric 'gw_ntf_delivered_total{channel="webhook"}')
        [ "${delivered%.*}" -ge "$N" ] && break
        sleep 0.05
    done
    t1=$(now_ms)
    dead=$(metric 'gw_ntf_dead_total{channel="webhook"}')
    got=$(grep -c POST "$d/nginx/logs/hook.log" || :)
    rate=$(( ${delivered%.*} * 1000 / (t1 - t0 > 0 ? t1 - t0 : 1) ))

    # step 3: the API's latency while deliveries run
    lat=$(wrk -t2 -c4 -d"${SECS}s" --latency -s "$d/post.lua" \
              "http://127.0.0.1:$SPORT/v1/notifications")
    rps=$(echo "$lat" | awk '/^Requests\/sec/ { print int($2) }')
    p50=$(echo "$lat" | awk '$1 == "50%" { print $2 }')
    p99=$(echo "$lat" | awk '$1 == "99%" { print $2 }')
    stop_svc

    printf 'webhook_concurrency %s:\n' "$conc"
    printf '  raw receiver        %8d requests/s (wrk, %d connections)\n' \
        "$raw" "$conc"
    printf '  deliveries          %8d /s  (%s accepted, %s delivered, %s dead, %s received; %d ms)  ratio %s\n' \
        "$rate" "${accepted%.*}" "${delivered%.*}" "${dead%.*}" "$got" \
        $((t1 - t0)) "$(awk -v a="$rate" -v b="$raw" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
    printf '  POST /v1/notifications  %6d /s at 4 connections, p50 %s, p99 %s\n' \
        "$rps" "$p50" "$p99"
done
