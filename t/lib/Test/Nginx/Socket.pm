package Test::Nginx::Socket;

# Tollgate's runner for .t files in Test::Nginx::Socket's block format.
# Debian does not package Test::Nginx, so the project carries this one; the
# same .t files must pass unchanged under CPAN's Test::Nginx::Socket when it
# stands ahead of t/lib on @INC.  So this file copies the real runner's
# observable behaviour: the requests it sends, how it reads responses, and
# above all how many tests each section emits (a .t's plan counts them).
#
# Like the real one it is a Test::Base subclass: Test::Base parses the
# blocks and runs section filters (eval, chomp, ...); this file turns a
# block into requests on a plain socket and checks the answers with
# Test::More.  Test::Nginx::Util holds the settings and runs nginx.
#
# Deliberate differences: an [alert], [crit] or [emerg] line in error.log,
# a failed assertion, nginx dying on a signal, or a valgrind report fails
# the block (the real runner only warns); and sections we do not implement
# stop the run instead of being ignored.

use strict;
use warnings;

use Test::Base -base;
use Test::Nginx::Util;
use IO::Select ();
use IO::Socket::INET ();
use List::Util qw(min);
use POSIX qw(EAGAIN EINTR);
use Time::HiRes qw(sleep);

our @EXPORT = qw(
    env_to_nginx is_str plan run_tests run_test repeat_each config_preamble
    worker_connections master_process_enabled no_long_string workers
    master_on master_off log_level no_shuffle no_root_location use_hup
    server_name server_addr server_root html_dir server_port
    server_port_for_client timeout no_nginx_manager check_accum_error_log
    add_block_preprocessor bail_out add_test_cleanup_handler
    add_cleanup_handler add_response_body_check
);

our @ResponseBodyChecks;

sub add_response_body_check ($) { push @ResponseBodyChecks, shift }
sub set_http_config_filter ($)  { $FilterHttpConfig = shift }

$RunTestHelper = \&run_test_helper;

# Sections the real runner acts on and this one does not.  Ignoring them
# would change what a block tests and how many tests it emits.
my @Unsupported = qw(
    access_log no_access_log stap stap_out stap_out_like stap_out_unlike
    response_body_filters response_body_json_sort http2 http3 tcp_listen
    udp_listen must_die shutdown_error_log no_shutdown_error_log curl
    charset todo todo_nginx skip_nginx2 skip_openssl skip_slave
    error_log_file http09 request_eval response_body_eval
    server_addr_for_client write_resp_body_file
);

sub check_sections ($) {
    my $block = shift;
    for my $section (@Unsupported) {
        next unless exists $block->{$section};
        bail_out($block->name . " - section '--- $section' is not supported"
                 . " by Tollgate's t/lib runner");
    }
}

# "more_headers" text to header lines, and whether they ask for a chunked
# request body.  Lines starting with "#" are comments.
sub parse_more_headers ($) {
    my $in = shift // '';
    my ($out, $chunked) = ('', 0);
    for my $line (split /\n+/, $in) {
        next if $line eq '' || $line =~ /^\s*#/;
        my ($key, $val) = split /:\s*/, $line, 2;
        $val //= '';
        $chunked = 1 if lc $key eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $chunked);
}

