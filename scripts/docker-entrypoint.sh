#!/bin/sh
# Container entry point: gives the demo route a key of its own (made once
# per container, never baked into the image), then runs the command.

set -eu

keys=/etc/tollgate/demo/keys
if [ ! -f "$keys/demo.pem" ]; then
    mkdir -p "$keys"
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
        -out "$keys/demo.key" 2>/dev/null
    openssl pkey -in "$keys/demo.key" -pubout -out "$keys/demo.pem"
    chmod 600 "$keys/demo.key"
fi

exec "$@"
