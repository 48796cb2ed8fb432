#!/bin/sh
#
# Regenerates the test keys of this folder (see README).  The files are
# committed; run this only to replace them, then update every test that
# pins a fingerprint or a token.  Needs openssl(1) 3.x, xxd and basenc.

set -eu
cd "$(dirname "$0")"

b64url() {
    basenc --base64url -w0 | tr -d '='
}

# RSA 2048, its public key and a self-signed certificate over it
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.key
openssl pkey -in rsa.key -pubout -out rsa.pem
openssl req -x509 -new -key rsa.key -sha256 -days 36500 \
    -subj "/CN=tollgate-test" -out rsa.crt

# RSA 1024: too small, loading it must fail
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 \
    | openssl pkey -pubout -out rsa1024.pem

# ECDSA keys on the three JOSE curves
for c in 256 384 521; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-$c \
        -pkeyopt ec_param_enc:named_curve -out ec$c.key
    openssl pkey -in ec$c.key -pubout -out ec$c.pem
done

# Ed25519
openssl genpkey -algorithm ED25519 -out ed25519.key
openssl pkey -in ed25519.key -pubout -out ed25519.pem

# HMAC secrets: printable hex text without a newline, 40 and 64 bytes
openssl rand -hex 20 | tr -d '\n' > hmac.secret
openssl rand -hex 32 | tr -d '\n' > hmac64.secret

# jwks.json from the public keys above; the SubjectPublicKeyInfo of an EC
# or Ed25519 key ends with the raw public key (0x04 || x || y for EC)
n=$(openssl rsa -pubin -in rsa.pem -modulus -noout | sed 's/^Modulus=//' \
    | xxd -r -p | b64url)
e=$(printf '\001\000\001' | b64url)

ec() {
    # $1: a public key file, $2: the coordinate size in bytes; prints the
    # base64url x and y, separated by a space
    openssl pkey -pubin -in "$1" -outform DER | tail -c $((2 * $2)) \
        | head -c "$2" | b64url
    printf ' '
    openssl pkey -pubin -in "$1" -outform DER | tail -c "$2" | b64url
}

set -- $(ec ec256.pem 32); x256=$1 y256=$2
set -- $(ec ec384.pem 48); x384=$1 y384=$2
set -- $(ec ec521.pem 66); x521=$1 y521=$2
ed=$(openssl pkey -pubin -in ed25519.pem -outform DER | tail -c 32 | b64url)

cat > jwks.json <<JWKS
{"keys": [
  {"kty": "RSA", "kid": "rsa-1", "use": "sig", "n": "$n", "e": "$e"},
  {"kty": "RSA", "kid": "rsa-enc", "use": "enc", "n": "$n", "e": "$e"},
  {"kty": "EC", "kid": "ec256-1", "use": "sig", "alg": "ES256",
   "crv": "P-256", "x": "$x256", "y": "$y256"},
  {"kty": "EC", "kid": "ec384-1", "crv": "P-384", "x": "$x384", "y": "$y384"},
  {"kty": "EC", "kid": "ec521-1", "crv": "P-521", "x": "$x521", "y": "$y521"},
  {"kty": "OKP", "kid": "ed25519-1", "crv": "Ed25519", "x": "$ed"}
]}
JWKS

# test keys, not secrets: readable by an nginx worker running as nobody
chmod 644 ./*.key ./*.secret
