# asl: Amazon States Language, the workflow service's language (lib/asl,
# docs/workflow.md); pure, linked into the unit tests and the workflow
# service from $(LIB_A).
GW_CFLAGS += -Ilib/asl
