
/*
 * Copyright (C) Tollgate
 *
 * What test_router.c links beside it: the randomized check against a
 * naive reference matcher (router_ref.c) and the benchmark
 * (router_bench.c).
 */


#ifndef _ROUTER_TEST_H_INCLUDED_
#define _ROUTER_TEST_H_INCLUDED_


#include <stddef.h>

#include "gw_router.h"


/*
 * Builds about n random routes (dropping those the builder refuses as
 * conflicts), matches nreq random requests with gw_router_match() and
 * with a linear reference.  Returns the number of disagreements (the
 * first described in why), or -1 when the build failed otherwise.
 * *built gets the number of routes kept.
 */
int router_ref_check(unsigned seed, size_t n, size_t nreq, size_t *built,
    char *why, size_t len);

/*
 * When router_ref_work is set, every build router_ref_check() makes
 * (the refused ones too) is made again through gw_router_build_in()
 * with that work; router_ref_works counts them, router_ref_diffs those
 * whose result differs (a byte of the block, or the error), the first
 * described in router_ref_diff.
 */
extern gw_router_work_t  *router_ref_work;
extern size_t             router_ref_works;
extern size_t             router_ref_diffs;
extern char               router_ref_diff[512];

/* prints the benchmark's table; max: the largest route count */
void router_bench(size_t max);


#endif /* _ROUTER_TEST_H_INCLUDED_ */
