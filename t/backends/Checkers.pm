package Checkers;

# The npm checkers of t/js (check.mjs: npm jose, oauth4webapi and
# openid-client, installed by `make deps-test` into t/js/node_modules)
# for the end-to-end tests (t/backends/055-identity-e2e.t, 056-...):
#
#     my $why = Checkers::missing();      # undef, or why they cannot run
#     my $out = Checkers::run([ 'client', '--issuer', $iss, ... ]);
#     my $out = Checkers::run([ 'verify', ... ], stdin => "tok\ntok\n");
#     my $v = Checkers::verifier(out => $file, args => [ ... ]);
#     $v->feed($token); ...; my $result = $v->finish;
#
# Every run answers one JSON line (decoded here); node's exit code is
# not the verdict, the JSON is.

use strict;
use warnings;

use Carp qw(croak);
use File::Temp ();
use FindBin;
use IO::Handle ();
use JSON::PP ();
use POSIX ();

our $JS = "$FindBin::Bin/../js";

sub node {
    for (split /:/, $ENV{PATH} // '') {
        return "$_/node" if -x "$_/node";
    }
    return undef;
}

# missing(): undef when node and the checkers are there, else the reason
sub missing {
    return 'node is not installed (make deps-test)' unless node();
    return 't/js/node_modules is absent (make deps-test)'
        unless -d "$JS/node_modules/jose"
               && -d "$JS/node_modules/oauth4webapi"
               && -d "$JS/node_modules/openid-client";
    my $v = `node -p 'process.versions.node.split(".")[0]' 2>/dev/null`;
    return 'the checkers need Node.js 20 or later'
        unless ($v // 0) =~ /^(\d+)/ && $1 >= 20;
    return undef;
}

sub _decode {
    my ($text) = @_;
    my ($last) = grep { /^\{/ } reverse split /\n/, $text // '';
    my $json = defined $last ? eval { JSON::PP::decode_json($last) } : undef;
    return $json // { error => 'no JSON', error_description => $text };
}

# run(\@args, stdin => TEXT): check.mjs's answer, decoded
sub run {
    my ($args, %opt) = @_;
    my $in = File::Temp->new;
    print {$in} $opt{stdin} // '';
    close $in;
    my $pid = open my $fh, '-|';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', $in->filename or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec node(), "$JS/check.mjs", @$args or POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> };
    close $fh;
    return _decode($out);
}

# verifier(out => FILE, args => [...]): a `check.mjs verify` that reads
# the tokens fed to it as they come; finish() closes its input and
# returns its answer
sub verifier {
    my (%opt) = @_;
    my $pid = open my $fh, '|-';
    croak "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', $opt{out} or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec node(), "$JS/check.mjs", 'verify', @{ $opt{args} }
            or POSIX::_exit(127);
    }
    $fh->autoflush(1);
    return bless { fh => $fh, out => $opt{out} }, 'Checkers::Verifier';
}

package Checkers::Verifier;

# feed($token): one line, written at once (shorter than PIPE_BUF, so
# lines of several writers on one pipe never mix)
sub feed {
    my ($self, $token) = @_;
    syswrite $self->{fh}, "$token\n";
}

sub fh { $_[0]{fh} }

sub finish {
    my ($self) = @_;
    close $self->{fh};
    open my $in, '<', $self->{out} or return { error => 'no output' };
    local $/;
    return Checkers::_decode(<$in>);
}

1;
