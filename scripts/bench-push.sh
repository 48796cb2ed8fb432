#!/bin/bash
# Push at the edge, measured (docs/push.md, "The bench"), for `make
# bench-push` and `make bench`: N EventSource subscribers of one
# broadcast channel, behind gw_key_auth and gw_push_authorize, on nginx
# with our transport (gw_push_subscribe, gw_push_publish) whose messages
# go through a private redis-server; a publisher posting RATE
# messages/s of BYTES bytes for SECS seconds to the publisher location.
# build/push/push_load opens the subscribers from 127.0.0.2, 127.0.0.3,
# ... (PER_SOURCE each), in several processes, and prints connections
# established and failed, delivered messages/s and the
# publish-to-delivery latency (p50, p99, max).  With NCHAN=1 the same
# run follows with nchan (libnginx-mod-nchan) as the transport, as the
# bench measured it before we had our own.
#
# Memory per connection: once every subscriber is connected (before the
# first publish), (the workers' RSS without shared pages + nchan's
# shared memory in use, from nchan_stub_status, for nchan) minus the
# same read with no subscriber, divided by the subscribers established.
#
# Limits: the script raises its open-files limit (and so the client's
# and nginx's) as far as the hard limit allows, sets nginx's
# worker_rlimit_nofile and worker_connections from it, widens
# net.ipv4.ip_local_port_range when that file is writable, and runs as
# many nginx workers as the limit needs (at least WORKERS, 2): each
# worker holds its share of the connections under its own limit.
#
# Baseline (unless BASELINE=0): nginx and Redis stopped, the same client
# with the same N, RATE, BYTES, SECS against build/push/push_raw
# (t/push/push_raw.c, the least server doing the transport's part: as
# many SO_REUSEPORT processes as nginx had workers, the same response
# and message framing) on PORT + 2; then each transport's messages/s
# and p99 beside the baseline's, and their ratio.  The platform's rule:
# a speed is a ratio to a baseline measured in the same run.
#
# Targets of the issue (Azure SignalR Unit50): 100,000 messages/s
# delivered, p99 <= 1 s.  Printed, never asserted.  Environment: N
# (50000), SECS (30), RATE (2), BYTES (1024), PER_SOURCE (20000),
# WORKERS (2), PORT (18600), BASELINE (1), NCHAN (0), NCHAN_MODULE
# (Debian's path).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-50000}
SECS=${SECS:-30}
RATE=${RATE:-2}
BYTES=${BYTES:-1024}
PER_SOURCE=${PER_SOURCE:-20000}
WORKERS=${WORKERS:-2}
PORT=${PORT:-18600}
BASELINE=${BASELINE:-1}
NCHAN=${NCHAN:-0}
NCHAN_MODULE=${NCHAN_MODULE:-/usr/lib/nginx/modules/ngx_nchan_module.so}
MODULE=${TEST_NGINX_LOAD_MODULES:-$top/build/ngx_http_gw_module.so}
NGINX=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
CLIENT=$top/build/push/push_load
RAW=$top/build/push/push_raw
GWCTL=$top/build/gwctl

echo "== push: $N EventSource subscribers, $RATE x $BYTES B/s for $SECS s"

if [ "$NCHAN" = 1 ] && [ ! -f "$NCHAN_MODULE" ]; then
    echo "nchan skipped: it is not installed ($NCHAN_MODULE;" \
         "apt-get install libnginx-mod-nchan)"
    NCHAN=0
fi

for f in "$MODULE" "$CLIENT" "$GWCTL" "$RAW"; do
    [ -e "$f" ] || { echo "bench-push: $f is missing (make)" >&2; exit 1; }
done

# the open-files limit: as high as allowed, then what it permits
want=$((N + 4096))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
    ulimit -n "$hard"
else
    ulimit -n "$want"
fi
nofile=$(ulimit -n)
per_worker=$((nofile - 512))
workers=$(( (N + per_worker - 1) / per_worker ))
[ "$workers" -ge "$WORKERS" ] || workers=$WORKERS
echo "open files: $nofile per process (hard limit $hard);" \
     "nginx workers: $workers"

# widened for the run, given back at the end
range=/proc/sys/net/ipv4/ip_local_port_range
range_was=$(cat "$range")
range_set=
if [ -w "$range" ] && echo "1024 65000" > "$range" 2>/dev/null; then
    range_set=1
    echo "ephemeral ports: $(cat $range) (was $range_was)"
else
    echo "ephemeral ports: $(cat $range) (not writable here)"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-bench-push-XXXXXX")
