package Tollgate::Pg;

# A private PostgreSQL cluster for a test file: initdb in its own
# temporary folder, started with pg_ctl listening only on a unix socket
# in that folder (so no TCP port is taken, and the system's cluster is
# never touched), with trust authentication for the user "tollgate".
# PostgreSQL refuses to run as root, so when the test runs as root the
# server commands run as the "postgres" user (runuser), which then owns
# the folder.
#
#     plan skip_all => Tollgate::Pg->missing if Tollgate::Pg->missing;
#     my $pg = Tollgate::Pg->start;
#     $pg->conninfo;     # "host=DIR port=N user=tollgate dbname=postgres"
#     $pg->stop_cmd; $pg->start_cmd;     # shell commands, for a driver
#     $pg->stop; $pg->start_again;
#
# TEST_PG_BIN names the folder of initdb, pg_ctl and postgres; else the
# newest /usr/lib/postgresql/*/bin, else the PATH.  The process that
# called start() stops the cluster when the object goes away.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use IO::Socket::INET ();

my @All;

sub bindir {
    return $ENV{TEST_PG_BIN} if $ENV{TEST_PG_BIN};

    my @dirs = sort { ($a =~ /(\d+)\/bin$/)[0] <=> ($b =~ /(\d+)\/bin$/)[0] }
               glob '/usr/lib/postgresql/*/bin';
    return $dirs[-1] if @dirs;

    for my $d (split /:/, $ENV{PATH} // '') {
        return $d if -x "$d/initdb";
    }

    return undef;
}

# undef when a cluster can be made, else why not (for skip_all)
sub missing {
    my $bin = bindir();

    return 'PostgreSQL is not installed (initdb not found; Debian: '
         . 'apt-get install postgresql)' unless $bin && -x "$bin/initdb";

    if ($> == 0) {
        return 'running as root, but there is no "postgres" user to run '
             . 'PostgreSQL as' unless defined getpwnam('postgres');
        return 'running as root, but runuser is missing'
            unless grep { -x "$_/runuser" } split(/:/, $ENV{PATH} // ''),
                   '/usr/sbin', '/sbin';
    }

    return undef;
}

sub _as_pg {
    my ($self, @cmd) = @_;
    my $line = join ' ', map { "'$_'" } @cmd;

    return $> == 0 ? "runuser -u postgres -- $line" : $line;
}

sub _port {
    # a port number that is free now: the socket file is named after it
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Listen => 1) or croak "no port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub start {
    my ($class) = @_;
    my $bin = bindir();
    my $why = missing();
    croak $why if $why;

    my $dir = tempdir('tollgate-pg-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $self = bless { bin => $bin, dir => $dir, port => _port(),
                       owner => $$ }, $class;

    if ($> == 0) {
        my ($uid, $gid) = (getpwnam('postgres'))[2, 3];
        chown $uid, $gid, $dir or croak "chown $dir: $!";
    }

    my $init = $self->_as_pg("$bin/initdb", '-D', "$dir/data", '-U',
                             'tollgate', '--auth=trust', '-E', 'UTF8',
                             '--no-sync');
    system("$init > '$dir/initdb.log' 2>&1") == 0
        or croak "initdb failed, see $dir/initdb.log: "
               . `cat '$dir/initdb.log'`;

    $self->start_again;
    push @All, $self;

    return $self;
}

sub dir { $_[0]{dir} }
sub port { $_[0]{port} }

sub conninfo {
    my ($self) = @_;
    return "host=$self->{dir} port=$self->{port} user=tollgate "
         . "dbname=postgres";
}

sub start_cmd {
    my ($self) = @_;
    my $d = $self->{dir};

    return $self->_as_pg("$self->{bin}/pg_ctl", '-D', "$d/data", '-w',
                         '-l', "$d/server.log", '-o',
                         "-p $self->{port} -k $d -c listen_addresses=",
                         'start') . ' > /dev/null';
}

sub stop_cmd {
    my ($self) = @_;

    return $self->_as_pg("$self->{bin}/pg_ctl", '-D', "$self->{dir}/data",
                         '-w', '-m', 'fast', 'stop') . ' > /dev/null';
}

sub start_again {
    my ($self) = @_;
    system($self->start_cmd) == 0
        or croak "pg_ctl start failed: " . `cat '$self->{dir}/server.log'`;
    $self->{up} = 1;
}

sub stop {
    my ($self) = @_;
    return unless $self->{up};
    system($self->_as_pg("$self->{bin}/pg_ctl", '-D', "$self->{dir}/data",
                         '-w', '-m', 'immediate', 'stop')
           . ' > /dev/null 2>&1');
    $self->{up} = 0;
}

sub DESTROY {
    my ($self) = @_;
    $self->stop if $$ == $self->{owner};
}

END {
    for my $pg (@All) {
        $pg->stop if $$ == $pg->{owner};
    }
}

1;
