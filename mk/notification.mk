# backends/notification (docs/notification.md): libcurl (Debian's
# libcurl4-openssl-dev) for outbound webhooks, SMTP and nchan's publisher,
# on the kit's loop through its multi interface.

BACKEND_LIBS_notification := -pthread

# webhook deliveries/s to a local receiver beside the receiver's raw
# rate, and the API's p99 at a stated load, in one run
# (scripts/bench-notification.sh)
.PHONY: bench-notification

bench-notification: $(BUILD)/backends/notification
	@scripts/bench-notification.sh

bench: bench-notification