# One "--- request" string to HTTP bytes, as the real runner builds them:
# the first line is "METHOD [URI [VERSION]]" (defaults "/" and HTTP/1.1),
# the rest is the body.  Host and Connection are added unless more_headers
# has them; Content-Length (of the body with surrounding white space
# trimmed) unless the body is chunked or more_headers gives one.
sub build_request ($$$$) {
    my ($name, $request, $more_headers, $conn) = @_;
    1 while $request =~ s/^\s*#[^\n]+\s+|^\s+//s;
    my ($first, $body) = split /\n/, $request, 2;
    bail_out("$name - Request line should be non-empty")
        unless defined $first && $first =~ /\S/;
    $first =~ /^\s*(\S+) *(?:(\S+) *)?(?:(\S+) *)?\s*$/
        or bail_out("$name - Request line is not valid. Should be "
                    . "'meth [url [version]]' but got \"$first\".");
    my ($method, $uri, $version) = ($1, $2 // '/', $3 // 'HTTP/1.1');
    $body //= '';
    my ($headers, $chunked) = parse_more_headers($more_headers);
    my $len = '';
    if (!$chunked && $body ne '' && $headers !~ /(?:^|\n)Content-Length:/) {
        $body =~ s/^\s+|\s+$//gs;
        $len = 'Content-Length: ' . length($body) . "\r\n";
    }
    my $auto = '';
    $auto .= "Host: $ServerName\r\n" if $headers !~ /(?:^|\n)Host:/msi;
    $auto .= "Connection: $conn\r\n" if $headers !~ /(?:^|\n)Connection/msi;
    return "$method $uri $version\r\n$auto$headers$len\r\n$body";
}

# The requests of a block, each a list of packets written on one fresh
# connection.  "pipelined_requests" become one packet on one keep-alive
# connection; "raw_request" is sent as it is.
sub get_requests ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        return [ ref $raw eq 'ARRAY' ? [@$raw] : [$raw] ];
    }

    my $more = $block->more_headers;
    my $headers_for = sub {
        my $i = shift;
        return $more unless ref $more eq 'ARRAY';
        return $more->[$i]
            // bail_out("$name - --- more_headers lacks data for request $i");
    };

    if (defined(my $reqs = $block->pipelined_requests)) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $reqs eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$reqs) {
            $all .= build_request($name, expand_env_in_text($reqs->[$i], $name),
                                  $headers_for->($i),
                                  $i == $#$reqs ? 'close' : 'keep-alive');
        }
        return [[$all]];
    }

    my $request = $block->request;
    bail_out("$name - request empty") unless defined $request;
    bail_out("$name - --- request must be a string or an ARRAY")
        if ref $request && ref $request ne 'ARRAY';
    my @reqs = ref $request ? @$request : ($request);
    my @out;
    for my $i (0 .. $#reqs) {
        bail_out("$name - requests given as packets are not supported")
            if ref $reqs[$i];
        push @out, [build_request($name, $reqs[$i], $headers_for->($i),
                                  'close')];
    }
    return \@out;
}

# Writes the packets on a new connection and reads until nginx closes it.
# $timeout bounds the wait for each I/O event, not the whole exchange (as
# in the real runner); expiry fails a test unless the block has "abort".
sub send_request ($$$) {
    my ($block, $packets, $timeout) = @_;
    my $name = $block->name;
    my ($sock, $err);
    for my $try (1 .. 20) {
        $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                      PeerPort => $ServerPortForClient,
                                      Proto => 'tcp', Timeout => $timeout);
        $err = $!;
        last if $sock || nginx_gone();
        sleep 0.1;
    }
    if (!$sock) {
        fail("$name - Can't connect to $ServerAddr:$ServerPortForClient: "
             . "$err");
        return '';
    }
    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';

    my @queue = @$packets;
    my $out = shift(@queue) // '';
    my $delay = $block->raw_request_middle_delay;
    my $writing = 1;
    my $resp = '';
    my $sel = IO::Select->new($sock);

    while (1) {
        $! = 0;
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef, undef,
                                         $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            fail("ERROR: client socket timed out - $name\n")
                unless defined $block->abort;
            last;
        }
        if ($w && @$w) {
            my $n = syswrite $sock, $out;
            if (!defined $n) {
                # nginx may answer and close before reading everything;
                # its answer is still worth reading.
                $writing = 0 unless $! == EAGAIN;
            } elsif (($out = substr $out, $n) eq '') {
                if (@queue) {
                    sleep $delay if $delay;
                    $out = shift @queue;
                } else {
                    $writing = 0;
                    if (defined(my $how = $block->shutdown)) {
                        shutdown $sock, ($how =~ /^\s*$/ ? 1 : $how);
                    }
                }
            }
        }
        if ($r && @$r) {
            my $n = sysread $sock, my $buf, 65536;
            if (!defined $n) {
                next if $! == EAGAIN;
                warn "WARNING: $name - HTTP response read failure: $!\n";
                last;
            }
            last if $n == 0;
            $resp .= $buf;
        }
    }
    close $sock;
    return $resp;
}

# A response header's value; repeated headers are joined with ", ", as
# HTTP::Headers does for the real runner.
sub header ($$) {
    my ($res, $key) = @_;
    return undef unless $res;
    my @vals = map { $_->[1] } grep { lc $_->[0] eq lc $key }
               @{ $res->{headers} };
    return @vals ? join(', ', @vals) : undef;
}

