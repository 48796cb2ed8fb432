# lib/http: the strict HTTP/1.1 response parser the gateway's own fetches
# use (JWKS, discovery; docs/jwt.md)
GW_CFLAGS += -Ilib/http
