#!/bin/sh
# `make run`: starts the platform in the foreground from conf/tollgate.conf,
# in a private run folder (./run: config copy, keys, logs, pid, temp files,
# a private redis-server on loopback; nothing is written outside it),
# creates a demo consumer and API key with gwctl, starts the audit,
# identity and metadata services, creates a demo OAuth 2.0 client and a
# demo admin client, prints a demo token, the key, the clients' ids and
# secrets and what to try (the admin API through the gateway included),
# puts the demo's dynamic routes through the admin API, and stops
# everything it started on Ctrl-C.
#
# Environment: TOLLGATE_PORT (default 8080), TOLLGATE_UPSTREAM_PORT (default
# port + 1), TOLLGATE_REDIS_PORT (default port + 2), TOLLGATE_ADMIN_PORT
# (metrics and readiness, default port + 3), TOLLGATE_RUN (default ./run),
# NGINX (default /usr/sbin/nginx), REDIS_SERVER (redis-server),
# TOLLGATE_AUDIT_PORT (default port + 4: the audit service, its data and
# signer key under ./run/audit), TOLLGATE_IDENTITY_PORT (default port + 5:
# the identity service, its pepper and key-encryption key under
# ./run/identity), TOLLGATE_METADATA_PORT (default port + 6: the metadata
# service, the admin API, behind the gateway's /admin/; its configuration
# under ./run/metadata), TOLLGATE_PROCESSING_PORT (default port + 7: the
# processing service, its demo pipeline and SQLite file under
# ./run/processing), TOLLGATE_NOTIFICATION_PORT (default port + 8: the
# notification service, its master key under ./run/notification),
# TOLLGATE_SMTP_PORT (default port + 9: the demo's SMTP receiver, Debian's
# python3-aiosmtpd, every message it takes a file in ./run/mail/new),
# TOLLGATE_WORKFLOW_PORT (default port + 10: the workflow service, its
# task-token key under ./run/workflow, the demo's definition "order"
# from conf/demo/workflow-order.json).

set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
port=${TOLLGATE_PORT:-8080}
up_port=${TOLLGATE_UPSTREAM_PORT:-$((port + 1))}
redis_port=${TOLLGATE_REDIS_PORT:-$((port + 2))}
admin_port=${TOLLGATE_ADMIN_PORT:-$((port + 3))}
run=${TOLLGATE_RUN:-$top/run}
nginx=${NGINX:-/usr/sbin/nginx}
module="$top/build/ngx_http_gw_module.so"
gwctl="$top/build/gwctl"
redis_server=${REDIS_SERVER:-redis-server}
audit_port=${TOLLGATE_AUDIT_PORT:-$((port + 4))}
audit="$top/build/backends/audit"
id_port=${TOLLGATE_IDENTITY_PORT:-$((port + 5))}
identity="$top/build/backends/identity"
md_port=${TOLLGATE_METADATA_PORT:-$((port + 6))}
metadata="$top/build/backends/metadata"
proc_port=${TOLLGATE_PROCESSING_PORT:-$((port + 7))}
processing="$top/build/backends/processing"
ntf_port=${TOLLGATE_NOTIFICATION_PORT:-$((port + 8))}
notification="$top/build/backends/notification"
smtp_port=${TOLLGATE_SMTP_PORT:-$((port + 9))}
wf_port=${TOLLGATE_WORKFLOW_PORT:-$((port + 10))}
workflow="$top/build/backends/workflow"

for f in "$module" "$gwctl"; do
    [ -x "$f" ] || [ -f "$f" ] || { echo "run: $f is missing: run make" >&2; exit 1; }
done

mkdir -p "$run/logs" "$run/tmp" "$run/modules" "$run/conf/demo/keys" \
    "$run/redis"
cp "$module" "$run/modules/"
cp "$top/conf/tollgate.conf" "$top/conf/log-json.conf" "$run/conf/"
cp "$top/conf/demo/"*.conf "$top/conf/demo/"*.json "$run/conf/demo/"

# the Lua plugins (demo/plugins.conf): the shipped ones, and the demo's
# own greeting plugin beside them, to edit while the gateway runs
rm -rf "$run/plugins"
cp -R "$top/plugins" "$run/plugins"
cat > "$run/plugins/greeting.lua" <<'EOF'
-- The demo's own plugin (docs/plugins.md): edit the greeting below while
-- Tollgate runs; every worker picks the change up within a second, with
-- no reload.
local P = { priority = 10 }

function P.header_filter(conf, ctx)
    gw.resp.set_header("X-Greeting", "hello")
end

return P
EOF
echo '{"type": "object", "additionalProperties": false}' \
    > "$run/plugins/greeting.schema.json"
echo "listen 127.0.0.1:$port;" > "$run/conf/demo/listen.conf"
echo "listen 127.0.0.1:$admin_port;" > "$run/conf/demo/admin-listen.conf"
redis="127.0.0.1:$redis_port"
echo "gw_redis $redis;" > "$run/conf/demo/redis.conf"
sed -i "s/127\.0\.0\.1:8081/127.0.0.1:$up_port/" \
    "$run/conf/tollgate.conf" "$run/conf/demo/upstream.conf"
sed -i -e "s/127\.0\.0\.1:8085/127.0.0.1:$id_port/" \
    -e "s/127\.0\.0\.1:8086/127.0.0.1:$md_port/" "$run/conf/demo/gateway.conf"
