#!/bin/bash
# gw_router's end-to-end benchmark (docs/routing.md, "gw_router"), for
# `make bench`: requests/s of a location routing by gw_router among
# ROUTES routes of the admin API, against a plain static location
# proxying to the same upstream, in one nginx with one worker.
#
# A private redis-server and build/backends/metadata (anonymous write
# access, log level error) hold the routes: one PUT /v1/config of ROUTES
# routes (a third exact "/api/e<i>", a third prefix "/api/p<i>/*", a
# third templated "/api/t<i>/{id}"), all to one upstream, the nginx
# server block that answers 200 on UPORT.  The gateway follows the
# metadata service (gw_config) and serves:
#
#   :PORT      location / { proxy_pass http://up; }            (static)
#   :PORT+1    location / { gw_router; proxy_pass http://up; }  (router)
#   :PORT+5    location / { gw_router; proxy_pass http://gw_dynamic; }
#              with upstream gw_dynamic { gw_upstream; keepalive 64; }:
#              the route's own upstream, balanced (router + balancer)
#
# wrk requests the same 1,000 paths (every kind, spread over the routes)
# on both, through the same script.  The two alternate over ROUNDS rounds
# (static then router, then router then static...); each round's ratio
# router/static is kept, and the median of those ratios is the figure
# (target >= 0.95), with each variant's median req/s.
#
# Environment: ROUNDS (5), DUR (5s), CONNS (32), PORT (18380; PORT to
# PORT+5 are used), ROUTES (10000), NGINX (/usr/sbin/nginx).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-5} DUR=${DUR:-5s} CONNS=${CONNS:-32} PORT=${PORT:-18380}
ROUTES=${ROUTES:-10000}
nginx=${NGINX:-/usr/sbin/nginx}
metadata="$top/build/backends/metadata"
module="$top/build/ngx_http_gw_module.so"
RPORT=$((PORT + 2)) MPORT=$((PORT + 3)) UPORT=$((PORT + 4))

for b in "$metadata" "$module"; do
    [ -e "$b" ] || { echo "bench-gw-router: $b is missing: run make module backends" >&2; exit 1; }
done
for c in wrk redis-server redis-cli curl perl; do
    command -v $c >/dev/null || { echo "bench-gw-router: $c is missing" >&2; exit 1; }
done

mkdir -p "$top/build"
d=$(mktemp -d "$top/build/bench-gw-router.XXXXXX")
svc= rds=
cleanup() {
    [ -f "$d/nginx.pid" ] && kill "$(cat "$d/nginx.pid")" 2>/dev/null
    [ -n "$svc" ] && kill "$svc" 2>/dev/null && wait "$svc" 2>/dev/null
    [ -n "$rds" ] && kill "$rds" 2>/dev/null && wait "$rds" 2>/dev/null
    sleep 0.2
    rm -rf "$d"
}
trap cleanup EXIT
mkdir -p "$d/logs"
chmod 755 "$d"

redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$d" >"$d/redis.log" 2>&1 &
rds=$!
for i in $(seq 50); do
    redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done

api="http://127.0.0.1:$MPORT"
TOLLGATE_METADATA_LISTEN="127.0.0.1:$MPORT" \
TOLLGATE_METADATA_REDIS="127.0.0.1:$RPORT" \
TOLLGATE_METADATA_ANONYMOUS_ROLE=write TOLLGATE_METADATA_LOG_LEVEL=error \
TOLLGATE_METADATA_BODY_MAX=64m \
    "$metadata" 2>"$d/metadata.log" &
svc=$!
for i in $(seq 100); do
    curl -sf "$api/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done

# the routes, and the paths wrk asks for (the same list for both)
perl -e '
    my ($n, $up) = @ARGV;
    my @r;
    for my $i (0 .. $n - 1) {
        my $p = $i % 3 == 0 ? "/api/e$i" : $i % 3 == 1 ? "/api/p$i/*"
                                                       : "/api/t$i/{id}";
        push @r, "{\"id\":\"r$i\",\"paths\":[\"$p\"],\"upstream\":\"up\"}";
    }
    print "{\"expected_revision\":0,\"entities\":{\"upstreams\":[",
          "{\"id\":\"up\",\"targets\":[{\"address\":\"127.0.0.1:$up\"}]}],",
          "\"routes\":[", join(",", @r), "]}}";
' "$ROUTES" "$UPORT" > "$d/config.json"