# Splits the first HTTP response off $raw, as HTTP::Response->parse and the
# real runner do: returns ({code, headers, body}, raw header text, bytes
# left after the body).  Bodies are delimited by chunked encoding or
# Content-Length, otherwise they run to the end.
sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;
    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';
    my $str = $raw;
    my $status = $str =~ s/^(.*)\n// ? $1 : do { my $s = $str; $str = ''; $s };
    $status =~ s/\r\z//;
    my $code = $status =~ /^\d{3} / ? (split ' ', $status)[0]
                                    : (split ' ', $status, 3)[1];
    $code = undef if defined $code && $code !~ /^\d+$/;
    my $res = { code => $code, headers => [] };
    while (1) {
        if ($str =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            push @{ $res->{headers} }, [$1, $2];
        } elsif (@{ $res->{headers} } && $str =~ s/^([ \t].*)\n?//) {
            $res->{headers}[-1][1] .= "\n$1";
        } else {
            $str =~ s/^\r?\n//;
            last;
        }
        $res->{headers}[-1][1] =~ s/\r\z//;
    }
    $res->{body} = $str;
    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $te = header($res, 'Transfer-Encoding');
    my $len = header($res, 'Content-Length');
    my $left;
    if (defined $te && $te eq 'chunked') {
        my ($decoded, $pos) = ('', 0);
        while (1) {
            pos($str) = $pos;
            if ($str =~ /\G0[ \t]*\r\n(?:[^\r\n]+\r\n)*\r\n/gc) {
                $left = substr $str, pos $str if pos($str) < length $str;
                last;
            }
            my $size;
            if ($str =~ /\G[ \t]*([A-Fa-f0-9]+)[ \t]*\r\n/gc) {
                $size = hex $1;
                $pos = pos $str;
            }
            if (!defined $size || length($str) < $pos + $size + 2
                || substr($str, $pos + $size, 2) ne "\r\n")
            {
                fail("$name - invalid chunked body received: "
                     . fmt_str(substr $str, $pos, 200));
                return (undef, $raw_headers);
            }
            $decoded .= substr $str, $pos, $size;
            $pos += $size + 2;
        }
        $res->{body} = $decoded;

    } elsif (defined $len && $len =~ /^\d+$/) {
        if (length($str) < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got " . length($str) . "\n" unless $head_req;
        } elsif (length($str) > $len) {
            $res->{body} = substr $str, 0, $len;
            $left = substr $str, $len;
        }
    }
    return ($res, $raw_headers, $left);
}

sub expand_ports ($) {
    my $s = shift;
    return $s if !defined $s || ref $s;
    $s =~ s/\$ServerPort\b/$ServerPort/g;
    $s =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
    return $s;
}