sed -i -e "s/127\.0\.0\.1:8088/127.0.0.1:$ntf_port/" \
    "$run/conf/demo/notification.conf"
sed -i -e "s/127\.0\.0\.1:8090/127.0.0.1:$wf_port/" \
    "$run/conf/demo/workflow.conf"
sed -i -e "s/127\.0\.0\.1:8081/127.0.0.1:$up_port/" \
    "$run/conf/demo/workflow-order.json"

# ---- reporting (issue 21; the service starts at the end) -------------
# TOLLGATE_REPORTING_PORT (default port + 11: the reporting service, its
# spool and secret key under ./run/reporting), behind the gateway's
# /reports/ (conf/demo/reporting.conf)
rp_port=${TOLLGATE_REPORTING_PORT:-$((port + 11))}
sed -i -e "s/127\.0\.0\.1:8091/127.0.0.1:$rp_port/" \
    "$run/conf/demo/reporting.conf"
# ---- end of reporting ------------------------------------------------

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

# Redis: private, on loopback (nginx's workers run as another user, so a
# root-owned unix socket would shut them out), data kept in the run folder
# Its own session: Ctrl-C reaches the whole terminal group, and Redis
# takes a second signal (the trap's TERM) as "exit now, skip the clean
# shutdown"; this way only the trap stops it, once, cleanly.
setsid "$redis_server" --port "$redis_port" --bind 127.0.0.1 --dir "$run/redis" \
    --appendonly yes --save '' --pidfile "$run/redis/redis.pid" \
    --logfile "$run/logs/redis.log" --daemonize no &
pids="$pids $!"

i=0
until "$gwctl" --redis "$redis" consumer list >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 50 ]; then
        echo "run: redis-server did not start (see $run/logs/redis.log)" >&2
        exit 1
    fi
    sleep 0.1
done

"$gwctl" --redis "$redis" consumer add demo --name "Demo consumer" \
    --plan basic >/dev/null 2>&1 || :
key=$("$gwctl" --redis "$redis" key create demo --expires 1d)

# The identity service (docs/identity.md): its own session, like Redis;
# its pepper (client secrets' HMAC key) and key-encryption key (its signing
# keys at rest in Redis) made once.  Started before nginx, which waits
# for it 5 seconds at most: a gateway without the JWKS answers 503 on /svc/
# until it has it.
id_url="http://127.0.0.1:$id_port"
if [ -x "$identity" ]; then
    mkdir -p "$run/identity"
    chmod 700 "$run/identity"
    for f in pepper kek; do
        [ -s "$run/identity/$f" ] && continue
        (umask 077; openssl rand -out "$run/identity/$f.tmp" 32)
        mv "$run/identity/$f.tmp" "$run/identity/$f"
    done
    cat > "$run/identity/identity.conf" <<CONF
# written by scripts/run.sh at each start (docs/identity.md)
listen = 127.0.0.1:$id_port
redis = $redis
issuer = $id_url
pepper_file = $run/identity/pepper
kek_file = $run/identity/kek
CONF
    # TOLLGATE_IDENTITY_PORT is ours: the service refuses unknown
    # TOLLGATE_IDENTITY_* variables
    env -u TOLLGATE_IDENTITY_PORT \
        setsid "$identity" -c "$run/identity/identity.conf" \
        2>>"$run/logs/identity.log" &
    pids="$pids $!"
    i=0
    until [ $i -ge 50 ] || curl -sf -o /dev/null "$id_url/readyz"; do
        i=$((i + 1))
        sleep 0.1
    done
else
    id_url=
fi

# The metadata service (docs/admin-api.md): the admin API, on loopback,
# reached through the gateway's /admin/; its own session, like Redis.  It
# stores created clients' secrets under the identity service's pepper.
md_url="http://127.0.0.1:$md_port"
if [ -x "$metadata" ]; then
    mkdir -p "$run/metadata"
    {
        echo "# written by scripts/run.sh at each start (docs/admin-api.md)"
        echo "listen = 127.0.0.1:$md_port"
        echo "redis = $redis"
        if [ -s "$run/identity/pepper" ]; then
            echo "identity_pepper_file = $run/identity/pepper"
        fi
    } > "$run/metadata/metadata.conf"
    # TOLLGATE_METADATA_PORT is ours: the service refuses unknown
    # TOLLGATE_METADATA_* variables
    env -u TOLLGATE_METADATA_PORT \
        setsid "$metadata" -c "$run/metadata/metadata.conf" \
        2>>"$run/logs/metadata.log" &
    pids="$pids $!"
else
    md_url=
fi

"$nginx" -p "$run/" -c conf/tollgate.conf -g 'daemon off;' &
pids="$pids $!"

# The audit service (docs/audit.md): its own session, like Redis, so that
# only the trap's TERM stops it, gracefully; a signer key made once
audit_url="http://127.0.0.1:$audit_port"
if [ -x "$audit" ]; then
    mkdir -p "$run/audit"
    [ -f "$run/audit/audit.key" ] || "$audit" keygen tollgate.local/audit \
        "$run/audit/audit.key" >/dev/null
    TOLLGATE_AUDIT_LISTEN="127.0.0.1:$audit_port" \
    TOLLGATE_AUDIT_REDIS="$redis" TOLLGATE_AUDIT_DATA_DIR="$run/audit/data" \
    TOLLGATE_AUDIT_KEY_FILE="$run/audit/audit.key" \
        env -u TOLLGATE_AUDIT_PORT setsid "$audit" 2>>"$run/logs/audit.log" &
    pids="$pids $!"
