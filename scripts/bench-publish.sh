#!/bin/bash
# The edge publisher's benchmark (docs/publish.md, "Performance"), for
# `make bench`: requests/s through one nginx with one worker of
#
#   /bare          a POST proxied to the upstream (the baseline), as
#                  scripts/bench-plugins.sh measures it
#   /publish       the same POST published by gw_publish to a topic of 4
#                  partitions (XADD MAXLEN ~ through the worker's
#                  asynchronous Redis client), answered 202
#
# target: /publish >= 0.80 of /bare.  The upstream is a server block of
# the same nginx; Redis is a private redis-server on a free port, with
# persistence off, in the run's own folder.  Before measuring, the
# answers are checked (200 and 202 with an id, the entry in its stream).
# Rounds alternate the order of the locations; each round's ratio to its
# baseline is kept and the median of those ratios is the figure, by req/s
# and by the worker's CPU time per request (user and system, /proc;
# steadier on a shared machine).
#
# Environment: ROUNDS (8), DUR (2s), CONNS (32), BODY (bytes of the JSON
# body, 256), PORT (18490; PORT to PORT+2 are used), NGINX
# (/usr/sbin/nginx), REDIS_SERVER (redis-server).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-8} DUR=${DUR:-2s} CONNS=${CONNS:-32} BODY=${BODY:-256}
PORT=${PORT:-18490}
nginx=${NGINX:-/usr/sbin/nginx}
redis_server=${REDIS_SERVER:-redis-server}
module="$top/build/ngx_http_gw_module.so"
UPORT=$((PORT + 1)) RPORT=$((PORT + 2))

[ -e "$module" ] || { echo "bench-publish: $module is missing: run make module" >&2; exit 1; }
for c in wrk curl perl redis-cli "$redis_server"; do
    command -v "$c" >/dev/null || { echo "bench-publish: $c is missing" >&2; exit 1; }
done

mkdir -p "$top/build"
d=$(mktemp -d "$top/build/bench-publish.XXXXXX")
redis_pid=
cleanup() {
    [ -f "$d/nginx.pid" ] && kill "$(cat "$d/nginx.pid")" 2>/dev/null
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null
    sleep 0.2
    rm -rf "$d"
}
trap cleanup EXIT
mkdir -p "$d/logs"
chmod 755 "$d"

"$redis_server" --port "$RPORT" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$d" --logfile "$d/logs/redis.log" &
redis_pid=$!
for i in $(seq 50); do
    redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done

cat > "$d/nginx.conf" <<EOC
load_module $module;
worker_processes 1;
error_log $d/logs/error.log warn;
pid $d/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    gw_redis 127.0.0.1:$RPORT;
    gw_redis_max_pending 4096;
    gw_topic bench partitions=4 maxlen=100000;
    upstream up { server 127.0.0.1:$UPORT; keepalive 64; }
    server {
        listen 127.0.0.1:$UPORT;
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:$PORT;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location = /bare { proxy_pass http://up; }
        location = /publish { gw_publish bench key=\$connection; }
    }
}
EOC

"$nginx" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log"
base="http://127.0.0.1:$PORT"
body=$(perl -e 'my $n = shift; my $s = q({"event":"bench","pad":"");
                print $s, "x" x ($n - length($s) - 2), q("})' "$BODY")
echo "$body" > "$d/body.json"
for i in $(seq 50); do
    curl -s -o /dev/null -d @"$d/body.json" "$base/bare" && break
    sleep 0.1
done

# the checks: /bare answers 200, /publish 202 with an id, and the entry
# holds the body
st=$(curl -s -o /dev/null -w '%{http_code}' -d @"$d/body.json" "$base/bare")
[ "$st" = 200 ] || { echo "bench-publish: /bare answered $st" >&2; exit 1; }
out=$(curl -s -w ' %{http_code}' -H 'Content-Type: application/json' \
      -d @"$d/body.json" "$base/publish")
case "$out" in
    '{"id":"bench:'*' 202') ;;
    *) echo "bench-publish: /publish answered $out" >&2; cat "$d/logs/error.log" >&2; exit 1 ;;
