# workflow: the workflow command and service (backends/workflow,
# docs/workflow.md).  lib/asl's Retry BackoffRate needs libm; the kit
# brings libevent, hiredis, jansson, libcrypto (task tokens' HMAC) and
# libcurl (tollgate:http and tollgate:notify, the kit's outbound HTTP).
BACKEND_LIBS_workflow := -lm