redis_pid=
raw_pid=
nginx_started=
stop_nginx() {
    [ -z "$nginx_started" ] || "$NGINX" -p "$dir/" -c "$dir/nginx.conf" \
        -s stop 2>/dev/null || true
    nginx_started=
}
cleanup() {
    stop_nginx
    [ -z "$redis_pid" ] || kill "$redis_pid" 2>/dev/null || true
    [ -z "$raw_pid" ] || kill "$raw_pid" 2>/dev/null || true
    [ -z "$range_set" ] || echo "$range_was" > "$range" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

rport=$((PORT + 1))

# start_redis: a fresh private redis-server, and the bench's key in it
start_redis() {
    redis-server --port "$rport" --bind 127.0.0.1 --save "" \
        --appendonly no --dir "$dir" --logfile "$dir/redis.log" &
    redis_pid=$!
    for _ in $(seq 100); do
        redis-cli -p "$rport" PING >/dev/null 2>&1 && break
        sleep 0.1
    done

    "$GWCTL" --redis "127.0.0.1:$rport" consumer add bench >/dev/null
    key=$("$GWCTL" --redis "127.0.0.1:$rport" key create bench |
          grep -o 'tg_[A-Za-z0-9_-]*' | head -1)
}

stop_redis() {
    [ -n "$redis_pid" ] || return 0
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=
}

# the locations of a transport: ours (gw_push_subscribe, gw_push_publish)
# or nchan's
locations() {
    if [ "$1" = ours ]; then
        cat <<EOF
        location ~ ^/push/(?<push_channel>[^/]*)\$ {
            gw_key_auth api;
            gw_key_auth_cache_ttl 600s;
            gw_push_authorize \$push_channel any;
            gw_push_subscribe \$push_channel history=20;
        }

        location ~ ^/pub/(?<pub_channel>[^/]*)\$ {
            allow 127.0.0.1;
            deny all;
            client_body_buffer_size 64k;
            gw_push_publish \$pub_channel history=20 ttl=60s;
        }
EOF
        return
    fi

    cat <<EOF
        location ~ ^/push/(?<push_channel>[^/]*)\$ {
            gw_key_auth api;
            gw_key_auth_cache_ttl 600s;
            gw_push_authorize \$push_channel any;
            nchan_subscriber eventsource;
            nchan_channel_id \$push_channel;
            nchan_redis_pass push_redis;
        }

        location ~ ^/pub/(?<pub_channel>[^/]*)\$ {
            allow 127.0.0.1;
            deny all;
            nchan_publisher;
            nchan_channel_id \$pub_channel;
            nchan_redis_pass push_redis;
            nchan_message_buffer_length 20;
            nchan_message_timeout 60s;
        }

        location = /nchan_status {
            allow 127.0.0.1;
            deny all;
            nchan_stub_status;
        }
EOF
}

# kB: the workers' RSS without shared pages, plus nchan's shared memory
# in use (0 without nchan)
cat > "$dir/mem.sh" <<'EOF'
#!/bin/bash
master=$(cat "$1/logs/nginx.pid")
rss=0
for pid in $(pgrep -P "$master"); do
    a=$(awk '/^RssAnon:/ {a=$2} /^RssFile:/ {f=$2} END {print a+f}' \
        "/proc/$pid/status")
    rss=$((rss + a))
done
shm=0
[ "$3" != nchan ] || shm=$(curl -s "http://127.0.0.1:$2/nchan_status" |
      awk -F': ' '/shared memory used/ {sub(/K/, "", $2); print int($2)}')
echo $((rss + ${shm:-0})) "$rss" "${shm:-0}"
EOF
chmod +x "$dir/mem.sh"

# run_nginx ours|nchan: Redis and nginx with that transport, the client,
# memory per connection; the client's output in $dir/<kind>.result
run_nginx() {
    kind=$1
    start_redis

    mkdir -p "$dir/logs" "$dir/tmp"
    : > "$dir/logs/error.log"
    {
        echo "load_module $MODULE;"
        [ "$kind" = ours ] || echo "load_module $NCHAN_MODULE;"
        cat <<EOF
worker_processes $workers;
worker_rlimit_nofile $nofile;
error_log $dir/logs/error.log error;
pid $dir/logs/nginx.pid;
events { worker_connections $per_worker; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;

    gw_redis 127.0.0.1:$rport;
EOF
        if [ "$kind" != ours ]; then
            cat <<EOF
    nchan_shared_memory_size 256m;

    upstream push_redis {
        nchan_redis_server redis://127.0.0.1:$rport;
    }
EOF
        fi
        cat <<EOF

    server {
        listen 127.0.0.1:$PORT reuseport backlog=4096;

$(locations "$kind")
    }
}
EOF
    } > "$dir/nginx.conf"

    # in the foreground of this session, as push_raw and the client
    # are: a daemon's setsid() would put nginx in a scheduling group of
    # its own (autogroup), weighed as one task against the client's
    # processes, and the client's wakeups would preempt it at every
    # write (measured: 0.78 of push_raw, p99 9 s; in one group, 1.0)
    "$NGINX" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/logs/error.log" \
        -g "daemon off;" &
    for _ in $(seq 100); do
        [ -s "$dir/logs/nginx.pid" ] && break
        sleep 0.1
    done
    nginx_started=1

    # 503 until the workers' Redis connections are up (nchan's, ours)
    for _ in $(seq 100); do
        code=$(curl -s -o /dev/null -w '%{http_code}' -d '{}' \
               "http://127.0.0.1:$PORT/pub/p.ready" || true)
        [ "$code" != 503 ] && [ "$code" != 000 ] && break
        sleep 0.1
    done
    sleep 1

    read -r base base_rss base_shm < <("$dir/mem.sh" "$dir" "$PORT" "$kind")
    export PUSH_LOAD_CONNECTED="$dir/mem.sh $dir $PORT $kind > $dir/mem.after"

    "$CLIENT" -p "$PORT" -n "$N" -d "$SECS" -r "$RATE" -b "$BYTES" \
        -s "$PER_SOURCE" -k "$key" | tee "$dir/$kind.result"
    unset PUSH_LOAD_CONNECTED

    read -r after after_rss after_shm < "$dir/mem.after"
    est=$(sed -n 's/.*RESULT established=\([0-9]*\).*/\1/p' \
          "$dir/$kind.result")
    if [ "${est:-0}" -gt 0 ]; then
        awk -v a="$after" -v b="$base" -v n="$est" -v ar="$after_rss" \
            -v br="$base_rss" -v as="$after_shm" -v bs="$base_shm" 'BEGIN {
            printf "memory: %.1f KiB per connection (workers %.1f, nchan " \
                   "shared memory %.1f; %d connections)\n",
                   (a - b) / n, (ar - br) / n, (as - bs) / n, n }'
    fi

    errors=$(grep -c '\[\(error\|crit\|alert\|emerg\)\]' \
             "$dir/logs/error.log" || true)
    echo "nginx error.log lines at [error] or above: $errors"
    grep -m 5 '\[\(error\|crit\|alert\|emerg\)\]' "$dir/logs/error.log" \
        || true

    # the next run gets the cores nginx and Redis had
    master=$(cat "$dir/logs/nginx.pid")
    stop_nginx
    stop_redis
    while kill -0 "$master" 2>/dev/null; do sleep 0.1; done
}

