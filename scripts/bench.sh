#!/bin/bash
# `make bench`: requests/s of Tollgate's locations against bare nginx
# proxying to the same local upstream, all in one nginx and one run, with
# a private redis-server for API keys.  The
# variants alternate over ROUNDS rounds and the median of each is quoted,
# with its ratio to bare.  wrk runs on loopback only.
#
# /obs-on and /obs-off are the same proxied route with Prometheus
# metrics and the JSON access log (buffered) on, and with both off; their
# ratio is printed last (/obs-metrics and /obs-log, each alone, and
# /obs-combined, nginx's own "combined" log for reference, can be added
# to LOCS).
#
# Environment: ROUNDS (5), DUR (5s), CONNS (32), PORT (18180),
# NGINX (/usr/sbin/nginx), LOCS (the locations to measure).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-5} DUR=${DUR:-5s} CONNS=${CONNS:-32} PORT=${PORT:-18180}
nginx=${NGINX:-/usr/sbin/nginx}
LOCS=${LOCS:-"/bare /rs256-nocache /rs256 /hs256-nocache /hs256 /key /key-nocache /obs-off /obs-on"}
redis_server=${REDIS_SERVER:-redis-server}

d=$(mktemp -d "$top/build/bench.XXXXXX")
trap 'kill $(cat "$d/nginx.pid" "$d/redis.pid" 2>/dev/null) 2>/dev/null; rm -rf "$d"' EXIT
mkdir -p "$d/logs"

"$redis_server" --port $((PORT + 2)) --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$d" --pidfile "$d/redis.pid" --daemonize yes \
    --logfile "$d/logs/redis.log"
gwctl="$top/build/gwctl --redis 127.0.0.1:$((PORT + 2))"
for i in $(seq 50); do $gwctl consumer list >/dev/null 2>&1 && break; sleep 0.1; done
$gwctl consumer add bench >/dev/null
KEY=$($gwctl key create bench)

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
    -out "$d/rsa.key" 2>/dev/null
openssl pkey -in "$d/rsa.key" -pubout -out "$d/rsa.pem"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/hmac.secret"

now=$(date +%s)
claims="{\"iss\":\"https://issuer.test\",\"aud\":\"tollgate\",\"sub\":\"u1\",\"iat\":$now,\"exp\":$((now + 86400))}"
RS=$("$top/scripts/mint.sh" RS256 "$d/rsa.key" "$claims")
HS=$("$top/scripts/mint.sh" HS256 "$d/hmac.secret" "$claims")

jwt_loc() {
    cat <<EOF
        location = $1 {
            gw_jwt           bench;
            gw_jwt_key_file  $2;
            gw_jwt_issuer    https://issuer.test;
            gw_jwt_audience  tollgate;
            gw_jwt_cache     $3;
            proxy_pass       http://up;
        }
EOF
}

cat > "$d/nginx.conf" <<EOF
load_module $top/build/ngx_http_gw_module.so;
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
    gw_jwt_cache_zone 10m;
    gw_redis 127.0.0.1:$((PORT + 2));
    gw_metrics_zone 4m;
    gw_metrics off;
    include $top/conf/log-json.conf;
    upstream up { server 127.0.0.1:$((PORT + 1)); keepalive 64; }
    server { listen 127.0.0.1:$((PORT + 1)); location / { return 200 "ok\n"; } }
    server {
        listen 127.0.0.1:$PORT;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location = /bare { proxy_pass http://up; }
$(jwt_loc /rs256-nocache "$d/rsa.pem" off)
$(jwt_loc /rs256 "$d/rsa.pem" on)
$(jwt_loc /hs256-nocache "$d/hmac.secret format=hmac" off)
$(jwt_loc /hs256 "$d/hmac.secret format=hmac" on)
        location = /key { gw_key_auth bench; proxy_pass http://up; }
        location = /key-nocache {
            gw_key_auth bench;
            gw_key_auth_cache_ttl 0;
            proxy_pass http://up;
        }
        location = /obs-off { proxy_pass http://up; }
        location = /obs-on {
            gw_route bench;
            gw_metrics on;
            access_log $d/logs/access.log gw_json buffer=64k flush=1s;
            proxy_pass http://up;
        }
        location = /obs-metrics { gw_route bench-m; gw_metrics on; proxy_pass http://up; }
        location = /obs-log {
            access_log $d/logs/access-only.log gw_json buffer=64k flush=1s;
            proxy_pass http://up;
        }
        location = /obs-combined {
            access_log $d/logs/access-combined.log combined buffer=64k flush=1s;
            proxy_pass http://up;
        }
        location = /metrics { gw_metrics_endpoint; }
    }
}
EOF

"$nginx" -p "$d" -c "$d/nginx.conf" || { cat "$d/logs/error.log"; exit 1; }
sleep 0.5

# the credential header a location needs
auth_for() {
    case $1 in
    /rs256*) echo "Authorization: Bearer $RS" ;;
    /hs256*) echo "Authorization: Bearer $HS" ;;
    /key*) echo "X-API-Key: $KEY" ;;
    *) echo "X-None: none" ;;
    esac
}

