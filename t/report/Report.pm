# Helpers for the report format suites (t/report/0NN-*.t): the driver
# build/report-render (t/report/report_render.c; REPORT_RENDER names
# another), a spec, rows as NDJSON, and the independent readers: Debian's
# python3 with openpyxl, poppler's pdftotext and pdftoppm.

package Report;

use strict;
use warnings;

use Carp qw(croak);
use File::Temp qw(tempdir);
use FindBin;
use IPC::Open3;
use JSON::PP;

our $BIN = $ENV{REPORT_RENDER} // "$FindBin::Bin/../../build/report-render";
our $TMP = tempdir('tollgate-report-XXXXXX', TMPDIR => 1, CLEANUP => 1);
our $JSON = JSON::PP->new->canonical->utf8;

sub binary { $BIN }
sub tmp { $TMP }

# render($format, $spec, \@rows or $raw_ndjson, name) -> (path, rc, stderr)
sub render {
    my ($fmt, $spec, $rows, $name) = @_;
    $name //= "out";
    my $specf = "$TMP/$name.spec.json";
    my $out = "$TMP/$name.$fmt";
    write_file($specf, $JSON->encode($spec));
    my $in = ref $rows ? join('', map { $JSON->encode($_) . "\n" } @$rows)
                       : $rows;
    my $rowsf = "$TMP/$name.rows.ndjson";
    write_file($rowsf, $in);
    my $err = `'$BIN' -f $fmt -s '$specf' -o '$out' < '$rowsf' 2>&1`;
    return ($out, $? >> 8, $err);
}

sub write_file {
    my ($f, $data) = @_;
    open my $fh, '>:raw', $f or croak "$f: $!";
    print $fh $data;
    close $fh or croak "$f: $!";
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<:raw', $f or croak "$f: $!";
    local $/;
    return scalar <$fh>;
}

# a python3 that has openpyxl (Debian's, not a pyenv shim's), or undef
sub python {
    for my $py ('/usr/bin/python3', 'python3') {
        system("$py -c 'import openpyxl' >/dev/null 2>&1");
        return $py if $? == 0;
    }
    return undef;
}

# runs python code with the arguments; returns its stdout as JSON
sub py_json {
    my ($code, @args) = @_;
    my $py = python() or croak 'no python3 with openpyxl';
    my $f = "$TMP/check.py";
    write_file($f, $code);
    my $out = `$py '$f' @{[ map { "'$_'" } @args ]}`;
    croak "python failed: $?" if $?;
    return JSON::PP->new->decode($out);
}

sub have {
    my ($cmd) = @_;
    return system("command -v $cmd >/dev/null 2>&1") == 0;
}

1;
