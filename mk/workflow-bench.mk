# the workflow service's figures (scripts/bench-workflow.sh): transitions/s
# beside its Redis' own write rate, StartExecution's rate and p99, and the
# memory a parked execution takes, in one run

.PHONY: bench-workflow

bench-workflow: $(BUILD)/backends/workflow
	@WORKFLOW=$(BUILD)/backends/workflow scripts/bench-workflow.sh
