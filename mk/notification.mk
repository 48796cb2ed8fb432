# backends/notification (docs/notification.md): libcurl (Debian's
# libcurl4-openssl-dev) for outbound webhooks, SMTP and nchan's publisher,
# on the kit's loop through its multi interface.

BACKEND_LIBS_notification := -lcurl
