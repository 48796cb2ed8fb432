package Test::Nginx::Util;

# Tollgate's stand-in for CPAN's Test::Nginx::Util: the settings shared by
# every test file, the server root and nginx.conf it generates, and the life
# of the nginx process it tests.  Test::Nginx::Socket (same folder) sends the
# requests and checks the answers.
#
# The key design decision: nginx runs as our own child with "daemon off", in
# its own process group, started before a block and stopped after it.  Being
# the parent we see how it exited (a crash is a signal in waitpid(), not a
# guess), we can always kill every process it left, and stopping it at the
# end of the block lets us check what it logged while shutting down (leaked
# connections, exit handlers) against the block that caused it.  The real
# Test::Nginx daemonises nginx and stops it only when the next block starts.

use strict;
use warnings;

use base 'Exporter';

use Carp ();
use Fcntl qw(:flock);
use File::Path qw(make_path remove_tree);
use File::Spec ();
use IO::Socket::INET ();
use List::Util qw(shuffle);
use POSIX qw(:sys_wait_h SIGQUIT SIGKILL);
use Time::HiRes qw(sleep time);
use Test::More ();

our @EXPORT = qw(
    env_to_nginx is_str no_long_string server_addr server_name timeout
    no_shuffle no_nginx_manager use_hup check_accum_error_log
    add_block_preprocessor
    add_cleanup_handler add_test_cleanup_handler bail_out repeat_each
    worker_connections workers master_on master_off master_process_enabled
    log_level no_root_location config_preamble html_dir server_root
    server_port server_port_for_client sleep_time run_tests run_test
    expand_env_in_text parse_time parse_headers value_contains fmt_str
    error_log_data check_fatal_log_lines get_indexed_value nginx_gone
    $ServerAddr $ServerName $ServerPort $ServerPortForClient $ServRoot
    $ConfFile $PidFile $NginxBinary $NginxVersion $NginxRawVersion
    $NoLongString $RepeatEach $RunTestHelper $FilterHttpConfig
);

# Settings, named and defaulted as in the real Test::Nginx::Util.
our $NginxBinary   = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
our $LoadModules   = $ENV{TEST_NGINX_LOAD_MODULES};
our $UseValgrind   = $ENV{TEST_NGINX_USE_VALGRIND};
our $NoShuffle     = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $Timeout       = $ENV{TEST_NGINX_TIMEOUT} || 3;          # seconds
our $TestNginxSleep = $ENV{TEST_NGINX_SLEEP} || 0.015;       # seconds
our $LogLevel      = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $ServerAddr    = '127.0.0.1';
our $ServerName    = 'localhost';
our $ServerPort    = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                     || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our ($RepeatEach, $Workers, $WorkerConnections) = (1, 1, 64);
our ($NoRootLocation, $NoLongString, $NoNginxManager) = (0, 0, 0);
our $ConfigPreamble = '';
our (@EnvToNginx, @BlockPreprocessors, @CleanupHandlers, @TestCleanupHandlers);
our ($RunTestHelper, $FilterHttpConfig, $NginxVersion, $NginxRawVersion);

our $ServRoot   = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT}
                                      || 't/servroot');

# TEST_NGINX_RANDOMIZE gives each test file its own port and server root,
# so that "prove -j" can run files side by side (as in the real runner).
sub free_port ();
our $Randomize = $ENV{TEST_NGINX_RANDOMIZE};
if ($Randomize) {
    $ServerPort = $ServerPortForClient = free_port();
    $ServRoot = File::Spec->rel2abs("t/servroot_$ServerPort");
}
our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;

our $NginxPid;              # our nginx child, while it runs
our $ErrLogFilePos = 0;     # bytes of error.log the checks have consumed
our $ErrLogSeenPos = 0;     # furthest byte any check has read
our %RandPorts;             # $TEST_NGINX_RAND_PORT_<n> values of this block
our $PrevConfigBlock;       # a block without "--- config" reuses this one's
our $ServRootLock;         # flock()ed handle on $ServRoot
our $InChild = 0;

sub value_contains ($$);

