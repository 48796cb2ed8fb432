# vi:ft=perl
#
# t/124 (the "gw" API) again with the plugins trusted: JIT on, the FFI,
# and the compiled calls of docs/plugins-api.md ("Compiled calls") in
# place of the C functions they fall back to; every block runs three
# times, so the worker's caches hold the names and values by the second
# or third run and the compiled calls take them.  Every answer and every
# error must be the same as untrusted.

use strict;
use warnings;

use FindBin;

$ENV{TEST_GW_TRUSTED} = 1;

exec $^X, (map { "-I$_" } grep { !ref } @INC), "$FindBin::Bin/124-plugins-api.t"
    or die "t/139: cannot run t/124: $!\n";
