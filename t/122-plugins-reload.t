# vi:ft=perl
#
# Lua plugins: hot reload (docs/plugins.md, "Hot reload").  A gateway of
# two workers: a plugin file edited in place is picked up by every worker
# within gw_plugin_reload, without an nginx reload (same worker pids); an
# edit that breaks the chunk, or a schema the gw_plugin configuration no
# longer passes, keeps the last good version and is logged once per
# worker; fixing it is picked up again; a new version may require a
# shared module of a trusted lib/.  The test edits the files and
# polls for the answer to change: it asserts on what was served, not on
# time.  Plain Test::More with Tollgate::Gateway.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(sleep);

use Tollgate::Gateway;

my $dir = tempdir(CLEANUP => 1);
chmod 0755, $dir;    # the workers (nobody) stat and read it

sub spew {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name.tmp" or die "$dir/$name.tmp: $!";
    print $fh $text;
    close $fh;
    rename "$dir/$name.tmp", "$dir/$name" or die "rename $name: $!";
}

sub lua {
    my ($v) = @_;
    return "return { access = function(conf, ctx)\n"
           . "    gw.exit(200, '$v ' .. conf.w .. '\\n')\nend }\n";
}

spew('live.lua', lua('v1'));
spew('live.schema.json', '{"properties": {"w": {"type": "string"}}}');

# two plugins of one location, each answering with its name: the one of
# higher priority answers, so the answer tells the order they run in
sub answers {
    my ($name, $priority) = @_;
    return "return { priority = $priority,\n"
           . "    access = function(conf, ctx) gw.exit(200, '$name\\n') end }\n";
}

spew('first.lua', answers('first', 20));
spew('second.lua', answers('second', 10));
spew("$_.schema.json", '{"type": "object"}') for qw(first second);

# a trusted directory with only a shared module (docs/plugins.md,
# "Shared modules"): a hot-reloaded version may require it
my $ldir = tempdir(CLEANUP => 1);
chmod 0755, $ldir;
mkdir "$ldir/lib" or die "$ldir/lib: $!";
chmod 0755, "$ldir/lib";
open my $mfh, '>', "$ldir/lib/shared.lua" or die "shared.lua: $!";
print $mfh "return { tag = function (v) return 'shared ' .. v end }\n";
close $mfh;

my $gw = Tollgate::Gateway->start(workers => 2, http => <<"_EOC_");
    gw_plugin_path $dir;
    gw_plugin_path $ldir trusted;
    gw_plugin_reload 100ms;
    server {
        listen 127.0.0.1:\$PORT;
        location /t {
            add_header X-Pid \$pid always;
            gw_plugin live '{"w": "x"}';
            proxy_pass http://127.0.0.1:1;
        }
        location /o {
            add_header X-Pid \$pid always;
            gw_plugin first;
            gw_plugin second;
            proxy_pass http://127.0.0.1:1;
        }
    }
_EOC_

my @workers = sort $gw->workers;
is(scalar @workers, 2, 'two workers');

# every worker serves the version matching re (new connections each time,
# so both workers answer), within 5 seconds
sub until_all {
    my ($re, $path) = @_;
    my %seen;
    for (1 .. 200) {
        my $res = $gw->get($path // '/t');
        if (($res->{body} // '') =~ $re) {
            $seen{ $res->{headers}{'x-pid'} // '' } = 1;
            return 1 if keys %seen == 2;
        } else {
            %seen = ();
        }
        sleep 0.025;
    }
    return 0;
}

sub serves {
    my ($re, $n) = @_;
    for (1 .. $n) {
        return 0 unless ($gw->get('/t')->{body} // '') =~ $re;
    }
    return 1;
}

sub failures {
    return scalar grep { /plugin "live": the changed files are not loaded/ }
                  $gw->error_log;
}

ok(until_all(qr/^v1 x$/), 'version 1 serves');

# ---- an edit is picked up without a reload -----------------------------

spew('live.lua', lua('v2'));
ok(until_all(qr/^v2 x$/), 'an edit is served by both workers');
is_deeply([sort $gw->workers], \@workers, '  the same workers');

# ---- a broken edit keeps the last good version, logged once ------------

spew('live.lua', "return { access = function(\n");
sleep 0.5;
ok(serves(qr/^v2 x$/, 10), 'a chunk that does not compile: v2 serves');
sleep 0.5;
ok(serves(qr/^v2 x$/, 10), '  still, later');
is(failures(), 2, '  one error per worker, not one per check');
my ($line) = grep { /plugin "live": the changed/ } $gw->error_log;
like($line // '', qr/\[error\].*live\.lua: error: /, '  naming the file');

# ---- a schema the gw_plugin configuration does not pass ----------------

spew('live.lua', lua('v3'));
ok(until_all(qr/^v3 x$/), 'fixed: v3 serves');

spew('live.schema.json', '{"properties": {"w": {"type": "integer"}}}');
sleep 0.5;
ok(serves(qr/^v3 x$/, 10), 'a schema the configuration fails: v3 serves');
ok((grep { /plugin "live": the changed.*live\.schema\.json: \/w: / }
        $gw->error_log),
   '  logged with the schema file and the pointer');

spew('live.schema.json', '{"properties": {"w": {"type": "string"}}}');
spew('live.lua', lua('v4'));
ok(until_all(qr/^v4 x$/), 'both fixed: v4 serves');

# ---- a hot-reloaded version gets the shared modules --------------------

spew('live.lua', "local shared = require('shared')\n"
                 . "return { access = function(conf, ctx)\n"
                 . "    gw.exit(200, shared.tag('v5') .. ' ' .. conf.w "
                 . ".. '\\n')\nend }\n");
ok(until_all(qr/^shared v5 x$/), 'a version requiring a shared module');

# ---- a changed priority changes the order ------------------------------

ok(until_all(qr/^first$/, '/o'), 'the plugin of higher priority runs first');
spew('second.lua', answers('second', 30));
ok(until_all(qr/^second$/, '/o'),
   'a hot-reloaded priority reorders the location\'s plugins');
spew('second.lua', answers('second', 10));
ok(until_all(qr/^first$/, '/o'), '  and back');

is_deeply([sort $gw->workers], \@workers, '  never reloaded');
ok(!(grep { /\[(alert|crit|emerg)\]/ } $gw->error_log), 'no alert');

$gw->stop;

done_testing();