for loc in $LOCS; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "$(auth_for "$loc")" \
           "http://127.0.0.1:$PORT$loc")
    if [ "$code" != 200 ]; then
        echo "bench: $loc answers $code, not 200" >&2
        exit 1
    fi
done

echo "bench: wrk -t1 -c$CONNS -d$DUR, $ROUNDS rounds, one nginx worker"

# the worker's time on a CPU (nanoseconds, /proc/PID/schedstat): CPU per
# request depends far less on what else the machine runs than requests/s
worker=$(pgrep -P "$(cat "$d/nginx.pid")" | head -1)
cpu() { awk '{ print $1 }' "/proc/$worker/schedstat"; }

declare -A res cpu_us
for ((i = 1; i <= ROUNDS; i++)); do
    for loc in $LOCS; do
        c0=$(cpu)
        out=$(wrk -t1 -c"$CONNS" -d"$DUR" -H "$(auth_for "$loc")" \
              "http://127.0.0.1:$PORT$loc")
        c1=$(cpu)
        if echo "$out" | grep -q 'Non-2xx'; then
            echo "bench: $loc had non-2xx answers" >&2
            exit 1
        fi
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        n=$(echo "$out" | awk '/requests in/ {print $1}')
        res[$loc]="${res[$loc]:-} $rps"
        cpu_us[$loc]="${cpu_us[$loc]:-} $(awk -v c=$((c1 - c0)) -v n="$n" \
            'BEGIN { printf "%.2f", c / 1000 / n }')"
    done
done

median() {
    tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {
        if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

base=$(echo "${res[/bare]}" | median)
printf '%-16s %12s %8s %9s   %s\n' location 'req/s' ratio 'cpu us/req' rounds
for loc in $LOCS; do
    m=$(echo "${res[$loc]}" | median)
    printf '%-16s %12.0f %8.3f %9.2f  %s\n' "$loc" "$m" \
        "$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')" \
        "$(echo "${cpu_us[$loc]}" | median)" "${res[$loc]}"
done

# metrics and logging: on against off, round by round and as medians
if [ -n "${res[/obs-on]:-}" ] && [ -n "${res[/obs-off]:-}" ]; then
    on=$(echo "${res[/obs-on]}" | median)
    off=$(echo "${res[/obs-off]}" | median)
    ratios=$(paste -d' ' <(echo "${res[/obs-on]}" | tr ' ' '\n' | grep .) \
                         <(echo "${res[/obs-off]}" | tr ' ' '\n' | grep .) \
             | awk '{ printf "%.3f ", $1 / $2 }')
    printf 'metrics+log on/off: %.3f (medians), per round: %s\n' \
        "$(awk -v a="$on" -v b="$off" 'BEGIN { print a / b }')" "$ratios"
    printf 'per-round median: %s\n' "$(echo "$ratios" | median)"
    con=$(echo "${cpu_us[/obs-on]}" | median)
    coff=$(echo "${cpu_us[/obs-off]}" | median)
    printf 'worker CPU per request on %s us, off %s us: off/on %.3f\n' \
        "$con" "$coff" "$(awk -v a="$coff" -v b="$con" 'BEGIN { print a / b }')"
    curl -s "http://127.0.0.1:$PORT/metrics" \
        | grep -E '^gw_http_requests_total\{route="bench"' || :
fi