esac
p=$(echo "$out" | head -1 | sed 's/.*"partition":\([0-9]*\).*/\1/')
got=$(redis-cli -p "$RPORT" --raw XREVRANGE "gw:topic:bench:$p" + - COUNT 1 \
      | sed -n 3p)
[ "$got" = "$body" ] || { echo "bench-publish: the entry does not hold the body" >&2; exit 1; }

cat > "$d/post.lua" <<EOC
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$d/body.json")
wrk.body = f:read("*l")
f:close()
EOC

worker=$(pgrep -P "$(cat "$d/nginx.pid")" | head -1)
ticks() {
    awk '{ print $14 + $15 }' "/proc/$worker/stat"
}
hz=$(getconf CLK_TCK)
rps() {
    local t0 t1 out
    t0=$(ticks)
    out=$(wrk -t1 -c"$CONNS" -d"$DUR" -s "$d/post.lua" "$base$1")
    t1=$(ticks)
    echo "$out" | awk -v t="$((t1 - t0))" -v hz="$hz" '
        /requests in/ { n = $1 }
        /Non-2xx/ { bad = $NF }
        /^Requests\/sec/ { r = $2 }
        END { printf "%d:%.2f:%d", r, n ? t * 1e6 / hz / n : 0, bad }'
}

declare -A all
for round in $(seq "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then order="/bare /publish"; else order="/publish /bare"; fi
    for l in $order; do
        all[$l]="${all[$l]:-} $(rps "$l")"
    done
done

if grep -q '\[\(error\|crit\|alert\|emerg\)\]' "$d/logs/error.log"; then
    echo "bench-publish: errors in the log:" >&2
    grep '\[\(error\|crit\|alert\|emerg\)\]' "$d/logs/error.log" | head >&2
    exit 1
fi

len=0
for p in 0 1 2 3; do
    len=$((len + $(redis-cli -p "$RPORT" XLEN "gw:topic:bench:$p")))
done

{
    for l in /bare /publish; do echo "$l ${all[$l]}"; done
} | perl -e '
    my (%r, @order);
    while (<STDIN>) {
        my ($l, @v) = split;
        $r{$l} = [@v];
        push @order, $l;
    }
    sub median { my @s = sort { $a <=> $b } @_; $s[$#s / 2] }
    my (%rps, %cpu, %bad);
    for my $l (@order) {
        $rps{$l} = [map { (split /:/)[0] } @{ $r{$l} }];
        $cpu{$l} = [map { (split /:/)[1] } @{ $r{$l} }];
        $bad{$l} = 0;
        $bad{$l} += (split /:/)[2] for @{ $r{$l} };
    }
    printf "%-10s %8s %6s %8s %6s %6s   %s\n", "location", "req/s", "ratio",
        "cpu_us", "ratio", "non2xx", "req/s by round";
    for my $l (@order) {
        my @rr = map { $rps{$l}[$_] / $rps{"/bare"}[$_] } 0 .. $#{ $rps{$l} };
        my @cr = map { $cpu{$l}[$_] ? $cpu{"/bare"}[$_] / $cpu{$l}[$_] : 0 }
                 0 .. $#{ $cpu{$l} };
        printf "%-10s %8d %6.3f %8.2f %6.3f %6d   %s\n",
            $l, median(@{ $rps{$l} }), median(@rr), median(@{ $cpu{$l} }),
            median(@cr), $bad{$l}, "@{ $rps{$l} }";
    }
'
echo "(one nginx worker, wrk -t1 -c$CONNS, POST of $BODY bytes, $ROUNDS rounds x $DUR;"
echo " medians of each round's ratio to /bare, by req/s and by the worker's CPU"
echo " time a request; target: /publish >= 0.80; the streams hold $len entries,"
echo " capped at about 4 x 100000)"