sub env_to_nginx (@) {
    for my $v (@_) {
        Carp::croak("env_to_nginx: bad argument value: $v")
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

# Accessors: set with an argument, read without one.
sub server_addr (@)        { @_ ? ($ServerAddr = shift) : $ServerAddr }
sub server_name (@)        { @_ ? ($ServerName = shift) : $ServerName }
sub timeout (@)            { @_ ? ($Timeout = shift) : $Timeout }
sub repeat_each (@)        { $RepeatEach = shift if @_; $RepeatEach }
sub worker_connections (@) { @_ ? ($WorkerConnections = shift)
                                 : $WorkerConnections }
sub workers (@)            { @_ ? ($Workers = shift) : $Workers }
sub log_level (@)          { @_ ? ($LogLevel = shift) : $LogLevel }
sub server_port (@)        { @_ ? ($ServerPort = shift) : $ServerPort }
sub server_port_for_client (@) { @_ ? ($ServerPortForClient = shift)
                                     : $ServerPortForClient }
sub master_process_enabled (@) {
    return $MasterProcessEnabled unless @_;
    $MasterProcessEnabled = shift() ? 'on' : 'off';
}
sub no_long_string ()      { $NoLongString = 1 }
sub no_shuffle ()          { $NoShuffle = 1 }
sub no_nginx_manager ()    { $NoNginxManager = 1 }
sub no_root_location ()    { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub master_on ()           { $MasterProcessEnabled = 'on' }
sub master_off ()          { $MasterProcessEnabled = 'off' }
sub config_preamble ($)    { $ConfigPreamble = shift }
sub html_dir ()            { $HtmlDir }
sub server_root ()         { $ServRoot }
sub sleep_time ()          { $TestNginxSleep }
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($)    { unshift @CleanupHandlers, shift }
sub add_test_cleanup_handler ($) { unshift @TestCleanupHandlers, shift }

# HUP reloading is a mode of the real runner we do not have; restarting
# per block gives the same answers, so accept the call and ignore it.
sub use_hup () { }

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    return Test::More::like($got, $expected, $desc)
        if ref $expected && ref $expected eq 'Regexp';
    return Test::More::is($got, $expected, $desc);
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# "100ms", "2s" or "2" (seconds) to seconds.
sub parse_time ($) {
    my $tm = shift;
    return undef unless defined $tm;
    $tm =~ s/^\s+|\s+$//g;
    return $1 / 1000 if $tm =~ /^([\d.]+)ms$/;
    $tm =~ s/s$//;
    return $tm;
}

# "Name: value" lines to a hash; "!Name" (or a bare name) means "absent",
# stored as undef.  A hash, so a repeated name is checked once, as in the
# real runner (the test count depends on it).
sub parse_headers ($) {
    my %headers;
    for (split /\n/, shift) {
        s/^\s+|\s+$//g;
        if (s/^!\s*//) {
            $headers{$_} = undef;
            next;
        }
        my ($key, $val) = split /\s*:\s*/, $_, 2;
        $headers{$key} = $val;
    }
    return \%headers;
}

# Does a section value (string, regex or array of them) mention $pat?
sub value_contains ($$) {
    my ($val, $pat) = @_;
    return $val =~ /\Q$pat\E/ if !ref $val || ref $val eq 'Regexp';
    return scalar grep { defined && value_contains($_, $pat) } @$val
        if ref $val eq 'ARRAY';
    return 0;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# The element of an expected value that belongs to request $idx.  A block
# sending several requests must give arrays, as the real runner demands.
sub get_indexed_value ($$$$) {
    my ($name, $value, $idx, $need_array) = @_;
    my $is_array = ref $value && ref $value eq 'ARRAY';
    if ($need_array && !$is_array) {
        bail_out("$name - You asked for many requests, the expected "
                 . "results should be arrays as well.");
    }
    return $is_array ? $value->[$need_array ? $idx : 0] : $value;
}

# Replaces $TEST_NGINX_* with the environment's values; an unset name is a
# mistake in the test, so stop.  $TEST_NGINX_RAND_PORT_<n> is a free port,
# chosen once per block.
sub expand_env_in_text ($$;$) {
    my ($text, $name) = @_;
    return undef unless defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            $RandPorts{$var} //= free_port();
        } else {
            bail_out("$name - No environment $var defined.\n")
                unless defined $ENV{$var};
            $ENV{$var};
        }
    }eg;
    return $text;
}

sub free_port () {
    my %used = map { $_ => 1 } grep { defined } $ServerPort, values %RandPorts;
    for (1 .. 1000) {
        my $port = 1988 + int rand 63000;
        next if $used{$port};
        my $s = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                      LocalPort => $port, Listen => 1,
                                      Proto => 'tcp', ReuseAddr => 1);
        return $port if $s && $s->close;
    }
    bail_out("Cannot find a free port");
}

sub get_nginx_version () {
    my $out = `$NginxBinary -V 2>&1`;
    if ($? != 0 || $out !~ m{nginx version: \S+?/(\d+)\.(\d+)\.(\d+)}) {
        bail_out("Cannot run \"$NginxBinary -V\" (set TEST_NGINX_BINARY): "
                 . ($out // $!));
    }
    $NginxRawVersion = "$1.$2.$3";
    return sprintf "%d.%03d%03d", $1, $2, $3;
}

# The error.log lines written since the previous call (all of them when
# check_accum_error_log() is on).  The short sleep lets the log phase,
# which runs after nginx closed the connection, write its lines first.
sub error_log_data () {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0 unless $CheckAccumErrLog;
    my @lines = <$in>;
    my $pos = tell $in;
    $ErrLogFilePos = $pos unless $CheckAccumErrLog;
    $ErrLogSeenPos = $pos if $pos > $ErrLogSeenPos;
    close $in;
    return \@lines;
}

# Fails the block for each [alert], [crit] or [emerg] line and each failed
# assertion: nginx reports crashed workers, leaked sockets and broken
# invariants at these levels.  A level the block names in error_log or
# no_error_log is the block's own business.  (The real runner only warns.)
sub check_fatal_log_lines ($$$) {
    my ($block, $lines, $when) = @_;
    my @claims = grep { defined } $block->error_log, $block->no_error_log;
    my @levels = grep {
        my $level = $_;
        !grep { value_contains($_, "[$level") } @claims;
    } qw(alert crit emerg);
    my $re = @levels ? join('|', @levels) : '(?!)';
    for my $line (@$lines) {
        next unless $line =~ /\[(?:$re)\]|\bAssertion .*?failed\b/;
        Test::More::fail($block->name . " - error.log has \"" . fmt_str($line)
                         . "\"$when");
    }
}

# Wipes and recreates the server root, refusing a folder that does not look
# like one we made: TEST_NGINX_SERVROOT may be mistyped.
sub setup_server_root () {
    if (-d $ServRoot) {
        opendir my $dh, $ServRoot or bail_out("Cannot read $ServRoot: $!");
        my @entries = grep { !/^\.\.?$/ } readdir $dh;
        if (@entries && !-d $ConfDir && !-d $LogDir) {
            bail_out("$ServRoot has files but no conf/ or logs/; "
                     . "refusing to wipe it");
        }
        remove_tree($ServRoot, { keep_root => 1 });
    }
    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);
    -d $ConfDir or bail_out("Cannot create $ConfDir");
    # Same default page as the real runner: tests may fetch "/".
    write_file("$HtmlDir/index.html", '<html><head><title>It works!</title>'
               . '</head><body>It works!</body></html>');
}

sub write_file ($$) {
    my ($path, $data) = @_;
    open my $out, '>', $path or bail_out("Cannot write $path: $!");
    binmode $out;
    print $out $data;
    close $out;
}

# "--- user_files": ">>> name [touch -t date]" lines each start a file
# under html/ (or at an absolute path); "user_files eval" may instead give
# [[name, body, date], ...].
sub write_user_files ($) {
    my $block = shift;
    my $files = $block->user_files;
    return unless $files;
    my $name = $block->name;
    if (!ref $files) {
        my @list;
        for my $line (split /^/, $files) {
            if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
                push @list, [$1, undef, $2];
            } elsif (@list) {
                $list[-1][1] .= $line;
            }
        }
        $files = \@list;
    }
    bail_out("$name - user_files must be text or an ARRAY")
        if ref $files ne 'ARRAY';
    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        make_path($1) if $path =~ m{(.*)/} && !-d $1;
        write_file($path, expand_env_in_text($body // '', $name));
        if ($date) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $date, $path) == 0
                or bail_out("$name - touch -t '$date' $path failed");
        }
    }
}

