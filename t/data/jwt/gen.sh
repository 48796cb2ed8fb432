#!/bin/sh
#
# Regenerates the extra JWT fixtures of this folder (see README).  Needs
# openssl(1) 3.x.  The shared test keys live in ../keys.

set -eu
cd "$(dirname "$0")"

# a second RSA 2048 key: the key a rotated key file switches to
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2.key
openssl pkey -in rsa2.key -pubout -out rsa2.pem

# a second P-256 key: a key file next to ../keys/ec256.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -pkeyopt ec_param_enc:named_curve -out ec256b.key
openssl pkey -in ec256b.key -pubout -out ec256b.pem

# a self-signed certificate over the second RSA key: what an attacker
# puts in an "x5c" header
openssl req -x509 -new -key rsa2.key -sha256 -days 36500 \
    -subj "/CN=tollgate-test-attacker" -out rsa2.crt