else
    audit_url="(not built: run make backends)"
fi

# The processing service (docs/processing.md): the demo pipeline reads
# the events /events publishes, counts them and sums their amounts per
# consumer and minute (of publish time), and writes each minute, once it
# is over, into run/processing/demo.db, exactly once
proc_url="http://127.0.0.1:$proc_port"
if [ -x "$processing" ]; then
    mkdir -p "$run/processing/pipelines"
    cat > "$run/processing/pipelines/per-minute.json" <<JSON
{
    "name": "per-minute",
    "description": "the demo's events per consumer and minute",
    "source": {"topic": "events", "partitions": 2},
    "steps": [
        {"type": "map", "name": "amount",
         "lua": "return function (rec) rec.amount = tonumber(rec.amount) or 0; return rec end"}
    ],
    "window": {"type": "tumbling", "size": "1m",
               "aggregate": [{"op": "count", "as": "events"},
                             {"op": "sum", "field": "/amount", "as": "amount"}]},
    "sinks": [
        {"type": "sqlite", "path": "$run/processing/demo.db",
         "table": "per_minute", "create": true,
         "columns": {"consumer": "/key", "minute": "/start",
                     "events": "/events", "amount": "/amount"},
         "types": {"consumer": "text", "minute": "integer",
                   "events": "integer", "amount": "real"},
         "key": ["consumer", "minute"]}
    ]
}
JSON
    cat > "$run/processing/processing.conf" <<CONF
# written by scripts/run.sh at each start (docs/processing.md)
listen = 127.0.0.1:$proc_port
redis = $redis
pipelines = $run/processing/pipelines
instance = demo
CONF
    env -u TOLLGATE_PROCESSING_PORT \
        setsid "$processing" -c "$run/processing/processing.conf" \
        2>>"$run/logs/processing.log" &
    pids="$pids $!"
else
    proc_url="(not built: run make backends)"
fi

# The demo's SMTP receiver (Debian's python3-aiosmtpd): every message
# the notification service sends a file in run/mail/new
mkdir -p "$run/mail/tmp" "$run/mail/new" "$run/mail/cur"
smtp=
if /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
    setsid /usr/bin/python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" \
        -c aiosmtpd.handlers.Mailbox "$run/mail" \
        2>>"$run/logs/smtp.log" &
    pids="$pids $!"
    smtp="smtp://127.0.0.1:$smtp_port"
fi

# The notification service (docs/notification.md): webhooks (the demo
# receiver on the upstream port is allowed, as an operator names a
# private receiver in webhook_allow), email to the demo's SMTP receiver
# (plain SMTP on loopback, smtp_tls off: for the demo only) and push
# through the gateway's publisher on the admin port; its master key, which
# encrypts the webhook secrets in Redis, made once
ntf_url="http://127.0.0.1:$ntf_port"
if [ -x "$notification" ]; then
    mkdir -p "$run/notification"
    chmod 700 "$run/notification"
    if [ ! -s "$run/notification/secret.key" ]; then
        (umask 077; openssl rand -hex 32 > "$run/notification/secret.key")
    fi
    {
        echo "# written by scripts/run.sh at each start (docs/notification.md)"
        echo "listen = 127.0.0.1:$ntf_port"
        echo "redis = $redis"
        echo "instance = demo"
        echo "secret_key_file = $run/notification/secret.key"
        echo "webhook_allow = 127.0.0.1/32:$up_port"
        echo "push_url = http://127.0.0.1:$admin_port/pub"
        if [ -n "$smtp" ]; then
            echo "smtp_url = $smtp"
            echo "smtp_tls = off"
            echo "smtp_from = tollgate@demo.example"
        fi
    } > "$run/notification/notification.conf"
    env -u TOLLGATE_NOTIFICATION_PORT \
        setsid "$notification" -c "$run/notification/notification.conf" \
        2>>"$run/logs/notification.log" &
    pids="$pids $!"
else
    ntf_url=
fi

# The workflow service (docs/workflow.md): durable executions in the
# demo Redis; its tollgate:http tasks may call the demo backend on the
# upstream port (http_allow, as an operator names a private backend),
# its tollgate:notify tasks go to the notification service; its key
# (task tokens are HMACs under it) made once
wf_url="http://127.0.0.1:$wf_port"
if [ -x "$workflow" ]; then
    mkdir -p "$run/workflow"
    chmod 700 "$run/workflow"
    if [ ! -s "$run/workflow/secret.key" ]; then
        (umask 077; openssl rand -hex 32 > "$run/workflow/secret.key")
    fi
    {
        echo "# written by scripts/run.sh at each start (docs/workflow.md)"
        echo "listen = 127.0.0.1:$wf_port"
        echo "redis = $redis"
        echo "instance = demo"
        echo "secret_key_file = $run/workflow/secret.key"
        echo "http_allow = 127.0.0.1/32:$up_port"
        if [ -n "$ntf_url" ]; then
            echo "notify_url = $ntf_url"
        fi
    } > "$run/workflow/workflow.conf"
    env -u TOLLGATE_WORKFLOW_PORT \
        setsid "$workflow" -c "$run/workflow/workflow.conf" \
        2>>"$run/logs/workflow.log" &
    pids="$pids $!"
