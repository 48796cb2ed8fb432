# Publishing at the edge (docs/publish.md): a gw_publish location's
# requests/s as a ratio to bare nginx proxying the same POST, in one run
# (scripts/bench-publish.sh), part of `make bench`.
.PHONY: bench-publish

bench-publish: module
	@scripts/bench-publish.sh

bench: bench-publish