# Status, headers and body of response $idx.  Each check emits exactly
# the tests the real runner emits for it.
sub check_response ($$$$$$) {
    my ($block, $res, $raw_headers, $idx, $rep, $need_array) = @_;
    my $name = $block->name;
    my $value = sub { get_indexed_value($name, $_[0], $idx, $need_array) };

    my $code = ($res && $res->{code}) || '';
    if (defined $block->error_code_like) {
        my $pat = $value->($block->error_code_like);
        like($code, qr/$pat/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        is($code, $value->($block->error_code), "$name - status code ok");
    } else {
        is($code, 200, "$name - status code ok");
    }

    if (defined $block->raw_response_headers_like) {
        my $pat = $value->($block->raw_response_headers_like);
        like($raw_headers, qr/$pat/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $pat = $value->($block->raw_response_headers_unlike);
        unlike($raw_headers, qr/$pat/s, "$name - raw resp headers unlike");
    }

    # "Name: value" compares the value (an absent header reads as ""),
    # "!Name" requires the exact name to be absent from the raw headers.
    if (defined $block->response_headers) {
        my $spec = parse_headers($value->($block->response_headers));
        for my $key (sort keys %$spec) {
            if (!defined $spec->{$key}) {
                unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                       "$name - header $key not present in the raw headers");
                next;
            }
            is(header($res, $key) // '', expand_ports($spec->{$key}),
               "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my $spec = parse_headers($value->($block->response_headers_like));
        for my $key (sort keys %$spec) {
            my $pat = $spec->{$key} // '';
            like(header($res, $key) // '', qr/^$pat$/,
                 "$name - header $key like ok");
        }
    }

    my $content = $res ? $res->{body} : undef;
    if (defined $block->response_body) {
        my $expected = expand_ports($value->($block->response_body));
        $expected = expand_env_in_text($expected, $name)
            if defined $expected && !ref $expected;
        if (ref $expected) {
            like($content, $expected, "$name - response_body - like "
                 . "(repeated req $rep, req $idx)");
        } else {
            is($content, $expected, "$name - response_body - response is "
               . "expected (repeated req $rep, req $idx)");
        }
    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $type = defined $block->response_body_like ? 'like' : 'unlike';
        my $pat = expand_ports($value->($type eq 'like'
                                        ? $block->response_body_like
                                        : $block->response_body_unlike));
        my $summary = substr(($content // '') =~ s/^\s+|\s+$//gr
                                              =~ s/\s+/ /gr, 0, 60);
        my $check = $type eq 'like' ? \&like : \&unlike;
        $check->($content, qr/$pat/s,
                 "$name - response_body_$type - response is expected "
                 . "($summary)");
    }

    $_->($block, $content, $idx, $rep, 0) for @ResponseBodyChecks;
}

# An error_log / no_error_log value as a list of patterns: text gives one
# substring per line, regexes stay regexes.
sub pattern_list ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return split /\n+/, $pats;
    }
    return ref $pats eq 'Regexp' ? ($pats) : @$pats;
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return (ref $pat && $line =~ /$pat/) || $line =~ /\Q$pat\E/;
}

# Checks the error.log lines written since the previous check: one check
# after each response, so each request must produce its own expected lines.
sub check_error_log ($$) {
    my ($block, $rep) = @_;
    my $name = $block->name;
    my $lines = error_log_data();

    if (defined(my $grep = $block->grep_error_log)) {
        $grep = $grep->[$rep] if ref $grep eq 'ARRAY';
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but "
                 . "--- grep_error_log is defined") unless defined $expected;
        $expected = $expected->[$rep] if ref $expected eq 'ARRAY';
        $expected = expand_env_in_text($expected, $name) unless ref $expected;
        my $matched = '';
        for my $line (@$lines) {
            my $hit = ref $grep ? $line =~ /$grep/ : $line =~ /\Q$grep\E/;
            $matched .= "$&\n" if $hit && $& !~ /\n/;
        }
        my $check = ref $expected eq 'Regexp' ? \&like : \&is;
        $check->($matched, $expected, "$name - grep_error_log_out (req $rep)");
    }

    if (defined $block->error_log) {
        my @pats = pattern_list($block->error_log);
        for my $line (@$lines) {
            for my $pat (@pats) {
                next unless defined $pat && line_matches($line, $pat);
                pass("$name - pattern \"$pat\" matches a line in error.log "
                     . "(req $rep)");
                undef $pat;
            }
        }
        for my $pat (grep { defined } @pats) {
            fail("$name - pattern \"$pat\" should match a line in error.log "
                 . "(req $rep)");
        }
    }

    if (defined $block->no_error_log) {
        my @pats = pattern_list($block->no_error_log);
        my %found;
        for my $i (0 .. $#$lines) {
            for my $pat (grep { defined } @pats) {
                next unless line_matches($lines->[$i], $pat);
                $found{$pat} = 1;
                my @more = @$lines[$i + 1 .. min($i + 9, $#$lines - 1)];
                fail("$name - pattern \"" . fmt_str($pat) . "\" should not "
                     . "match any line in error.log but matches line \""
                     . fmt_str($lines->[$i]) . "\" (req $rep)\n"
                     . join '', @more);
            }
        }
        for my $pat (grep { defined && !$found{$_} } @pats) {
            pass("$name - pattern \"" . fmt_str($pat) . "\" does not match a "
                 . "line in error.log (req $rep)");
        }
    }

    check_fatal_log_lines($block, $lines, '');
}

# Runs the requests of one block once ($rep counts the repetitions) and
# checks each answer, then the error log after each of them.
sub run_test_helper ($$) {
    my ($block, $rep) = @_;
    my $name = $block->name;
    check_sections($block) if $rep == 0;

    my $reqs = get_requests($block);
    my $timeout = parse_time($block->timeout) // timeout();
    my $npipe = $block->pipelined_requests
              ? scalar @{ $block->pipelined_requests } : 0;
    my $need_array = $npipe ? 1 : @$reqs > 1;
    my $wait = $block->wait;
    my $idx = 0;

    for my $i (0 .. $#$reqs) {
        my $raw = send_request($block, $reqs->[$i], $timeout);
        my $head_req = join('', @{ $reqs->[$i] }) =~ /^\s*HEAD\s+/;
        my $nresp = $npipe || 1;
        for my $k (1 .. $nresp) {
            unless (defined $block->ignore_response) {
                my ($res, $raw_headers, $left) =
                    parse_response($name, $raw // '', $head_req);
                if ($npipe) {
                    $raw = $left;
                } elsif (defined $left && length $left) {
                    warn "WARNING: $name - unexpected extra bytes after the "
                         . "response: \"" . fmt_str($left) . "\"\n";
                }
                check_response($block, $res, $raw_headers, $idx, $rep,
                               $need_array);
            }
            if ($k < $nresp || $i < $#$reqs) {
                sleep $wait if $wait;
                check_error_log($block, $rep);
            }
            $idx++;
        }
    }

    sleep $wait if $wait;
    check_error_log($block, $rep);
}

1;