else
    wf_url=
fi

sleep 0.5

url="http://127.0.0.1:$port"

# The demo client: made once (its secret is printed once), a new secret on
# each later run; then wait until the service is ready and the gateway has
# its keys (a token it accepts), at most 15 seconds each, before printing
client=demo-client
secret=
if [ -n "$id_url" ]; then
    export TOLLGATE_IDENTITY_PEPPER_FILE="$run/identity/pepper"
    out=$("$gwctl" --redis "$redis" client add "$client" \
              --name "Demo client" --scopes "svc.read svc.write" \
              --default-scopes svc.read \
              --audiences https://svc.tollgate.demo \
              --default-audience https://svc.tollgate.demo 2>/dev/null) \
        || out=$("$gwctl" --redis "$redis" client rotate-secret "$client" \
                     --grace 0 2>/dev/null) || out=
    secret=$(printf '%s\n' "$out" | sed -n 's/^client_secret: //p')
    i=0
    until curl -sf -o /dev/null "$id_url/readyz"; do
        i=$((i + 1))
        if [ $i -gt 150 ]; then
            echo "run: the identity service is not ready (see" \
                "$run/logs/identity.log)" >&2
            break
        fi
        sleep 0.1
    done
    i=0
    while [ -n "$secret" ] && [ $i -lt 150 ]; do
        at=$(curl -s -u "$client:$secret" -d grant_type=client_credentials \
                 "$id_url/oauth2/token" \
             | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
        code=$(curl -s -o /dev/null -w '%{http_code}' \
                   -H "Authorization: Bearer $at" "$url/svc/ready") \
            || code=
        [ "$code" = 200 ] && break
        i=$((i + 1))
        sleep 0.1
    done
    if [ -z "$secret" ]; then
        echo "run: could not make the demo client's secret (gwctl client" \
            "add / rotate-secret)" >&2
    elif [ "$code" != 200 ]; then
        echo "run: the gateway does not take the identity service's" \
            "tokens yet (see $run/logs)" >&2
    fi
fi

# The demo admin client: tokens for the admin API (audience
# https://admin.tollgate.demo, scope admin:write, or admin:read when asked
# for); made once, a new secret on each later run, like the demo client;
# then wait (15 seconds at most) until the admin API takes its token
admin_client=demo-admin
admin_secret=
if [ -n "$id_url" ] && [ -n "$md_url" ]; then
    out=$("$gwctl" --redis "$redis" client add "$admin_client" \
              --name "Demo admin client" --scopes "admin:read admin:write" \
              --default-scopes admin:write \
              --audiences https://admin.tollgate.demo \
              --default-audience https://admin.tollgate.demo 2>/dev/null) \
        || out=$("$gwctl" --redis "$redis" client rotate-secret \
                     "$admin_client" --grace 0 2>/dev/null) || out=
    admin_secret=$(printf '%s\n' "$out" | sed -n 's/^client_secret: //p')
    i=0
    code=
    while [ -n "$admin_secret" ] && [ $i -lt 150 ]; do
        at=$(curl -s -u "$admin_client:$admin_secret" \
                 -d grant_type=client_credentials "$id_url/oauth2/token" \
             | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
        code=$(curl -s -o /dev/null -w '%{http_code}' \
                   -H "Authorization: Bearer $at" "$url/admin/routes") \
            || code=
        [ "$code" = 200 ] && break
        i=$((i + 1))
        sleep 0.1
    done
    if [ -z "$admin_secret" ]; then
        echo "run: could not make the demo admin client's secret (gwctl" \
            "client add / rotate-secret)" >&2
    elif [ "$code" != 200 ]; then
        echo "run: the admin API does not answer yet (see" \
            "$run/logs/metadata.log)" >&2
    fi
fi

# The demo's dynamic routes and upstream (docs/routing.md), put through
# the admin API at each start (created, or updated to this run's ports),
# straight to the service on loopback as an admin; the gateway follows
# them without a reload.  Then wait (15 seconds at most) until it serves
# them.
routes=
if [ -n "$md_url" ]; then
    # put TYPE ID JSON: create (If-None-Match: *), else update (If-Match: *)
    put() {
        for pre in 'If-None-Match: *' 'If-Match: *'; do
            c=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
                    -H 'X-Consumer-Scope: admin:write' \
                    -H 'X-Consumer-Subject: make-run' -H "$pre" \
                    -H 'Content-Type: application/json' -d "$3" \
                    "$md_url/v1/$1/$2") || c=
            case $c in 200|201) return 0 ;; 412) ;; *) return 1 ;; esac
        done
        return 1
    }
    i=0
    until curl -sf -o /dev/null "$md_url/readyz" || [ $i -ge 150 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    now_rfc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    sunset=$(date -u -d '+90 days' +%Y-%m-%dT%H:%M:%SZ)
    if put upstreams demo \
           "{\"targets\":[{\"address\":\"127.0.0.1:$up_port\"}]}" \
       && put routes hello-v2 \
           '{"paths":["/v2/hello"],"upstream":"demo","api_version":"v2"}' \
       && put routes users-v2 \
           '{"paths":["/v2/users/{id}"],"methods":["GET"],"upstream":"demo","api_version":"v2"}' \
       && put routes orders-v2 \
           '{"paths":["/v2/orders/*"],"upstream":"demo","api_version":"v2","key_auth":true}' \
       && put plugins demo-cors \
           '{"name":"cors","config":{"origins":["https://app.example"],"credentials":true,"max_age":600}}' \
       && put plugins demo-headers \
           '{"name":"request-transformer","config":{"add":{"headers":{"X-User-ID":"plugin-demo"}}}}' \
       && put plugins demo-greeting '{"name":"greeting","config":{}}' \
       && put routes plugins-v2 \
           '{"paths":["/v2/plugins"],"upstream":"demo","api_version":"v2","plugins":["demo-cors","demo-headers","demo-greeting"]}' \
       && put routes hello-v1 \
           "{\"paths\":[\"/v1/hello\"],\"upstream\":\"demo\",\"api_version\":\"v1\",\"deprecated_at\":\"$now_rfc\",\"sunset_at\":\"$sunset\",\"successor\":\"/v2/hello\"}"
    then
        i=0
        until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/v2/hello")" = 200 ] \
              || [ $i -ge 150 ]; do
            i=$((i + 1))
            sleep 0.1
        done
        routes=1
    else
        echo "run: could not put the demo's routes (see" \
            "$run/logs/metadata.log)" >&2
    fi
