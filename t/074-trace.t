# vi:ft=perl
#
# W3C Trace Context (docs/metrics.md, "Trace context"), against the
# specification's valid and invalid traceparent forms: a valid one is
# continued (same trace id, the sampled flag kept, a new span id whose
# parent is the client's, tracestate passed on); a missing or invalid one
# (version ff, upper case, all-zero ids, wrong lengths, a version 00 with
# extra fields, bad separators, non-hex) starts a new sampled trace and
# drops tracestate; a later version is read as 00.  Upstreams are
# Tollgate::Echo, which answers with the request it received; the ids
# come back in X-Trace from $gw_trace_id, $gw_span_id and $gw_parent_id.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::Echo;

our $echo = Tollgate::Echo->start;

$ENV{TEST_NGINX_ECHO_PORT} = $echo->port;

our $T = '4bf92f3577b34da6a3ce929d0e0e4736';
our $P = '00f067aa0ba902b7';

# what the upstream got, for a continued trace with flags $f
sub continued {
    my ($f) = @_;
    return qr/\A(?!(?:.*\n)*traceparent:.*\n(?:.*\n)*traceparent:)
              (?=(?:.*\n)*traceparent:\x20
                 00-$T-(?!$P)[0-9a-f]{16}-$f\n)
              (?=(?:.*\n)*tracestate:\x20congo=t61rcWkgMzE\n)/xi;
}

# ... and for a new trace: not $T, sampled, no tracestate
sub started {
    return qr/\A(?!(?:.*\n)*traceparent:.*\n(?:.*\n)*traceparent:)
              (?=(?:.*\n)*traceparent:\x20
                 00-(?!$T)(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-01\n)
              (?!(?:.*\n)*tracestate:)/xi;
}

our @invalid = (
    "ff-$T-$P-01",                           # version ff
    "00-" . uc($T) . "-$P-01",               # upper case trace id
    "00-$T-" . uc($P) . "-01",               # upper case parent id
    "00-$T-$P-0A",                           # upper case flags
    "0A-$T-$P-01",                           # upper case version
    "00-" . ('0' x 32) . "-$P-01",           # all-zero trace id
    "00-$T-" . ('0' x 16) . "-01",           # all-zero parent id
    "00-" . substr($T, 1) . "-$P-01",        # trace id one short
    "00-$T-${P}0-01",                        # parent id one long
    "00-$T-$P-1",                            # flags one short
    "00-$T-$P-01-extra",                     # version 00 with more
    "01-$T-$P-01x",                          # a later version, no '-'
    "00_$T-$P-01",                           # a bad separator
    "00-$T-$P-0g",                           # not hex
    "00-$T-$P",                              # no flags
    "",                                      # empty
);

sub invalid_headers {
    return [ map { "traceparent: $_\ntracestate: congo=t61rcWkgMzE" }
             @invalid ];
}

run_tests();

__DATA__

=== TEST 1: a valid traceparent is continued with a new span; tracestate passes
--- config
    gw_trace on;
    location = /t {
        add_header X-Trace "$gw_trace_id $gw_span_id $gw_parent_id";
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers eval
"traceparent: 00-$::T-$::P-01\ntracestate: congo=t61rcWkgMzE"
--- request
GET /t
--- response_headers_like eval
"X-Trace: $::T [0-9a-f]{16} $::P"
--- response_body_like eval
main::continued('01')
--- no_error_log
[error]



=== TEST 2: the sampled flag is kept as it came: 00 stays 00, other bits go
--- config
    gw_trace on;
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up; }
--- more_headers eval
["traceparent: 00-$::T-$::P-00\ntracestate: congo=t61rcWkgMzE",
 "traceparent: 00-$::T-$::P-03\ntracestate: congo=t61rcWkgMzE",
 "traceparent: 00-$::T-$::P-fe\ntracestate: congo=t61rcWkgMzE"]
--- request eval
["GET /t", "GET /t", "GET /t"]
--- response_body_like eval
[main::continued('00'), main::continued('01'), main::continued('00')]
--- no_error_log
[error]



=== TEST 3: a later version with more fields is read as version 00
--- config
    gw_trace on;
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up; }
--- more_headers eval
["traceparent: cc-$::T-$::P-01-what-the-future-will-be-like\ntracestate: congo=t61rcWkgMzE",
 "traceparent: 01-$::T-$::P-01\ntracestate: congo=t61rcWkgMzE"]
--- request eval
["GET /t", "GET /t"]
--- response_body_like eval
[main::continued('01'), main::continued('01')]
--- no_error_log
[error]



=== TEST 4: every invalid form starts a new trace and drops tracestate
--- config
    gw_trace on;
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up; }
--- more_headers eval
main::invalid_headers()
--- request eval
[("GET /t") x @::invalid]
--- response_body_like eval
[(main::started()) x @::invalid]
--- no_error_log
[error]



=== TEST 5: no traceparent: a new trace, no parent, the ids in the variables
--- config
    gw_trace on;
    location = /t {
        add_header X-Trace "[$gw_trace_id] [$gw_span_id] [$gw_parent_id]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- request
GET /t
--- response_headers_like
X-Trace: \[[0-9a-f]{32}\] \[[0-9a-f]{16}\] \[\]
--- response_body_like eval
main::started()
--- no_error_log
[error]



=== TEST 6: two traceparents: the first one counts, the upstream gets one
--- config
    gw_trace on;
    location = /t { proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up; }
--- more_headers eval
"traceparent: 00-$::T-$::P-01\ntraceparent: 00-" . ('1' x 32) . "-$::P-01\ntracestate: congo=t61rcWkgMzE"
--- request
GET /t
--- response_body_like eval
main::continued('01')
--- no_error_log
[error]



=== TEST 7: off (the default): headers untouched, variables empty
--- config
    location = /t {
        add_header X-Trace "[$gw_trace_id]";
        proxy_pass http://127.0.0.1:$TEST_NGINX_ECHO_PORT/up;
    }
--- more_headers eval
"traceparent: 00-$::T-$::P-01"
--- request
GET /t
--- response_headers
X-Trace: []
--- response_body_like eval
qr/^traceparent: 00-$::T-$::P-01$/mi
--- no_error_log
[error]
