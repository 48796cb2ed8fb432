# vi:ft=perl
#
# JSON Schema validation: configuration checked by "nginx -t"
# (docs/validate.md).  A schema that is not JSON, or does not compile,
# fails the test with an [emerg] line naming the file and, for a schema
# that does not compile, the JSON pointer of the problem; so do bad
# directive values.  Plain Test::More, as t/083-limit-config.t.

use strict;
use warnings;

use FindBin;
BEGIN { push @INC, "$FindBin::Bin/lib" }

use File::Temp qw(tempdir);
use Test::More;
use Tollgate::JWT qw(nginx_t);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless $ENV{TEST_NGINX_LOAD_MODULES};

my $dir = tempdir(CLEANUP => 1);

my %schema = (
    'good.json' => '{"type": "object", "properties": {"a": {"type": '
                   . '"integer"}}}',
    'true.json' => 'true',
    'draft7.json' => '{"$schema": "http://json-schema.org/draft-07/schema#",'
                     . ' "definitions": {"n": {"type": "number"}},'
                     . ' "properties": {"a": {"$ref": "#/definitions/n"}}}',
    'not-json.json' => "{\"type\": \"object\",\n \"properties\": {,}}",
    'dup.json' => '{"type": "object", "type": "array"}',
    'bad-type.json' => '{"properties": {"a": {"type": 5}}}',
    'bad-regex.json' => '{"properties": {"a": {"pattern": "(unclosed"}}}',
    'bad-ref.json' => '{"items": {"$ref": "#/$defs/nowhere"}}',
    'bad-min.json' => '{"minLength": -1}',
    'upper.json' => '{"properties": {"X-Tenant": {"type": "string"}}}',
);

for my $f (keys %schema) {
    open my $fh, '>', "$dir/$f" or die "$dir/$f: $!";
    print $fh $schema{$f};
    close $fh;
}

sub loc {
    my ($d, $http) = @_;
    $d =~ s/\@/$dir\//g;
    return ($http // '') . " server { location / { $d proxy_pass "
           . "http://127.0.0.1:1; } }";
}

my @bad = (
    ['a missing file', loc('gw_validate_body @missing.json;'),
     qr/gw_validate_body: cannot load schema "[^"]*missing\.json": unable to open/],
    ['a file that is not JSON', loc('gw_validate_body @not-json.json;'),
     qr/gw_validate_body: cannot load schema "[^"]*not-json\.json": .* \(line 2, column \d+\)/],
    ['a duplicate key in a schema', loc('gw_validate_body @dup.json;'),
     qr/cannot load schema "[^"]*dup\.json": duplicate object key/],
    ['a keyword of the wrong type', loc('gw_validate_body @bad-type.json;'),
     qr/gw_validate_body: invalid schema "[^"]*bad-type\.json" at "\/properties\/a\/type": /],
    ['an invalid regular expression', loc('gw_validate_args @bad-regex.json;'),
     qr/gw_validate_args: invalid schema "[^"]*bad-regex\.json" at "\/properties\/a\/pattern": /],
    ['a $ref that resolves nowhere', loc('gw_validate_body @bad-ref.json;'),
     qr/invalid schema "[^"]*bad-ref\.json" at "\/items(\/\$ref)?": /],
    ['a negative minLength', loc('gw_validate_headers @bad-min.json;'),
     qr/invalid schema "[^"]*bad-min\.json" at "\/minLength": /],
    ['a header property not lowercase', loc('gw_validate_headers @upper.json;'),
     qr/gw_validate_headers: "[^"]*upper\.json": property "X-Tenant" is not lowercase/],
    ['an unknown parameter', loc('gw_validate_body @good.json draft=04;'),
     qr/gw_validate_body: invalid parameter "draft=04"/],
    ['off with parameters', loc('gw_validate_body off format=assert;'),
     qr/takes no parameters after "off"/],
    ['twice in a location', loc('gw_validate_body @good.json; '
                                . 'gw_validate_body @true.json;'),
     qr/"gw_validate_body" directive is duplicate/],
    ['gw_validate_errors 0', loc('gw_validate_errors 0;'),
     qr/between 1 and 100|value must be/],
    ['gw_validate_errors 101', loc('gw_validate_errors 101;'),
     qr/between 1 and 100|value must be/],
    ['gw_validate_depth 0', loc('gw_validate_depth 0;'),
     qr/between 1 and 1024|value must be/],
    ['gw_validate_depth 1025', loc('gw_validate_depth 1025;'),
     qr/between 1 and 1024|value must be/],
    ['gw_validate_body_max 0', loc('gw_validate_body_max 0;'),
     qr/gw_validate_body_max must be more than 0/],
    ['gw_validate_body_max nonsense', loc('gw_validate_body_max lots;'),
     qr/"gw_validate_body_max" directive invalid value/],
    ['a media type without a slash', loc('gw_validate_content_types json;'),
     qr/gw_validate_content_types: invalid media type "json"/],
);

for my $case (@bad) {
    my ($name, $http, $re) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok(!$ok, "nginx -t fails: $name");
    like($out, qr/\[emerg\].*$re/, "  and says why: $name") or diag $out;
}

my @good = (
    ['a schema for each part', loc('gw_validate_body @good.json; '
                                   . 'gw_validate_args @good.json; '
                                   . 'gw_validate_headers @good.json;')],
    ['a boolean schema', loc('gw_validate_body @true.json;')],
    ['draft-07 by $schema and by parameter',
     loc('gw_validate_body @draft7.json draft=07 format=assert;')],
    ['every directive, inherited and turned off', <<"EOC"],
        gw_validate_body $dir/good.json draft=2020-12 format=annotate;
        gw_validate_errors 100;
        gw_validate_depth 1024;
        gw_validate_body_max 64k;
        gw_validate_content_types application/json application/*+json text/*;
        server {
            gw_validate_args $dir/good.json;
            location / {
                gw_validate_body $dir/good.json format=assert;
                gw_validate_errors 1;
                proxy_pass http://127.0.0.1:1;
            }
            location /free {
                gw_validate_body off;
                gw_validate_args off;
                proxy_pass http://127.0.0.1:1;
            }
        }
EOC
);

for my $case (@good) {
    my ($name, $http) = @$case;
    my ($ok, $out) = nginx_t($http);
    ok($ok, "nginx -t passes: $name") or diag $out;
}

done_testing();