fi

# The demo's webhook subscription (docs/notification-webhooks.md): the
# demo consumer's, to the receiver on the upstream port, for every event
# type; made once (its signing secret is shown once), kept by later runs
hook_id=
hook_secret=
if [ -n "$ntf_url" ]; then
    i=0
    until curl -sf -o /dev/null "$ntf_url/readyz" || [ $i -ge 150 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    hook_id=$(curl -s -H 'X-Consumer-ID: demo' "$ntf_url/v1/subscriptions" \
              | tr ',' '\n' | sed -n 's/.*"id": *"\(sub_[^"]*\)".*/\1/p' \
              | head -1)
    if [ -z "$hook_id" ]; then
        out=$(curl -s -X POST -H 'X-Consumer-ID: demo' \
                  -H 'Content-Type: application/json' \
                  -d "{\"url\":\"http://127.0.0.1:$up_port/webhooks\",\"event_types\":[\"*\"],\"description\":\"the make run demo receiver\"}" \
                  "$ntf_url/v1/subscriptions" | tr ',' '\n')
        hook_id=$(printf '%s\n' "$out" \
                  | sed -n 's/.*"id": *"\(sub_[^"]*\)".*/\1/p' | head -1)
        hook_secret=$(printf '%s\n' "$out" \
                      | sed -n 's/.*"secret": *"\(whsec_[^"]*\)".*/\1/p')
    fi
    if [ -z "$hook_id" ]; then
        echo "run: could not subscribe the demo's webhook receiver (see" \
            "$run/logs/notification.log)" >&2
    fi
fi

# The demo's workflow definition "order" (conf/demo/workflow-order.json),
# put on the service as an admin at each start: created (POST), or, when
# a former run made it, a new version (PUT) with this run's ports
wf_def=
if [ -n "$wf_url" ]; then
    i=0
    until curl -sf -o /dev/null "$wf_url/readyz" || [ $i -ge 150 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    # define METHOD PATH NAME_MEMBER: the definition sent; its status
    define() {
        { printf '{%s"definition":' "$3"
          cat "$run/conf/demo/workflow-order.json"
          printf '}'; } \
        | curl -s -o "$run/workflow/define.out" -w '%{http_code}' \
              -X "$1" -H 'X-Consumer-ID: make-run' \
              -H 'X-Consumer-Scope: workflow:admin' \
              -H 'Content-Type: application/json' --data-binary @- \
              "$wf_url/v1/definitions$2"
    }
    c=$(define POST '' '"name":"order",') || c=
    if [ "$c" = 409 ]; then
        c=$(define PUT /order '') || c=
    fi
    case $c in
    200|201) wf_def=order ;;
    *) echo "run: could not put the demo's workflow definition ($c; see" \
           "$run/workflow/define.out and $run/logs/workflow.log)" >&2 ;;
    esac
fi

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

Demo API key of consumer "demo" (valid one day; manage keys with
build/gwctl --redis $redis ...):

  KEY=$key

  curl -i -H "X-API-Key: \$KEY" $url/keyed/hello   # 200, as consumer demo
  curl -i -H "X-API-Key: nope" $url/keyed/hello   # 401
  build/gwctl --redis $redis key list demo

Rate limits on /keyed/ (5 a second, bursts of 10, and an exact quota of
1,000 an hour, a sliding log in Redis; RateLimit headers):

  for i in \$(seq 15); do curl -s -o /dev/null -w '%{http_code} ' \\
      -H "X-API-Key: \$KEY" $url/keyed/hello; done; echo   # 200 x11, then 429

Metrics (Prometheus text format) and readiness on the admin port:

  curl -s http://127.0.0.1:$admin_port/metrics
  curl -s http://127.0.0.1:$admin_port/readyz
  prometheus --config.file=conf/prometheus.yml   # scrapes 127.0.0.1:8083

Access log, one JSON object per request: $run/logs/access.log

