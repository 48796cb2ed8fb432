package Tollgate::Routing;

# What the dynamic-routing suites (t/110 .. t/117, plain Test::More)
# share: Redis (Tollgate::Redis) and the metadata service
# (t/backends/Metadata.pm, build/backends/metadata) started once per
# file, gateways (Tollgate::Gateway) that follow the service's change log
# with gw_config, entities made through the admin API, and waiting until
# a gateway serves what was made.
#
#     use Tollgate::Routing qw(:all);
#     skip_unless_built('gwctl');      # plan skip_all: module, service,
#                                      # (gwctl,) redis-server
#     my ($redis, $md) = start(env => { LOG_RETENTION => 10 });
#     my $gw = gateway(workers => 2, upstream => 'keepalive 16;',
#                      http => <<'_EOC_');
#         server { listen 127.0.0.1:$PORT; location / { gw_router; } }
#     _EOC_
#     create('upstreams', 'u1', { targets => [...] });  # a test: 201
#     update('routes', 'r1', { ... });                  # a test: 200
#     my ($st, $version, $json) = put('routes', 'r1', $doc, $new);
#     my ($st, $json) = api('DELETE', '/v1/routes/r1', undef,
#                           'If-Match' => '*');
#     until_true(sub { ... });         # true three times in a row
#     until_all($gw, $revision);       # every worker serves it
#     until_applied($revision, 20, @gws);   # by gw_config_status
#     status($gw);                     # /gw/config (gw_config_status)
#     my $r = ask($gw, '/path', Host => 'h', Method => 'POST',
#                 Body => '{}', 'X-Header' => 'v');
#     problem($r);  log_count($gw, qr/.../);  errors(@gws);  rss(@pids);
#
# gateway() writes the http{} block's head: "gw_redis" to our Redis,
# "gw_config zone=gw_config:8m interval=200ms" (zone => and interval =>
# change them) and, with upstream => text, "upstream gw_dynamic {
# gw_upstream; text }"; the rest of the options go to
# Tollgate::Gateway->start.  The entity helpers talk to the service of
# the last start(), as an admin with write access.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use lib dirname(abs_path(__FILE__)) . '/../../backends';

use Exporter qw(import);
use JSON::PP ();
use Test::More ();
use Time::HiRes qw(sleep time);

use Metadata;
use Tollgate::Gateway;
use Tollgate::Gwctl;
use Tollgate::Redis;

our @EXPORT_OK = qw(skip_unless_built start gateway api put create update
                    until_true revisions until_all until_applied status
                    ask problem log_count errors rss);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

# Metadata.pm looks next to the test file (t/backends); ours are in t/
$Metadata::BIN = dirname(abs_path(__FILE__)) . '/../../../build/backends/'
                 . 'metadata' unless $ENV{TEST_METADATA_BINARY};

my ($Redis, $Md);

# skip_unless_built(@also): plan skip_all unless the module, the metadata
# service, (with 'gwctl', build/gwctl) and redis-server are there
sub skip_unless_built {
    my %also = map { $_ => 1 } @_;
    Test::More::plan(skip_all => 'the module is not built (run make)')
        unless -f (Tollgate::Gateway::modules())[0];
    Test::More::plan(skip_all => 'the metadata service is not built (run '
                                 . 'make backends)')
        unless -x Metadata::binary();
    Test::More::plan(skip_all => 'gwctl is not built (run make build/gwctl)')
        if $also{gwctl} && !-x Tollgate::Gwctl::gwctl_binary();
    Test::More::plan(skip_all => 'redis-server is not installed')
        unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';
}

# start(%opt): ($redis, $md): a Redis, and the metadata service on it
# started with Metadata::start(%opt)
sub start {
    my (%opt) = @_;
    $Redis = Tollgate::Redis->start;
    $Md = Metadata::start(redis => $Redis->address, %opt);
    return ($Redis, $Md);
}

