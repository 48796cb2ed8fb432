#!/usr/bin/perl
# The project's lint check, run first by `make test`.  It reads the files
# git tracks (or every file, outside a checkout) and reports, one per line:
#   C/headers: lines over 80 columns, tabs, trailing spaces, // comments,
#              allocations whose result is not compared to NULL soon after;
#   .t files:  a "--- ONLY" left behind, trailing spaces;
#   Perl and shell: tabs and trailing spaces.
# Exits 1 when it found anything.

use strict;
use warnings;

my @alloc = qw(ngx_palloc ngx_pcalloc ngx_pnalloc ngx_alloc ngx_calloc
               ngx_array_create ngx_array_push ngx_array_push_n ngx_list_push
               ngx_list_create ngx_create_temp_buf ngx_calloc_buf
               ngx_pool_cleanup_add ngx_slab_alloc ngx_slab_alloc_locked
               ngx_http_add_variable ngx_create_pool ngx_alloc_chain_link
               malloc calloc realloc strdup strndup);
my $alloc_re = join '|', @alloc;
my $problems = 0;

sub report {
    my ($file, $line, $msg) = @_;
    print "$file:$line: $msg\n";
    $problems++;
}

sub files {
    my @f = `git ls-files -co --exclude-standard 2>/dev/null`;
    if (!@f) {
        @f = `find . -type f -not -path './build*' -not -path './.git/*'`;
    }
    chomp @f;
    s{^\./}{} for @f;
    return grep { -f $_ && !m{^(build|run)/|/servroot/} } @f;
}

# Blanks out comments, strings and character constants (keeping newlines
# and columns), so that "//" inside them is not taken for a comment.
sub code_only {
    my ($src) = @_;
    $src =~ s{(/\*.*?\*/)|("(?:\\.|[^"\\\n])*")|('(?:\\.|[^'\\\n])*')}{
        my $m = $1 // $2 // $3;
        (my $k = $m) =~ s/[^\n]/ /g;
        $k;
    }gse;
    return $src;
}

sub check_c {
    my ($file) = @_;
    open my $fh, '<', $file or return;
    my @lines = <$fh>;
    close $fh;

    for my $i (0 .. $#lines) {
        my $l = $lines[$i];
        chomp $l;
        my $n = $i + 1;
        report($file, $n, 'line longer than 80 columns') if length($l) > 80;
        report($file, $n, 'tab') if $l =~ /\t/;
        report($file, $n, 'trailing white space') if $l =~ /[ \t]+$/;
    }

    my @code = split /\n/, code_only(join '', @lines), -1;

    for my $i (0 .. $#code) {
        my $l = $code[$i];
        report($file, $i + 1, '// comment') if $l =~ m{//};

        next unless $l =~ /^\s*(\*?[\w.\->\[\]]+)\s*=\s*(?:\([^()]*\)\s*)?(?:$alloc_re)\s*\(/;
        my $var = $1;
        $var =~ s/^\*//;
        my $checked = 0;
        for my $j ($i + 1 .. $i + 8) {
            last if $j > $#code;
            my $c = $code[$j];
            if ($c =~ /\Q$var\E\s*[!=]=\s*NULL|NULL\s*[!=]=\s*\Q$var\E|!\s*\Q$var\E\b|\(\s*\Q$var\E\s*\)\s*\?|return\s+\Q$var\E\s*\?|\Q$var\E\s*\?\s/) {
                $checked = 1;
                last;
            }
        }
        report($file, $i + 1, "allocation into \"$var\" not checked for NULL")
            unless $checked;
    }
}

sub check_text {
    my ($file, $tabs) = @_;
    open my $fh, '<', $file or return;
    my $n = 0;
    while (my $l = <$fh>) {
        $n++;
        chomp $l;
        report($file, $n, 'tab') if $tabs && $l =~ /\t/;
        report($file, $n, 'trailing white space') if $l =~ /[ \t]+$/;
        report($file, $n, '"--- ONLY" left in a test')
            if $file =~ /\.t$/ && $l =~ /^--- ONLY\b/;
    }
    close $fh;
}

for my $f (files()) {
    if ($f =~ /\.[ch]$/) {
        check_c($f);
    } elsif ($f =~ /\.t$/) {
        check_text($f, 0);
    } elsif ($f =~ /\.(pm|pl|sh)$/ || $f =~ m{^(auto|scripts|\.ci)/}) {
        check_text($f, 1);
    }
}

if ($problems) {
    print "lint: $problems problem(s)\n";
    exit 1;
}

print "lint: clean\n";