Audit trail on $audit_url (build/backends/audit, docs/audit.md):

  curl -s -X POST $audit_url/v1/audit/events -d '{"id":"demo-1",
      "time":1700000000000,"actor":"demo","action":"GET",
      "resource":"/api/hello","status":200}'
  curl -s -X POST $audit_url/v1/audit/checkpoint   # a signed checkpoint
  curl -s "$audit_url/v1/audit/records?actor=demo"
  build/backends/audit verify $run/audit/data

Events (docs/publish.md) into the processing service on $proc_url
(build/backends/processing, docs/processing.md), counted per consumer and
minute into SQLite:

  curl -i -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
      -H 'Idempotency-Key: "demo-1"' -d '{"amount": 12.5}' $url/events  # 202
  curl -i -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
      -d '{"amount": -1}' $url/events          # 400, refused by its schema

A minute's row is written once the minute is over and a later event has
come (the window closes on event time): publish one more a minute later,
then

  sqlite3 $run/processing/demo.db 'select * from per_minute'
  curl -s $proc_url/metrics | grep ^proc_     # events, lag, DLQ
  build/backends/processing dlq -c $run/processing/processing.conf list per-minute
EOF

if [ -n "$secret" ]; then
    cat <<EOF

Identity service on $id_url (build/backends/identity, docs/identity.md):
OAuth 2.0 client credentials, RFC 9068 access tokens (typ at+jwt, five
minutes); the gateway's /svc/ takes its keys from the JWKS URL.

Demo client (scopes svc.read svc.write; this secret is shown once, a
re-run makes a new one; manage clients with build/gwctl client ...):

  CLIENT_ID=$client
  CLIENT_SECRET=$secret

