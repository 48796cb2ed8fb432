#!/bin/sh
# Mints a JWS with the openssl command line, for the demo and the
# benchmarks (tests mint their own in t/lib/Tollgate/JWT.pm).
# Usage: mint.sh RS256|HS256 KEY_OR_SECRET_FILE PAYLOAD_JSON [KID]

set -eu

alg=$1 key=$2 payload=$3 kid=${4:-}

b64url() {
    openssl base64 -A | tr '+/' '-_' | tr -d '='
}

if [ -n "$kid" ]; then
    h=$(printf '{"alg":"%s","typ":"JWT","kid":"%s"}' "$alg" "$kid" | b64url)
else
    h=$(printf '{"alg":"%s","typ":"JWT"}' "$alg" | b64url)
fi
p=$(printf '%s' "$payload" | b64url)

case $alg in
RS256)
    s=$(printf '%s.%s' "$h" "$p" \
        | openssl dgst -sha256 -sign "$key" -binary | b64url) ;;
HS256)
    s=$(printf '%s.%s' "$h" "$p" \
        | openssl dgst -sha256 -mac HMAC -macopt "key:$(cat "$key")" -binary \
        | b64url) ;;
*)
    echo "mint: unsupported algorithm $alg" >&2
    exit 1 ;;
esac

printf '%s.%s.%s\n' "$h" "$p" "$s"