# gateway(%opt): a Tollgate::Gateway following the admin API (above)
sub gateway {
    my (%opt) = @_;
    my $zone = delete $opt{zone} // 'gw_config:8m';
    my $interval = delete $opt{interval} // '200ms';
    my $up = delete $opt{upstream};
    my $head = '    gw_redis ' . $Redis->address . ";\n"
               . "    gw_config zone=$zone interval=$interval;\n";
    $head .= "    upstream gw_dynamic {\n        gw_upstream;\n"
             . (length $up ? "        $up\n" : '') . "    }\n"
        if defined $up;
    return Tollgate::Gateway->start(%opt, http => $head . ($opt{http} // ''));
}

# api($method, $path, $body, %headers): Metadata::call on the service
sub api { return Metadata::call($Md, @_) }

# put($type, $id, $doc, $new): (status, the new version, the JSON); $new
# creates (If-None-Match: *), else it replaces (If-Match: *)
sub put {
    my ($type, $id, $doc, $new) = @_;
    my ($st, $j) = api('PUT', "/v1/$type/$id", $doc,
                       $new ? ('If-None-Match' => '*') : ('If-Match' => '*'));
    return ($st, ref $j ? $j->{version} : undef, $j);
}

# create/update($type, $id, $doc): put(), and a test of its status
sub create {
    my ($type, $id, $doc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my ($st, undef, $j) = put($type, $id, $doc, 1);
    Test::More::is($st, 201, "$type $id created") or Test::More::diag(
        Test::More::explain($j));
}

sub update {
    my ($type, $id, $doc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my ($st, undef, $j) = put($type, $id, $doc);
    Test::More::is($st, 200, "$type $id updated") or Test::More::diag(
        Test::More::explain($j));
}

# until_true($cond, $seconds): polls until $cond holds three times in a
# row (the workers of a gateway answer in turn); 10 s at most
sub until_true {
    my ($cond, $limit) = @_;
    my $deadline = time + ($limit // 10);
    while (time < $deadline) {
        return 1 if $cond->() && $cond->() && $cond->();
        sleep 0.05;
    }
    return 0;
}

# revisions($gw, $path): the revision each worker serves, { pid =>
# revision }, from GETs of $path (/probe) on new connections until every
# worker answered (or 200 tries); $path answers "$pid $gw_config_revision"
sub revisions {
    my ($gw, $path) = @_;
    my %rev;
    for (1 .. 200) {
        my $r = $gw->get($path // '/probe');
        $rev{$1} = $2 if $r->{body} =~ /^(\d+) (\d*)$/;
        last if keys %rev >= ($gw->{workers} // 1);
    }
    return \%rev;
}

# until_all($gw, $want, $seconds): waits until every worker serves
# revision $want (revisions()); the seconds it took, undef past $seconds
sub until_all {
    my ($gw, $want, $limit) = @_;
    my $t0 = time;
    my $deadline = $t0 + ($limit // 10);
    while (time < $deadline) {
        my $rev = revisions($gw);
        return time - $t0 if keys %$rev >= ($gw->{workers} // 1)
                             && !grep { $_ ne $want } values %$rev;
        sleep 0.01;
    }
    return undef;
}

# status($gw): the decoded JSON of its /gw/config (gw_config_status)
sub status {
    my ($gw) = @_;
    my $r = $gw->get('/gw/config');
    return $r->{status} == 200 ? eval { JSON::PP::decode_json($r->{body}) }
                               : undef;
}

# until_applied($rev, $seconds, @gws): true once every gateway's status
# says revision $rev or later
sub until_applied {
    my ($rev, $limit, @gws) = @_;
    return Metadata::wait_for(sub {
        !grep { ((status($_) // {})->{revision} // 0) < $rev } @gws }, $limit);
}

# ask($gw, $path, %headers): a request on a new connection; Host
# (api.test), Method (GET) and Body (with its Content-Length) among the
# headers
sub ask {
    my ($gw, $path, %h) = @_;
    my $host = delete $h{Host} // 'api.test';
    my $method = delete $h{Method} // 'GET';
    my $body = delete $h{Body};
    $h{'Content-Length'} = length $body if defined $body;
    my $hd = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    return $gw->request("$method $path HTTP/1.1\r\nHost: $host\r\n$hd"
                        . "Connection: close\r\n\r\n" . ($body // ''));
}

# problem($r): an application/problem+json answer's members, else {}
sub problem {
    my ($r) = @_;
    return {} unless ($r->{headers}{'content-type'} // '')
                     =~ m{^application/problem\+json};
    return eval { JSON::PP::decode_json($r->{body}) } // {};
}

sub log_count {
    my ($gw, $re) = @_;
    return scalar grep { /$re/ } $gw->error_log;
}

# errors(@gws): their error.log lines at [error] or above
sub errors {
    return grep { /\[(error|crit|alert|emerg)\]/ } map { $_->error_log } @_;
}

# rss(@pids): their VmRSS summed, in KiB
sub rss {
    my $kb = 0;
    for my $pid (@_) {
        open my $in, '<', "/proc/$pid/status" or next;
        while (my $line = <$in>) {
            $kb += $1 if $line =~ /^VmRSS:\s+(\d+)/;
        }
    }
    return $kb;
}

1;