# Writes nginx.conf with the real runner's layout: main_config at the top
# level after the load_module lines, http_config in http, config inside
# the one server on $ServerPort named localhost.
sub write_config_file ($) {
    my $block = shift;
    my $name = $block->name;
    my $x = sub { expand_env_in_text($_[0] // '', $name) };
    my $config = $x->($block->config);
    my $http_config = $x->($block->http_config);
    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;
    my $main_config = $x->($block->main_config);
    my @modules = grep { length } split /\s+/, $LoadModules // '';
    $main_config = join ' ', (map { "load_module $_;" } @modules),
                   $main_config;
    my $post_main_config = $x->($block->post_main_config);
    my $server_name = $block->server_name // $ServerName;
    $server_name =~ s/(['\\])/\\$1/g;
    my $log_level = $block->log_level || $LogLevel;
    my $env = join '', map { my $v = /\s/ ? "'$_'" : $_; "env $v;\n" }
              qw(LD_PRELOAD LD_LIBRARY_PATH ASAN_OPTIONS), @EnvToNginx;
    my $temps = join ' ', map { "${_}_temp_path $ServRoot/${_}_temp;" }
                grep { $http_config !~ /\b${_}_temp_path\b/ }
                qw(client_body proxy fastcgi scgi uwsgi);
    my $root = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    my $user = $> == 0 ? "user root;\n" : '';

    write_file($ConfFile, <<"_EOC_");
worker_processes  $Workers;
master_process $MasterProcessEnabled;
error_log $ErrLogFile $log_level;
pid       $PidFile;
$env$user
$main_config

http {
    access_log $AccLogFile; $temps

    default_type text/plain;
    keepalive_timeout  68000ms;

$http_config
    server {
        listen          $ServerPort;
        server_name     '$server_name';
        client_max_body_size 30M;

        # Begin preamble config...
$ConfigPreamble
        # End preamble config...

        # Begin test case config...
$config
        # End test case config.

$root    }
}

$post_main_config

events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
}
_EOC_
}

# nginx's own leaks, by design: a worker never frees the environment it
# builds nor its connection and event arrays.  Listed by name and, for a
# stripped binary like Debian's, by the shape of the stack.
my $NginxSuppressions = <<'_EOS_';
{
   nginx-worker-environment
   Memcheck:Leak
   fun:malloc
   fun:ngx_alloc
   fun:ngx_set_environment
}
{
   nginx-worker-event-arrays
   Memcheck:Leak
   fun:malloc
   fun:ngx_alloc
   fun:ngx_event_process_init
}
{
   nginx-worker-init-stripped
   Memcheck:Leak
   fun:malloc
   fun:ngx_alloc
   obj:*nginx*
   obj:*nginx*
   obj:*nginx*
   fun:ngx_spawn_process
}
{
   nginx-single-process-init-stripped
   Memcheck:Leak
   fun:malloc
   fun:ngx_alloc
   obj:*nginx*
   fun:ngx_single_process_cycle
}
_EOS_

sub valgrind_command () {
    my @cmd = ('valgrind', '-q', "--log-file=$LogDir/valgrind.%p.log");
    if ($UseValgrind =~ /^\d+$/) {
        write_file("$ConfDir/valgrind.suppress", $NginxSuppressions);
        push @cmd, qw(--tool=memcheck --leak-check=full --num-callers=100
                      --show-possibly-lost=no --gen-suppressions=all),
                   "--suppressions=$ConfDir/valgrind.suppress";
        # a project's own list, where the real runner looks for it
        push @cmd, '--suppressions=valgrind.suppress' if -f 'valgrind.suppress';
    } else {
        push @cmd, split ' ', $UseValgrind;    # the user's own options
    }
    return @cmd;
}

# Starts nginx and waits until it has written its pid file, which it does
# after it opened the listening sockets.  On failure, fails a test naming
# the [emerg] it logged and returns false.
sub start_nginx ($) {
    my $name = shift;
    # "daemon off" on the command line also marks the process as ours
    # for kill_stale_nginx().
    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile,
               '-g', 'daemon off;');
    push @cmd, '-e', $ErrLogFile if $NginxVersion >= 1.019005;
    unshift @cmd, valgrind_command() if $UseValgrind;
    warn "$name\n" if $UseValgrind;
    my $pid = fork // bail_out("fork failed: $!");
    if ($pid == 0) {
        $InChild = 1;
        setpgrp(0, 0);
        open STDOUT, '>', '/dev/null';
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        print STDERR "cannot run $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    setpgrp($pid, $pid);    # also here, so a signal cannot race the child
    $NginxPid = $pid;
    my $deadline = time + ($UseValgrind ? 60 : 10);
    while (time < $deadline) {
        return 1 if -s $PidFile;
        if (waitpid($pid, WNOHANG) == $pid) {
            my $status = $?;
            undef $NginxPid;
            my $why = join '', grep { /\[emerg\]/ } @{ error_log_data() };
            Test::More::fail("$name - nginx failed to start (status "
                             . "$status): " . fmt_str($why || '(no [emerg])'));
            return 0;
        }
        sleep 0.01;
    }
    Test::More::fail("$name - nginx did not write $PidFile in time");
    stop_nginx();
    return 0;
}

# Stops our nginx: QUIT, then KILL to its whole process group after
# timeout().  Returns its wait status, whether it had exited before we
# asked, and whether we had to kill it.
sub stop_nginx () {
    my $pid = $NginxPid;
    return unless defined $pid;
    undef $NginxPid;
    my ($status, $early, $killed);
    if (waitpid($pid, WNOHANG) == $pid) {
        ($status, $early) = ($?, 1);
    } else {
        kill SIGQUIT, $pid;
        my $deadline = time + $Timeout + ($UseValgrind ? 30 : 0);
        while (time < $deadline) {
            if (waitpid($pid, WNOHANG) == $pid) {
                $status = $?;
                last;
            }
            sleep 0.01;
        }
        if (!defined $status) {
            warn "WARNING: nginx $pid did not quit in time; killing it\n";
            kill SIGKILL, -$pid;
            waitpid($pid, 0);
            ($status, $killed) = ($?, 1);
        }
    }
    kill SIGKILL, -$pid;    # workers a crashed master left behind
    return ($status, $early, $killed);
}

# Whether our nginx has exited: then it is a zombie until stop_nginx()
# reaps it, and connecting again is pointless.
sub nginx_gone () {
    return 0 unless defined $NginxPid;
    open my $in, '<', "/proc/$NginxPid/stat" or return 1;
    return ((<$in> // '') =~ /^\d+ \(.*\) Z/) ? 1 : 0;
}

# Two runs on one server root would wipe each other's files and kill each
# other's nginx, so a run locks the folder until it exits.
sub lock_server_root () {
    return if $ServRootLock;
    make_path($ServRoot);
    open my $fh, '<', $ServRoot or bail_out("Cannot open $ServRoot: $!");
    flock $fh, LOCK_EX | LOCK_NB
        or bail_out("Another test run is using $ServRoot; give this one "
                    . "its own TEST_NGINX_SERVROOT and TEST_NGINX_PORT");
    $ServRootLock = $fh;
}

# Kills an nginx that a killed run of this runner left on our server root.
# Holding the lock proves that run is gone; the command line must name this
# server root and carry our "daemon off" (not the real runner's nginx).
sub kill_stale_nginx () {
    open my $in, '<', $PidFile or return;
    my $pid = <$in> // '';
    close $in;
    chomp $pid;
    return unless $pid =~ /^\d+$/ && kill 0, $pid;
    open my $cmd, '<', "/proc/$pid/cmdline" or return;
    my $cmdline = (do { local $/; <$cmd> } // '') =~ tr/\0/ /r;
    return unless index($cmdline, " -p $ServRoot/ ") >= 0
                  && index($cmdline, ' -g daemon off;') >= 0;
    warn "WARNING: killing nginx $pid left by an earlier run\n";
    kill SIGQUIT, $pid;
    for (1 .. 40) {
        last unless kill 0, $pid;
        sleep 0.05;
    }
    kill SIGKILL, $pid if kill 0, $pid;
}

# After nginx stopped: a crash, shutdown-time alerts, valgrind reports.
sub check_after_stop ($@) {
    my ($block, $status, $early, $killed) = @_;
    my $name = $block->name;
    if (defined $status && !$killed && ($status & 127)) {
        Test::More::fail("$name - nginx exited on signal " . ($status & 127)
                         . ($status & 128 ? ' (core dumped)' : ''));
    } elsif (defined $status && $early && $status != 0) {
        Test::More::fail("$name - nginx exited with status " . ($status >> 8));
    }
    local $ErrLogFilePos = $ErrLogSeenPos;
    local $CheckAccumErrLog = 0;
    check_fatal_log_lines($block, error_log_data(), ' (during shutdown)');
    for my $log (glob "$LogDir/valgrind.*.log") {
        next unless -s $log;
        open my $in, '<', $log or next;
        my @report = <$in>;
        splice @report, 30 if @report > 30;
        Test::More::fail("$name - valgrind reported errors in $log");
        Test::More::diag(join '', @report);
    }
}

# "--- skip_nginx: 3: < 1.19.0" and "--- skip_eval: 3: perl-expr" give
# (tests to skip, reason) when the block must be skipped.
sub block_skip ($) {
    my $block = shift;
    my $name = $block->name;
    if (defined(my $spec = $block->skip_nginx)) {
        $spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                  \s*(?::\s*(.*))?$/sx
            or bail_out("$name - Invalid --- skip_nginx spec: $spec");
        my ($n, $op, $why) = ($1, $2, $6);
        my $ver = sprintf "%d.%03d%03d", $3, $4, $5;
        return ($n, $why || "nginx version $op $3.$4.$5")
            if eval "$NginxVersion $op $ver";
    }
    if (defined(my $spec = $block->skip_eval)) {
        $spec =~ /^\s*(\d+)\s*:\s*(.*)/s
            or bail_out("$name - Invalid --- skip_eval spec: $spec");
        my ($n, $code) = ($1, $2);
        my $skip = eval $code;
        bail_out("$name - skip_eval failed: $@") if $@;
        return ($n, 'skip_eval') if $skip;
    }
    return;
}

sub run_tests () {
    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;
    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value('name', "$0 " . $block->name);
        run_test($block);
    }
    cleanup();
}

# One block: fresh server root and nginx, its requests repeat_each() times,
# then nginx is stopped and its shutdown checked.
sub run_test ($) {
    my $block = shift;
    my $name = $block->name;
    $NginxVersion //= get_nginx_version();

    if (my ($n, $why) = block_skip($block)) {
        for (1 .. $RepeatEach) {
            SKIP: { Test::More::skip("$name - $why", $n) }
        }
        return;
    }

    my $conf_block = defined $block->config ? $block : $PrevConfigBlock;
    bail_out("$name - No '--- config' section and no earlier one to reuse")
        unless $conf_block || $NoNginxManager;
    $PrevConfigBlock = $conf_block;
    %RandPorts = ();
    ($ErrLogFilePos, $ErrLogSeenPos) = (0, 0);

    unless ($NoNginxManager) {
        stop_nginx();
        lock_server_root();
        kill_stale_nginx();
        setup_server_root();
        write_user_files($block);
        write_config_file($conf_block);
        return unless start_nginx($name);
    }

    if (my $init = $block->init) {
        eval $init;
        bail_out("$name - init failed: $@") if $@;
    }

    for my $i (0 .. $RepeatEach - 1) {
        write_user_files($block) if $i > 0 && !$NoNginxManager;
        $RunTestHelper->($block, $i);
    }

    check_after_stop($block, stop_nginx()) unless $NoNginxManager;
    $_->($block) for @TestCleanupHandlers;
}

sub cleanup () {
    $_->() for @CleanupHandlers;
    stop_nginx();
}

# Ctrl-C or a kill must not leave nginx running on the port.
for my $sig (qw(INT TERM HUP)) {
    $SIG{$sig} = sub { cleanup(); exit 1 };
}

END {
    local $?;    # waitpid() would overwrite the script's exit status
    return if $InChild;
    cleanup();
    remove_tree($ServRoot) if $Randomize && $ServRoot =~ m{/servroot_\d+$};
}

1;