perl -e '
    my ($n) = @ARGV;
    my @p;
    for my $k (0 .. 999) {
        my $i = int($k * $n / 1000);
        push @p, $i % 3 == 0 ? "/api/e$i" : $i % 3 == 1 ? "/api/p$i/x/y"
                                                        : "/api/t$i/42";
    }
    print "local paths = {", join(",", map { "\"$_\"" } @p), "}\n";
    print <<'\''LUA'\'';
local i = 0
function request()
    i = i % #paths + 1
    return wrk.format("GET", paths[i])
end
LUA
' "$ROUTES" > "$d/paths.lua"

st=$(curl -s -o "$d/apply.out" -w '%{http_code}' -X PUT \
     -H 'Content-Type: application/json' --data-binary @"$d/config.json" \
     "$api/v1/config")
[ "$st" = 200 ] || { echo "bench-gw-router: PUT /v1/config: $st $(cat "$d/apply.out")" >&2; exit 1; }

cat > "$d/nginx.conf" <<EOF
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
    gw_config zone=gw_config:64m;
    upstream up { server 127.0.0.1:$UPORT; keepalive 64; }
    upstream gw_dynamic { gw_upstream; keepalive 64; }
    server {
        listen 127.0.0.1:$PORT;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://up;
        }
    }
    server {
        listen 127.0.0.1:$((PORT + 1));
        location / {
            gw_router;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://up;
        }
        location = /gw/config { gw_config_status; }
    }
    server {
        listen 127.0.0.1:$((PORT + 5));
        location / {
            gw_router;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://gw_dynamic;
        }
    }
    server {
        listen 127.0.0.1:$UPORT;
        location / { return 200 "ok\n"; }
    }
}
EOF
"$nginx" -p "$d/" -c "$d/nginx.conf" -e "$d/logs/error.log"

# the gateway serves every route once its snapshot has them
last=$(perl -e '
    my $i = $ARGV[0] - 1;
    print $i % 3 == 0 ? "/api/e$i" : $i % 3 == 1 ? "/api/p$i/x" : "/api/t$i/1";
' "$ROUTES")
for i in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((PORT + 1))$last")" = 200 ] && break
    sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((PORT + 1))$last")" = 200 ] \
    || { echo "bench-gw-router: the gateway does not serve $last" >&2; cat "$d/logs/error.log" >&2; exit 1; }

# run PORT: one wrk run, "rps non2xx"
run() {
    wrk -t1 -c"$CONNS" -d"$DUR" -s "$d/paths.lua" "http://127.0.0.1:$1" \
    | awk '/^Requests\/sec:/ { rps = $2 }
           /Non-2xx/ { bad = $NF }
           END { printf "%d %d\n", rps, bad }'
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "bench-gw-router: $ROUTES routes, wrk -t1 -c$CONNS -d$DUR, $ROUNDS rounds, one nginx worker"
s_all= r_all= b_all= ratios= bratios= bad=0
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="s r b"; else order="b r s"; fi
    for v in $order; do
        case $v in
        s) set -- $(run "$PORT"); s=$1 ;;
        r) set -- $(run "$((PORT + 1))"); rr=$1 ;;
        b) set -- $(run "$((PORT + 5))"); bb=$1 ;;
        esac
        bad=$((bad + $2))
    done
    s_all="$s_all $s" r_all="$r_all $rr" b_all="$b_all $bb"
    ratios="$ratios $(awk -v a="$rr" -v b="$s" 'BEGIN { printf "%.3f", a / b }')"
    bratios="$bratios $(awk -v a="$bb" -v b="$s" 'BEGIN { printf "%.3f", a / b }')"
done

printf 'static location: %s req/s (rounds:%s)\n' "$(echo $s_all | median)" "$s_all"
printf 'gw_router, %s routes: %s req/s (rounds:%s)\n' "$ROUTES" "$(echo $r_all | median)" "$r_all"
printf 'gw_router + gw_upstream, %s routes: %s req/s (rounds:%s)\n' "$ROUTES" "$(echo $b_all | median)" "$b_all"
printf 'gw_router / static: %s (median of the rounds'"'"' ratios:%s; target >= 0.95; non-2xx: %d)\n' \
    "$(echo $ratios | median)" "$ratios" "$bad"
printf 'gw_router + gw_upstream / static: %s (median of the rounds'"'"' ratios:%s)\n' \
    "$(echo $bratios | median)" "$bratios"
curl -s "http://127.0.0.1:$((PORT + 1))/gw/config"; echo
