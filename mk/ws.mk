# ws: WebSocket (RFC 6455) handshake checks and frames of the push
# subscribers (lib/ws; unit test t/unit/test_ws.c)
GW_CFLAGS += -Ilib/ws
