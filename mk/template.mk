# template: logic-less templates (lib/template, docs/notification-templates.md)
GW_CFLAGS += -Ilib/template