Get a token (client_secret_basic), or keep one in \$AT:

  curl -s -u "\$CLIENT_ID:\$CLIENT_SECRET" -d grant_type=client_credentials \\
      $id_url/oauth2/token
  AT=\$(curl -s -u "\$CLIENT_ID:\$CLIENT_SECRET" \\
      -d grant_type=client_credentials $id_url/oauth2/token \\
      | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')

  curl -i -H "Authorization: Bearer \$AT" $url/svc/hello   # 200
  curl -i $url/svc/hello                                 # 401, no token
  curl -s -u "\$CLIENT_ID:\$CLIENT_SECRET" -d "token=\$AT" \\
      $id_url/oauth2/introspect                   # "active":true
  curl -s -u "\$CLIENT_ID:\$CLIENT_SECRET" -d "token=\$AT" \\
      $id_url/oauth2/revoke                       # revokes it
  curl -i -H "Authorization: Bearer \$AT" $url/svc/hello   # then 401, revoked

Its keys and metadata (RFC 8414):

  curl -s $id_url/.well-known/jwks.json
  curl -s $id_url/.well-known/oauth-authorization-server
EOF
elif [ -z "$id_url" ]; then
    echo
    echo "Identity service: not built (run make backends)."
fi

if [ -n "$admin_secret" ]; then
    cat <<EOF

Admin API on $url/admin/ (build/backends/metadata on $md_url, loopback
only; docs/admin-api.md): versioned, validated entities, every change a
revision in a change log and the audit trail.  The gateway takes the
identity service's tokens with admin:write or admin:read there, or the
API key of a consumer tagged admin:write or admin:read.

Demo admin client (scope admin:write; this secret is shown once, a
re-run makes a new one):

  ADMIN_ID=$admin_client
  ADMIN_SECRET=$admin_secret

An admin token in \$ADMIN (add -d scope=admin:read for a read-only one):

  ADMIN=\$(curl -s -u "\$ADMIN_ID:\$ADMIN_SECRET" \\
      -d grant_type=client_credentials $id_url/oauth2/token \\
      | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')

List the routes; create a consumer only if absent (If-None-Match: *, 412
when it exists), its version in \$ETAG; update it only if unchanged
since (If-Match, 412 otherwise); the change log:

  curl -s -H "Authorization: Bearer \$ADMIN" $url/admin/routes
  ETAG=\$(curl -s -o /dev/null -D - -X PUT -H "Authorization: Bearer \$ADMIN" \\
      -H 'If-None-Match: *' -H 'Content-Type: application/json' \\
      -d '{"name":"Partner"}' $url/admin/consumers/partner \\
      | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'); echo "\$ETAG"
  curl -s -X PATCH -H "Authorization: Bearer \$ADMIN" -H "If-Match: \$ETAG" \\
      -H 'Content-Type: application/merge-patch+json' \\
      -d '{"tags":["partner"]}' $url/admin/consumers/partner
  curl -s -H "Authorization: Bearer \$ADMIN" $url/admin/revisions
EOF
elif [ -z "$md_url" ]; then
    echo
    echo "Metadata service (admin API): not built (run make backends)."
fi

if [ -n "$routes" ]; then
    cat <<EOF

Routes from the admin API (docs/routing.md), served by gw_router with no
reload; the gateway's snapshot at http://127.0.0.1:$admin_port/gw/config:

  curl -i $url/v2/hello                        # 200, route hello-v2
  curl -i $url/v2/users/42                     # 200, templated /v2/users/{id}
  curl -i $url/v1/hello                        # 200, Deprecation, Sunset, Link
  curl -i $url/v2/orders/1                     # 401: the route's key_auth
  curl -i -H "X-API-Key: \$KEY" $url/v2/orders/1   # 200
  curl -i $url/v2/nothing                      # 404 problem+json, no route

Add a route with one curl (the admin token in \$ADMIN, above) and call it,
no reload:

  curl -s -X PUT -H "Authorization: Bearer \$ADMIN" -H 'If-None-Match: *' \\
      -H 'Content-Type: application/json' \\
      -d '{"paths":["/v2/ping"],"upstream":"demo"}' $url/admin/routes/ping
  curl -i $url/v2/ping                         # 200

Lua plugins (docs/plugins.md) on route plugins-v2, set through the admin
API: cors, request-transformer (adds X-User-ID, echoed as "user") and the
demo's own greeting plugin ($run/plugins/greeting.lua):

  curl -i -H 'Origin: https://app.example' $url/v2/plugins
      # Access-Control-Allow-Origin, "user":"plugin-demo", X-Greeting: hello
  curl -i -X OPTIONS -H 'Origin: https://app.example' \\
      -H 'Access-Control-Request-Method: PUT' $url/v2/plugins   # 204 preflight

Edit the plugin live, no reload (picked up within a second):

  sed -i 's/"hello"/"bonjour"/' $run/plugins/greeting.lua; sleep 2
  curl -si $url/v2/plugins | grep -i x-greeting   # X-Greeting: bonjour
EOF
fi

if [ -n "$hook_id" ]; then
    cat <<EOF

Notifications (docs/notification.md) on $ntf_url
(build/backends/notification), through the gateway's /notify/ for the
demo key's consumer.  Webhooks go to the demo receiver (subscription
$hook_id), signed per Standard Webhooks; every delivery lands in
$run/logs/webhooks.log.
EOF
    if [ -n "$hook_secret" ]; then
        cat <<EOF
Its signing secret (shown once; POST .../rotate makes a new one):

  WEBHOOK_SECRET=$hook_secret
EOF
    fi
    cat <<EOF

Send a webhook notification (202 and its id), then see its deliveries
and every attempt (time, target, status, latency) and the receiver's log:

  ID=\$(curl -s -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
      -H 'Idempotency-Key: "demo-n1"' \\
      -d '{"channel":"webhook","type":"invoice.paid","body":{"data":{"invoice":"in_1","total":42}}}' \\
      $url/notify/notifications | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'); echo \$ID
  curl -s -H "X-API-Key: \$KEY" $url/notify/notifications/\$ID
  tail -n 1 $run/logs/webhooks.log    # webhook-id, -timestamp, -signature, body

Watch the demo consumer's push channel (EventSource; WebSocket too) in
one terminal, push to it from another:

  curl -N -H 'Accept: text/event-stream' -H "X-API-Key: \$KEY" \\
      $url/push/c.demo
  curl -s -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
      -d '{"channel":"push","type":"hello","body":{"data":{"text":"hi"}},"recipients":["c.demo"]}' \\
      $url/notify/notifications
  curl -i -H "X-API-Key: \$KEY" $url/push/c.someone-else    # 403
EOF
    if [ -n "$smtp" ]; then
        cat <<EOF

Email to the demo's SMTP receiver ($smtp; each message a file in
$run/mail/new):

  curl -s -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
      -d '{"channel":"email","body":{"subject":"Caf\u00e9 receipt","text":"Thanks!","html":"<p>Thanks!</p>"},"recipients":[{"email":"ann@example.com","name":"Ann"}]}' \\
      $url/notify/notifications
  cat $run/mail/new/*
EOF
    fi
    cat <<EOF

Dead letters (deliveries that ran out of retries) and their replay:

  curl -s -H "X-API-Key: \$KEY" $url/notify/dlq
EOF
fi

if [ -n "$wf_def" ]; then
    cat <<EOF

Workflows (docs/workflow.md) on $wf_url (build/backends/workflow),
through the gateway's /workflow/ for the demo key's consumer.  The demo
definition "order" ($run/conf/demo/workflow-order.json): a Choice
validates the input, a tollgate:http task GETs the demo backend, a
tollgate:callback.waitForTaskToken task waits for an approval (its token
in the history's TaskScheduled event), a tollgate:notify task sends a
webhook notification (to the demo receiver: $run/logs/webhooks.log).

Start it, read its token, approve it, see it end and its history:

  WX=\$(curl -s -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
      -d '{"definition":"order","input":{"order":7}}' \\
      $url/workflow/executions | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'); echo \$WX
  TT=\$(curl -s -H "X-API-Key: \$KEY" $url/workflow/executions/\$WX/history \\
      | grep -o '"token": *"[A-Za-z0-9_-]*"' | head -1 | cut -d'"' -f4); echo \$TT
  curl -s -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
      -d "{\"token\":\"\$TT\",\"output\":{\"approved\":true}}" \\
      $url/workflow/tasks/success
  curl -s -H "X-API-Key: \$KEY" $url/workflow/executions/\$WX   # SUCCEEDED
  curl -s -H "X-API-Key: \$KEY" $url/workflow/executions/\$WX/history
  tail -n 1 $run/logs/webhooks.log    # the order.approved notification

An input the Choice refuses fails at once (Demo.InvalidOrder):

  curl -s -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
      -d '{"definition":"order","input":{"order":"seven"}}' \\
      $url/workflow/executions
EOF
elif [ -z "$wf_url" ]; then
    echo
    echo "Workflow service: not built (run make backends)."
fi

# ---- reporting (issue 21) --------------------------------------------
# The reporting service (docs/reporting.md), started like the other
# backends: its spool and secret key made in run/reporting, the demo
# pipeline's SQLite file (run/processing/demo.db, table per_minute) as
# its store, the notification service for email.  The metadata service
# gets the "reports" type and the demo report "per-minute" (the key's
# consumer's events and amounts per minute, a bar chart), put straight
# to it on loopback as an admin; the demo key reaches the service
# through the gateway's /reports/.
reporting="$top/build/backends/reporting"
rp_url="http://127.0.0.1:$rp_port"
rp_report=
if [ -x "$reporting" ]; then
    mkdir -p "$run/reporting/spool"
    chmod 700 "$run/reporting"
    if [ ! -s "$run/reporting/secret.key" ]; then
        (umask 077; openssl rand -hex 32 > "$run/reporting/secret.key")
    fi
    {
        echo "# written by scripts/run.sh at each start (docs/reporting.md)"
        echo "listen = 127.0.0.1:$rp_port"
        echo "redis = $redis"
        echo "sqlite = $run/processing/demo.db"
        echo "spool = $run/reporting/spool"
        echo "secret_key_file = $run/reporting/secret.key"
        echo "public_url = $url/reports"
        if [ -n "$ntf_url" ]; then
            echo "notification = 127.0.0.1:$ntf_port"
        fi
    } > "$run/reporting/reporting.conf"
    env -u TOLLGATE_REPORTING_PORT \
        setsid "$reporting" -c "$run/reporting/reporting.conf" \
        2>>"$run/logs/reporting.log" &
    pids="$pids $!"

    # rp_put PATH JSON: create (If-None-Match: *), else update
    rp_put() {
        for pre in 'If-None-Match: *' 'If-Match: *'; do
            c=$(curl -s -o /dev/null -w '%{http_code}' -X PUT \
                    -H 'X-Consumer-Scope: admin:write' \
                    -H 'X-Consumer-Subject: make-run' -H "$pre" \
                    -H 'Content-Type: application/json' -d "$2" \
                    "$md_url/v1/$1") || c=
            case $c in 200|201) return 0 ;; 412) ;; *) return 1 ;; esac
        done
        return 1
    }
    if [ -n "$md_url" ] \
       && rp_put types/reports \
              "{\"schema\": $(cat "$top/backends/reporting/reports.schema.json")}" \
       && rp_put entities/reports/per-minute '{
  "title": "Events and amounts per minute",
  "query": "SELECT minute, events, amount FROM per_minute WHERE consumer = :tenant ORDER BY minute",
  "tenant_param": "tenant",
  "columns": [{"name": "minute", "title": "Minute", "type": "datetime"},
              {"name": "events", "title": "Events", "type": "integer"},
              {"name": "amount", "title": "Amount", "type": "currency",
               "currency": "EUR", "decimals": 2}],
  "chart": {"type": "bar", "category": "minute", "series": ["events"],
            "title": "Events per minute"},
  "formats": ["csv", "xlsx", "pdf", "json"]}'
    then
        rp_report=per-minute
    else
        echo "run: could not put the demo report (see" \
            "$run/logs/metadata.log)" >&2
    fi
    i=0
    until curl -sf -o /dev/null "$rp_url/readyz" || [ $i -ge 150 ]; do
        i=$((i + 1))
        sleep 0.1
    done
fi

if [ -n "$rp_report" ]; then
    cat <<EOF

Reports (docs/reporting.md) on $rp_url (build/backends/reporting),
through the gateway's /reports/ for the demo key's consumer: the demo
report "per-minute" reads the demo pipeline's per_minute rows in
$run/processing/demo.db (publish events as above; a minute's row comes
once the minute is over and a later event has come).  Run it as CSV,
XLSX (a native bar chart) and PDF (a vector bar chart on its last
page), and download each with its run's signed link:

  for f in csv xlsx pdf; do
    L=\$(curl -s -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
        -d "{\"format\":\"\$f\"}" "$url/reports/v1/reports/per-minute/runs?wait=30" \\
        | sed -n 's/.*"download": *"\([^"]*\)".*/\1/p')
    curl -s -H "X-API-Key: \$KEY" -o per-minute.\$f "\$L"; ls -l per-minute.\$f
  done
EOF
    if [ -n "$ntf_url" ] && [ -n "$smtp" ]; then
        cat <<EOF

Email it (the PDF attached) to the demo's SMTP receiver ($smtp)
through the notification service; the run's "delivery" says "sent",
the message is a file in $run/mail/new:

  curl -s -H "X-API-Key: \$KEY" -H 'Content-Type: application/json' \\
      -d '{"format":"pdf","delivery":{"channel":"email","to":["ann@example.com"],"subject":"Events per minute"}}' \\
      "$url/reports/v1/reports/per-minute/runs?wait=30"; echo
  sleep 1; grep -l 'Events per minute' $run/mail/new/*
EOF
    else
        cat <<EOF

No email here: the demo's SMTP receiver (python3-aiosmtpd) or the
notification service is not running, so a run with an email delivery
ends with "delivery": "failed".
EOF
    fi
fi
# ---- end of reporting ------------------------------------------------

echo
echo "Press Ctrl-C to stop."

wait
