# vi:ft=perl
#
# Prometheus metrics (docs/metrics.md): what a scrape shows after known
# requests: requests by route (gw_route, never the URI), method and status
# class, the latency histograms with configured buckets, locations left
# out with "gw_metrics off", JWT decisions by outcome, the variables
# ($gw_route, $gw_auth_mechanism, $gw_auth_outcome), the endpoint's
# methods and content type, and the directives' checks.
#
# Each block's last request is the scrape; the requests before it are
# answered first, so their counts are in it.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }   # after any -I, for Tollgate::*

use Test::Nginx::Socket 'no_plan';
use Tollgate::JWT qw(jwt keys_dir nginx_t now);

$ENV{TEST_NGINX_KEYS} = keys_dir();

our $now = now();
our %tok;

$tok{good} = jwt(alg => 'RS256',
                 payload => { sub => 'alice', exp => $now + 3600,
                              scope => 'read' });
$tok{expired} = jwt(alg => 'RS256',
                    payload => { sub => 'alice', exp => $now - 600 });


# --- directives, checked by nginx -t ----------------------------------------

SKIP: {
    skip 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)', 1
        unless $ENV{TEST_NGINX_LOAD_MODULES};

    my $many = join ' ', map { "location = /r$_ { gw_route route-$_; }" }
               1 .. 2000;

    my @bad = (
        ['gw_metrics_endpoint without a zone',
         'server { location /m { gw_metrics_endpoint; } }',
         qr/gw_metrics_endpoint needs gw_metrics_zone/],
        ['a route with a quote',
         'server { location / { gw_route \'a"b\'; } }',
         qr/invalid route name "a"b"/],
        ['a route with a space',
         'server { location / { gw_route "a b"; } }',
         qr/invalid route name "a b"/],
        ['an empty route',
         'server { location / { gw_route ""; } }',
         qr/invalid route name ""/],
        ['a route over 64 bytes',
         'server { location / { gw_route ' . ('x' x 65) . '; } }',
         qr/invalid route name "x{65}": 1 to 64 bytes/],
        ['gw_route twice',
         'server { location / { gw_route a; gw_route b; } }',
         qr/"gw_route" directive is duplicate/],
        ['buckets not ascending',
         'gw_metrics_buckets 0.1 0.05;',
         qr/invalid bucket "0.05"/],
        ['a bucket of zero',
         'gw_metrics_buckets 0 1;',
         qr/invalid bucket "0"/],
        ['a bucket that is not a number',
         'gw_metrics_buckets 1s;',
         qr/invalid bucket "1s"/],
        ['33 buckets',
         'gw_metrics_buckets ' . join(' ', 1 .. 33) . ';',
         qr/at most 32 buckets/],
        ['a zone below 32k',
         'gw_metrics_zone 8k;',
         qr/invalid gw_metrics_zone size "8k"/],
        ['two zones',
         'gw_metrics_zone 1m; gw_metrics_zone 1m;',
         qr/"gw_metrics_zone" directive is duplicate/],
        ['a zone too small for its routes',
         "gw_metrics_zone 64k; server { $many }",
         qr/gw_metrics_zone 64k is too small: 2001 routes, 11 buckets, 0 consumers and 1 workers need at least \d+k/],
        ['gw_metrics_endpoint in a server',
         'gw_metrics_zone 1m; server { gw_metrics_endpoint; }',
         qr/"gw_metrics_endpoint" directive is not allowed here/],
        ['gw_metrics_consumers abc',
         'gw_metrics_consumers abc;',
         qr/"gw_metrics_consumers" directive invalid number/],
    );

    for my $case (@bad) {
        my ($name, $http, $re) = @$case;
        my ($ok, $out) = nginx_t($http);
        ok(!$ok, "nginx -t fails: $name");
        like($out, qr/\[emerg\][^\n]*$re/, "the [emerg] line names it: $name");
    }

    my @good = (
        ['gw_route without a zone (for logs)',
         'server { location / { gw_route orders; } }'],
        ['every directive',
         'gw_metrics_zone 1m; gw_metrics_buckets 0.001 0.5 2.25 60;'
         . ' gw_metrics_consumers 100; gw_route all; gw_metrics on;'
         . ' server { gw_route srv; location /m { gw_metrics_endpoint;'
         . ' gw_metrics off; } location / { gw_route orders.v1:/x-y; } }'],
        ['2000 routes in a zone big enough',
         "gw_metrics_zone 8m; server { $many }"],
    );

    for my $case (@good) {
        my ($name, $http) = @$case;
        my ($ok, $out) = nginx_t($http);
        ok($ok, "nginx -t passes: $name") or diag($out);
    }
}

