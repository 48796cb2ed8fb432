package Tollgate::Plugins;

# Helpers of the suites of the shipped plugins (t/130..137): the
# checkout's plugins/ folder in TEST_NGINX_PLUGINS (the blocks load them
# with "gw_plugin_path $TEST_NGINX_PLUGINS trusted;"), a pattern for the
# problem+json answers a plugin gives, and bad_config(), which runs
# "nginx -t" on one gw_plugin directive and returns what it said.

use strict;
use warnings;

use Cwd ();
use File::Basename qw(dirname);
use File::Spec ();
use Tollgate::JWT qw(nginx_t);

use Exporter 'import';
our @EXPORT_OK = qw(plugins_dir plugin_problem_re plugin_nginx_t);

# t/lib/Tollgate/Plugins.pm -> the checkout's plugins/
sub plugins_dir {
    my $t = dirname(dirname(dirname(File::Spec->rel2abs(__FILE__))));
    return Cwd::abs_path(File::Spec->catdir($t, File::Spec->updir,
                                            'plugins'));
}

$ENV{TEST_NGINX_PLUGINS} ||= plugins_dir();

# plugin_problem_re($status, $title[, $detail]): a problem+json body of
# that status and title (gw.problem gives "about:blank"), the detail
# exactly when given.
sub plugin_problem_re {
    my ($status, $title, $detail) = @_;
    my $d = defined $detail ? quotemeta $detail : '[^"]*';
    return qr/\A\s*\{
        (?=.*"type"\s*:\s*"[^"]+")
        (?=.*"title"\s*:\s*"\Q$title\E")
        (?=.*"status"\s*:\s*$status\s*[,}])
        (?=.*"detail"\s*:\s*"$d")
        .*\}\s*\z/sx;
}

# plugin_nginx_t($name, $json[, $extra]): nginx -t of a server with
# "gw_plugin $name '$json';" in a location (and $extra in http{}), the
# backslashes of $json doubled so that nginx hands the JSON text as
# given; returns (ok, output).
sub plugin_nginx_t {
    my ($name, $json, $extra) = @_;
    $extra //= '';
    $json =~ s/\\/\\\\/g;         # nginx unescapes \ in quoted text
    my $dir = $ENV{TEST_NGINX_PLUGINS};
    return nginx_t("gw_plugin_path $dir trusted; $extra"
                   . " server { listen 127.0.0.1:1; location / {"
                   . " gw_plugin $name '$json'; } }");
}

1;
