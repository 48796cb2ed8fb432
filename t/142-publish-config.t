# vi:ft=perl
#
# gw_topic and gw_publish: configuration checked by "nginx -t"
# (docs/publish.md).  A bad name, partitions or maxlen fails with an
# [emerg] line naming the value; so do an unknown topic, a topic declared
# twice, a bad key= parameter and topics without gw_redis.  Plain
# Test::More, as t/102-validate-config.t.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::More;
use Tollgate::JWT qw(nginx_t);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my $redis = 'gw_redis 127.0.0.1:1;';

sub conf {
    my ($topics, $loc) = @_;
    return "$redis $topics server { location /p { "
           . ($loc // 'gw_publish t;') . ' } }';
}

my @bad = (
    ['an upper-case name', conf('gw_topic Orders;', 'gw_publish Orders;'),
     qr/gw_topic: invalid name "Orders": only a-z, 0-9/],
    ['a name with a colon', conf('gw_topic a:b;', 'gw_publish a:b;'),
     qr/gw_topic: invalid name "a:b"/],
    ['a name of 65 bytes', conf('gw_topic ' . ('n' x 65) . ';'),
     qr/gw_topic: invalid name "n{65}": 1 to 64 bytes/],
    ['partitions=0', conf('gw_topic t partitions=0;'),
     qr/gw_topic: invalid value "partitions=0": partitions must be 1 to 1024/],
    ['partitions=1025', conf('gw_topic t partitions=1025;'),
     qr/invalid value "partitions=1025": partitions must be 1 to 1024/],
    ['partitions not a number', conf('gw_topic t partitions=many;'),
     qr/invalid value "partitions=many"/],
    ['maxlen=0', conf('gw_topic t maxlen=0;'),
     qr/gw_topic: invalid value "maxlen=0": maxlen must be 1 to 1000000000/],
    ['maxlen=-5', conf('gw_topic t maxlen=-5;'),
     qr/invalid value "maxlen=-5"/],
    ['an unknown parameter', conf('gw_topic t retention=1d;'),
     qr/gw_topic: invalid or repeated parameter "retention=1d"/],
    ['a repeated parameter', conf('gw_topic t partitions=2 partitions=3;'),
     qr/gw_topic: invalid or repeated parameter "partitions=3"/],
    ['a topic declared twice', conf('gw_topic t; gw_topic t partitions=2;'),
     qr/gw_topic: topic "t" is declared twice/],
    ['an unknown topic', conf('gw_topic t;', 'gw_publish nope;'),
     qr/gw_publish: unknown topic "nope"/],
    ['a parameter other than key=', conf('gw_topic t;', 'gw_publish t k=1;'),
     qr/gw_publish: invalid parameter "k=1", expected key=<value>/],
    ['gw_publish twice', conf('gw_topic t;', 'gw_publish t; gw_publish t;'),
     qr/"gw_publish" directive is duplicate/],
    ['gw_topic in a server', "$redis server { gw_topic t; }",
     qr/"gw_topic" directive is not allowed here/],
    ['gw_publish at server level', "$redis gw_topic t; server { gw_publish t; }",
     qr/"gw_publish" directive is not allowed here/],
    ['topics without gw_redis', 'gw_topic t; server { location /p { '
                                . 'gw_publish t; } }',
     qr/gw_topic needs gw_redis/],
);

for my $case (@bad) {
    my ($name, $http, $re) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok(!$ok, "nginx -t fails: $name");
    like($out, qr/\[emerg\].*$re/, "  and says why: $name") or diag $out;
}

my @good = (
    ['the defaults', conf('gw_topic t;')],
    ['every parameter at its bounds',
     conf('gw_topic t partitions=1024 maxlen=1000000000; '
          . 'gw_topic a.b-c_9 partitions=1 maxlen=1;',
          'gw_publish t key=$http_x_tenant:$arg_k;')],
    ['a key of several variables, the check interval',
     conf('gw_topic t partitions=8; gw_publish_check_interval 1s;',
          'gw_publish t key=${remote_addr}-$http_x_tenant;')],
    ['no checks', conf('gw_topic t; gw_publish_check_interval 0;')],
    ['a topic no location publishes to', conf('gw_topic t; gw_topic u;')],
);

for my $case (@good) {
    my ($name, $http) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok($ok, "nginx -t passes: $name") or diag $out;
}

done_testing();
