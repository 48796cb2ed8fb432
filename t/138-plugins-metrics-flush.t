# The per-plugin counters across workers and reloads (docs/plugins-shared.md,
# "Metrics"): each worker counts its calls on its own and adds them to the
# shared zone at most 100 ms later, before its own scrapes, and when it
# exits.  Two workers serve 60 requests on fresh connections; a scrape
# 300 ms later, whichever worker answers it, counts every call exactly
# (access and header filter, and the histogram's count); 25 more, then
# at once (well within the 100 ms) the workers that served them are told
# to quit and exit with their counts not flushed by the timer: the
# workers the master starts in their place count all 85.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use Test::More;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);
use Tollgate::Gateway;

my $dir = tempdir('tollgate-pm-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;

open my $f, '>', "$dir/mf.lua" or die;
print $f <<'_EOL_';
local P = {}
function P.access(conf, ctx) end
function P.header_filter(conf, ctx) gw.resp.set_header("X-M", "1") end
return P
_EOL_
close $f;
open $f, '>', "$dir/mf.schema.json" or die;
print $f qq({"type": "object"}\n);
close $f;

my $gw = Tollgate::Gateway->start(workers => 2, http => <<"_EOC_");
    gw_metrics_zone 1m;
    gw_plugin_path $dir trusted;
    server {
        listen 127.0.0.1:\$PORT reuseport;
        location = /metrics { gw_metrics_endpoint; gw_metrics off; }
        location = /up { gw_metrics off; return 200 "up\\n"; }
        location = /m {
            gw_plugin mf '{}';
            add_header X-Worker \$pid;
            proxy_pass http://127.0.0.1:\$PORT/up;
        }
    }
_EOC_

is(scalar(() = $gw->workers), 2, 'two workers');

sub calls {
    my $body = $gw->get('/metrics')->{body};
    my %c;
    for my $phase (qw(access header_filter)) {
        ($c{$phase}) = $body =~ /^gw_plugin_calls_total\{plugin="mf",
                                 phase="$phase",result="ok"\}\ (\d+)$/mx;
        $c{$phase} //= 0;
    }
    ($c{count}) = $body =~ /^gw_plugin_call_seconds_count\{plugin="mf",
                            phase="access"\}\ (\d+)$/mx;
    $c{count} //= 0;
    return \%c;
}

# n requests: how many the plugin answered, and the workers that did
sub serve {
    my ($n) = @_;
    my ($ok, %by) = (0);
    for (1 .. $n) {
        my $res = $gw->get('/m');
        next unless $res->{status} == 200
                    && ($res->{headers}{'x-m'} // '') eq '1';
        $ok++;
        $by{$res->{headers}{'x-worker'} // 0}++;
    }
    return wantarray ? ($ok, [sort keys %by]) : $ok;
}

is(serve(60), 60, '60 requests answered by the plugin');
sleep 0.3;

for my $try (1 .. 4) {
    my $c = calls();
    is_deeply($c, { access => 60, header_filter => 60, count => 60 },
              "scrape $try: every call of both workers counted");
}

my ($ok, $by) = serve(25);
kill 'QUIT', @$by;
is($ok, 25, '25 more, by ' . scalar(@$by) . ' worker(s), told to quit');

# the workers that quit gone, new ones in their place
my %quit = map { $_ => 1 } @$by;
my $deadline = time + 10;
while (time < $deadline) {
    my %now = map { $_ => 1 } $gw->workers;
    last if !grep({ $now{$_} } keys %quit) && keys %now == 2;
    sleep 0.05;
}
my %now = map { $_ => 1 } $gw->workers;
ok(!grep({ $now{$_} } keys %quit) && keys %now == 2,
   'the workers that quit were replaced');

is_deeply(calls(), { access => 85, header_filter => 85, count => 85 },
          'the calls of the workers that quit are counted');

my @bad = grep { /\[(?:alert|crit|emerg)\]/ } $gw->error_log;
is("@bad", '', 'no alert in the error log');

$gw->stop;
done_testing();