run_tests();

__DATA__

=== TEST 1: requests by route, method and status class; unnamed locations count as route=""
--- http_config
    gw_metrics_zone 1m;
--- config
    location = /metrics { gw_metrics_endpoint; gw_metrics off; }
    location /orders/ { gw_route orders; return 200 "ok\n"; }
    location /users/ {
        gw_route users;
        location /users/admin { return 403; }
        return 404;
    }
    location /plain { return 301 /x; }
    location /quiet { gw_metrics off; return 200; }
--- request eval
["GET /orders/1", "GET /orders/2?x=1", "POST /orders/3\nabc",
 "HEAD /orders/4", "GET /users/7", "DELETE /users/admin",
 "GET /plain", "GET /quiet", "GET /metrics"]
--- error_code eval
[200, 200, 200, 200, 404, 403, 301, 200, 200]
--- response_headers eval
["", "", "", "", "", "", "", "",
 "Content-Type: text/plain; version=0.0.4; charset=utf-8"]
--- response_body_like eval
[".*", ".*", ".*", "", ".*", ".*", ".*", ".*",
 qr/\A(?=.*^gw_http_requests_total\{route="orders",method="GET",status="2xx"\}\ 2$)
     (?=.*^gw_http_requests_total\{route="orders",method="POST",status="2xx"\}\ 1$)
     (?=.*^gw_http_requests_total\{route="orders",method="HEAD",status="2xx"\}\ 1$)
     (?=.*^gw_http_requests_total\{route="users",method="GET",status="4xx"\}\ 1$)
     (?=.*^gw_http_requests_total\{route="users",method="DELETE",status="4xx"\}\ 1$)
     (?=.*^gw_http_requests_total\{route="",method="GET",status="3xx"\}\ 1$)
     (?!.*\/orders)(?!.*quiet)(?!.*status="5xx")
     (?!.*^gw_http_requests_total\{route="",method="GET",status="2xx"\})
     (?=.*^\#\ TYPE\ gw_http_requests_total\ counter$)
     (?=.*^\#\ TYPE\ gw_http_request_duration_seconds\ histogram$)
     (?=.*^gw_metrics_workers\ 1$)
     (?=.*^gw_audit_dropped_total\ 0$)
     (?!.*gw_redis_)/msx]
--- no_error_log
[error]



=== TEST 2: configured buckets; the upstream histogram counts proxied requests only
--- http_config
    gw_metrics_zone 1m;
    gw_metrics_buckets 0.05 0.5 2.25;
--- config
    location = /metrics { gw_metrics_endpoint; gw_metrics off; }
    location = /proxied {
        gw_route api;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up;
    }
    location = /up { gw_metrics off; return 200 "up\n"; }
    location = /local { gw_route local; return 200 "local\n"; }
--- request eval
["GET /proxied", "GET /proxied", "GET /local", "GET /metrics"]
--- response_body_like eval
["up", "up", "local",
 qr/\A(?=.*^gw_http_request_duration_seconds_bucket\{route="api",le="0\.05"\}\ 2$)
     (?=.*^gw_http_request_duration_seconds_bucket\{route="api",le="0\.5"\}\ 2$)
     (?=.*^gw_http_request_duration_seconds_bucket\{route="api",le="2\.25"\}\ 2$)
     (?=.*^gw_http_request_duration_seconds_bucket\{route="api",le="\+Inf"\}\ 2$)
     (?=.*^gw_http_request_duration_seconds_sum\{route="api"\}\ \d+\.\d{3}$)
     (?=.*^gw_http_request_duration_seconds_count\{route="api"\}\ 2$)
     (?=.*^gw_http_request_duration_seconds_count\{route="local"\}\ 1$)
     (?=.*^gw_http_upstream_duration_seconds_bucket\{route="api",le="\+Inf"\}\ 2$)
     (?=.*^gw_http_upstream_duration_seconds_count\{route="api"\}\ 2$)
     (?!.*gw_http_upstream_duration_seconds_count\{route="local"\})
     (?!.*le="10")/msx]
--- no_error_log
[error]



=== TEST 3: JWT decisions by route and outcome, and the auth variables
--- http_config
    gw_metrics_zone 1m;
--- config
    location = /metrics { gw_metrics_endpoint; gw_metrics off; }
    location /api/ {
        gw_route api;
        gw_jwt api;
        gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
        gw_jwt_scope read;
        proxy_set_header X-Auth "$gw_auth_mechanism:$gw_auth_outcome";
        proxy_set_header X-Route $gw_route;
        add_header X-Outcome "$gw_auth_mechanism:$gw_auth_outcome" always;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/up/;
        location /api/admin {
            gw_jwt api;
            gw_jwt_key_file $TEST_NGINX_KEYS/rsa.pem;
            gw_jwt_scope admin;
            add_header X-Outcome "$gw_auth_mechanism:$gw_auth_outcome" always;
        }
    }
    location /up/ {
        gw_metrics off;
        return 200 "auth=$http_x_auth route=$http_x_route\n";
    }
--- more_headers eval
["", "Authorization: Bearer $::tok{expired}", "Authorization: Bearer $::tok{good}",
 "Authorization: Bearer $::tok{good}", "Authorization: Bearer $::tok{good}", ""]
--- request eval
["GET /api/a", "GET /api/b", "GET /api/c", "GET /api/d", "GET /api/admin",
 "GET /metrics"]
--- error_code eval
[401, 401, 200, 200, 403, 200]
--- response_headers eval
["X-Outcome: jwt:missing", "X-Outcome: jwt:invalid", "X-Outcome: jwt:ok",
 "X-Outcome: jwt:ok", "X-Outcome: jwt:forbidden", "X-Outcome: "]
--- response_body_like eval
[".*", ".*", "^auth=jwt:ok route=api\$", "^auth=jwt:ok route=api\$", ".*",
 qr/\A(?=.*^gw_auth_decisions_total\{route="api",mechanism="jwt",outcome="missing"\}\ 1$)
     (?=.*^gw_auth_decisions_total\{route="api",mechanism="jwt",outcome="invalid"\}\ 1$)
     (?=.*^gw_auth_decisions_total\{route="api",mechanism="jwt",outcome="ok"\}\ 2$)
     (?=.*^gw_auth_decisions_total\{route="api",mechanism="jwt",outcome="forbidden"\}\ 1$)
     (?=.*^gw_http_requests_total\{route="api",method="GET",status="4xx"\}\ 3$)
     (?=.*^gw_http_requests_total\{route="api",method="GET",status="2xx"\}\ 2$)
     (?!.*mechanism="key")/msx]
--- no_error_log
[error]



=== TEST 4: the endpoint answers GET and HEAD only
--- http_config
    gw_metrics_zone 1m;
--- config
    location = /metrics { gw_metrics_endpoint; }
--- request eval
["POST /metrics\nx", "HEAD /metrics", "GET /metrics"]
--- error_code eval
[405, 200, 200]
--- response_body_like eval
[".*", "",
 qr/\A(?=.*^gw_http_requests_total\{route="",method="POST",status="4xx"\}\ 1$)
     (?=.*^gw_http_requests_total\{route="",method="HEAD",status="2xx"\}\ 1$)/msx]
--- no_error_log
[error]



=== TEST 5: $gw_route without a zone, inherited from the server, empty when unnamed
--- config
    gw_route site;
    location = /a { return 200 "[$gw_route]\n"; }
    location = /b { gw_route other; return 200 "[$gw_route]\n"; }
--- request eval
["GET /a", "GET /b"]
--- response_body eval
["[site]\n", "[other]\n"]
--- no_error_log
[error]



=== TEST 6: unnamed when neither server nor location names a route
--- config
    location = /a { return 200 "[$gw_route]\n"; }
--- request
GET /a
--- response_body
[]
--- no_error_log
[error]



=== TEST 7: $gw_status is the status as a plain number, for JSON logs
--- config
    location = /a { add_header X-Status $gw_status always; return 404; }
    location = /b { add_header X-Status $gw_status; return 200 "[$gw_status]\n"; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[404, 200]
--- response_headers eval
["X-Status: 404", "X-Status: 200"]
--- response_body_like eval
[".*", "^\\[200\\]\$"]
--- no_error_log
[error]