echo "== ours: gw_push_subscribe / gw_push_publish, $workers workers"
run_nginx ours

if [ "$NCHAN" = 1 ]; then
    echo "== nchan: the same load, $workers workers"
    run_nginx nchan
fi

[ "$BASELINE" != 0 ] || exit 0

# the baseline, on the cores nginx and Redis had
raw_port=$((PORT + 2))
echo "== baseline: push_raw, $workers processes, the same client and load"
"$RAW" -p "$raw_port" -w "$workers" 2> "$dir/raw.log" &
raw_pid=$!
for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}' \
           "http://127.0.0.1:$raw_port/" || true)
    [ "$code" != 000 ] && break
    sleep 0.1
done

"$CLIENT" -p "$raw_port" -n "$N" -d "$SECS" -r "$RATE" -b "$BYTES" \
    -s "$PER_SOURCE" -k "$key" | tee "$dir/raw.result"

kill "$raw_pid" 2>/dev/null || true
wait "$raw_pid" 2>/dev/null || true
raw_pid=
cat "$dir/raw.log"

# "rate=... p99_ms=..." of a RESULT line
field() {
    sed -n "s/^RESULT .*[ ]$2=\([-0-9]*\).*/\1/p" "$1"
}

# ratio KIND: its messages/s and p99 beside the baseline's
ratio() {
    awk -v k="$1" -v nr="$(field "$dir/$1.result" rate)" \
        -v rr="$(field "$dir/raw.result" rate)" \
        -v np="$(field "$dir/$1.result" p99_ms)" \
        -v rp="$(field "$dir/raw.result" p99_ms)" 'BEGIN {
        printf "== %s / raw: messages/s %d / %d = %s; p99 %d ms / %d ms" \
               " = %s (p99 -1: beyond 30 s)\n", k, nr, rr,
               (rr > 0 ? sprintf("%.2f", nr / rr) : "-"), np, rp,
               (rp > 0 ? sprintf("%.1f", np / rp) : "-") }'
}

ratio ours
[ "$NCHAN" != 1 ] || ratio nchan
