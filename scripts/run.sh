#!/bin/sh
# `make run`: starts the platform in the foreground from conf/tollgate.conf,
# in a private run folder (./run: config copy, keys, logs, pid, temp files;
# nothing is written outside it), prints a demo token and what to try, and
# stops everything it started on Ctrl-C.
#
# Environment: TOLLGATE_PORT (default 8080), TOLLGATE_UPSTREAM_PORT (default
# port + 1), TOLLGATE_RUN (default ./run), NGINX (default /usr/sbin/nginx).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
port=${TOLLGATE_PORT:-8080}
up_port=${TOLLGATE_UPSTREAM_PORT:-$((port + 1))}
run=${TOLLGATE_RUN:-$top/run}
nginx=${NGINX:-/usr/sbin/nginx}
module="$top/build/ngx_http_gw_module.so"

[ -f "$module" ] || { echo "run: $module is missing: run make" >&2; exit 1; }

mkdir -p "$run/logs" "$run/tmp" "$run/modules" "$run/conf/demo/keys"
cp "$module" "$run/modules/"
cp "$top/conf/tollgate.conf" "$run/conf/"
cp "$top/conf/demo/"*.conf "$run/conf/demo/"
echo "listen 127.0.0.1:$port;" > "$run/conf/demo/listen.conf"
sed -i "s/127\.0\.0\.1:8081/127.0.0.1:$up_port/" \
    "$run/conf/tollgate.conf" "$run/conf/demo/upstream.conf"

keys="$run/conf/demo/keys"
if [ ! -f "$keys/demo.key" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$keys/demo.key" 2>/dev/null
    openssl pkey -in "$keys/demo.key" -pubout -out "$keys/demo.pem"
    chmod 600 "$keys/demo.key"
fi

now=$(date +%s)
token=$("$top/scripts/mint.sh" RS256 "$keys/demo.key" \
    "{\"iss\":\"https://tollgate.demo\",\"aud\":\"demo\",\"sub\":\"demo-user\",\"scope\":\"read\",\"iat\":$now,\"exp\":$((now + 3600))}" \
    demo)

"$nginx" -p "$run/" -c conf/tollgate.conf -t -q \
    || { echo "run: the configuration does not load" >&2; exit 1; }

pids=
stop() {
    trap - INT TERM EXIT
    [ -n "$pids" ] && kill $pids 2>/dev/null
    wait 2>/dev/null
    echo
    echo "Tollgate stopped."
}
trap stop INT TERM EXIT

"$nginx" -p "$run/" -c conf/tollgate.conf -g 'daemon off;' &
pids="$pids $!"

sleep 0.5

url="http://127.0.0.1:$port"
cat <<EOF

Tollgate is running on $url (logs in $run/logs).

Demo token (RS256, scope "read", valid one hour):

  TOKEN=$token

Try:

  curl -i $url/
  curl -i $url/api/hello                                   # 401, no token
  curl -i -H "Authorization: Bearer \$TOKEN" $url/api/hello  # 200
  curl -i -H "Authorization: Bearer \$TOKEN" $url/api/admin  # 403, needs scope admin
  curl -i -H "Authorization: Bearer \${TOKEN}x" $url/api/hello  # 401, invalid

Press Ctrl-C to stop.
EOF

wait
