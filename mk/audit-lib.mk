# The audit service's pure libraries (docs/audit-format.md): RFC 8785
# canonical JSON (lib/jcs), the RFC 9162 Merkle tree and hash chain
# (lib/merkle), C2SP signed notes and checkpoints (lib/checkpoint).
# Their unit tests read ../shared/data/{jcs,merkle}-testdata when present.

GW_CFLAGS += -Ilib/jcs -Ilib/merkle -Ilib/checkpoint
