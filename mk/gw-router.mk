# gw_router end to end (docs/routing.md, "gw_router"): requests/s of a
# location routing among 10,000 routes of the admin API against a static
# location, scripts/bench-gw-router.sh, part of `make bench`.

.PHONY: bench-gw-router

bench-gw-router: module backends
	@scripts/bench-gw-router.sh

bench: bench-gw-router
