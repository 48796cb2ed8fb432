# The notification service's email channel (docs/notification-email.md)
# driven alone: t/ntf/smtp_send.c with the channel's objects, the kit
# and lib/, run by t/backends/08e-notification-email.t
# against a real SMTP server (t/smtp/server.py, Debian's python3-aiosmtpd).

NTF_MAIL_OBJS := $(patsubst backends/%.c,$(BUILD)/backends/obj/%.o,\
                     $(wildcard backends/notification/ntf_mime*.c \
                                backends/notification/ntf_smtp*.c))
NTF_MAIL_BIN  := $(BUILD)/ntf/smtp_send

TEST_EXTRA += ntf-mail-test

.PHONY: ntf-mail-test

ntf-mail-test: $(NTF_MAIL_BIN)

$(BUILD)/ntf/obj/%.o: t/ntf/%.c $(BUILD)/cflags
	@mkdir -p $(dir $@)
	$(CC) $(GW_CFLAGS) -Ibackends/common -Ibackends/notification \
	    $(DEP_FLAGS) -c -o $@ $<

$(NTF_MAIL_BIN): $(BUILD)/ntf/obj/smtp_send.o $(NTF_MAIL_OBJS) \
                 $(KIT_OBJS) $(LIB_A)
	$(CC) $(GW_CFLAGS) -o $@ $^ $(KIT_LIBS) $(BACKEND_LIBS_notification)

-include $(BUILD)/ntf/obj/smtp_send.d
