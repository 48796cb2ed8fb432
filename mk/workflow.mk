# workflow: the workflow command (backends/workflow, docs/workflow.md);
# for now the language alone (lib/asl: Retry's BackoffRate needs libm).
BACKEND_LIBS_workflow := -lm
