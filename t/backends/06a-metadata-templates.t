# The metadata service's built-in "templates" type
# (docs/notification-templates.md, "Storing a template"): an email
# template (subject, text, html) and a webhook one (body) stored, their
# id their name, kept in Redis where the notification service reads
# them; every part compiled when stored, a syntax error answered 422
# with the part's pointer and the byte offset; the parts a channel has
# and needs; names, channels and sizes held to the schema.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use Test::More;

use Metadata;
use Tollgate::Redis;

plan skip_all => Metadata::binary() . ' is not built (run make backends)'
    unless -x Metadata::binary();
plan skip_all => 'redis-server is not installed'
    unless grep { -x "$_/redis-server" } split /:/, $ENV{PATH} // '';

my $redis = Tollgate::Redis->start;
my $md = Metadata::start(redis => $redis->address,
                         env => { BODY_MAX => '1m', DOC_MAX => '1m' });

sub errors {
    my ($json) = @_;
    return @{ ref $json eq 'HASH' ? $json->{errors} || [] : [] };
}

sub pointers {
    return join ' ', map { $_->{pointer} } errors($_[0]);
}

# ---- stored -----------------------------------------------------------------

{
    my ($st, $json) = Metadata::call($md, 'GET', '/v1/types/templates/schema');
    is($st, 200, 'the templates schema is served');
    is($json->{additionalProperties}, JSON::PP::false(),
       '... with no unknown members') if ref $json;
}

my $email = {
    name    => 'invoice.paid',
    channel => 'email',
    subject => 'Invoice {{invoice.number}} paid',
    text    => "Hello {{customer.name}},\n{{#items}}- {{name}}\n{{/items}}",
    html    => '<p>Hello {{customer.name}}</p>',
};

{
    my ($st, $json, $r) = Metadata::call($md, 'POST', '/v1/templates',
                                         $email);
    is($st, 201, 'an email template stored');
    is($json->{id}, 'invoice.paid', '... its id is its name') if ref $json;
    like($r->{headers}{location} // '', qr{/v1/templates/invoice\.paid$},
         '... at its name');

    my $e = Metadata::entity($redis, 'templates', 'invoice.paid');
    ok($e && $e->{doc}, '... in gw:md:e:templates:invoice.paid');
    my $doc = $e ? eval { JSON::PP::decode_json($e->{doc}) } : undef;
    is($doc->{subject}, $email->{subject}, '... its doc as written')
        if $doc;

    my ($st2, $got) = Metadata::call($md, 'GET', '/v1/templates/invoice.paid');
    is($st2, 200, '... read back');
    is($got->{html}, $email->{html}, '... the same') if ref $got;
}

{
    my ($st) = Metadata::call($md, 'PUT', '/v1/templates/order.created',
        { name => 'order.created', channel => 'webhook',
          body => '{"order": {{order}}, "note": "for {{customer.name}}"}' },
        'If-None-Match' => '*');
    is($st, 201, 'a webhook template stored with PUT');

    my ($st2) = Metadata::call($md, 'PUT', '/v1/templates/push-one',
        { name => 'push-one', channel => 'push',
          body => '{"title": "{{title}}"}' }, 'If-None-Match' => '*');
    is($st2, 201, 'a push template stored');
}

# ---- syntax errors ------------------------------------------------------------

for my $case (
    [ 'an unclosed tag in the text',
      { text => 'Hello {{name' }, '/text', 6 ],
    [ 'an unclosed section in the html',
      { html => '<p>{{#items}}x</p>' }, '/html', 3 ],
    [ 'a mismatched close in the text',
      { text => '{{#a}}{{/b}}' }, '/text', 6 ],
    [ 'a newline in the subject',
      { subject => "Hi\nBcc: x\@evil" }, '/subject', undef ],
    [ 'a triple mustache (no raw form)',
      { html => '{{{name}}}' }, '/html', 0 ],
    [ 'an unknown filter',
      { text => 'x {{name|raw}}' }, '/text', 2 ],
    )
{
    my ($what, $parts, $ptr, $offset) = @$case;
    my %doc = (%$email, name => 'bad', %$parts);
    my ($st, $json, $r) = Metadata::call($md, 'PUT', '/v1/templates/bad',
                                         \%doc, 'If-None-Match' => '*');
    is($st, 422, "$what: 422");
    like($r->{headers}{'content-type'} // '', qr{application/problem\+json},
         "$what: problem+json");
    my ($e) = grep { $_->{pointer} eq $ptr } errors($json);
    ok($e, "$what: pointer $ptr") or diag explain $json;
    is($e->{offset}, $offset, "$what: offset $offset")
        if $e && defined $offset;
    like($e->{message} // '', qr/does not compile/, "$what: said so")
        if $e;
}

{
    my ($st, $json) = Metadata::call($md, 'PUT', '/v1/templates/bad',
        { name => 'bad', channel => 'webhook',
          body => '{"a": "x{{#s}}"{{/s}}"}' }, 'If-None-Match' => '*');
    is($st, 422, 'a body section that closes a JSON string: 422');
    is(pointers($json), '/body', '... at /body');

    my $e = Metadata::entity($redis, 'templates', 'bad');
    ok(!$e, 'nothing refused was stored');
}

# ---- parts per channel, names, schema ---------------------------------------------

{
    my ($st, $json) = Metadata::call($md, 'PUT', '/v1/templates/bad',
        { name => 'bad', channel => 'email', text => 'x' },
        'If-None-Match' => '*');
    is($st, 422, 'an email template without a subject: 422');
    is(pointers($json), '/subject', '... at /subject');

    ($st, $json) = Metadata::call($md, 'PUT', '/v1/templates/bad',
        { name => 'bad', channel => 'email', subject => 'x' },
        'If-None-Match' => '*');
    is($st, 422, 'an email template without text or html: 422');
    is(pointers($json), '/text', '... at /text');

    ($st, $json) = Metadata::call($md, 'PUT', '/v1/templates/bad',
        { name => 'bad', channel => 'webhook', text => 'x' },
        'If-None-Match' => '*');
    is($st, 422, 'a webhook template with a text and no body: 422');
    is(pointers($json), '/body /text', '... at /body and /text');

    ($st, $json) = Metadata::call($md, 'PUT', '/v1/templates/bad',
        { name => 'bad', channel => 'sms', body => '{}' },
        'If-None-Match' => '*');
    is($st, 422, 'an unknown channel: 422');
    is(pointers($json), '/channel', '... at /channel');

    ($st, $json) = Metadata::call($md, 'PUT', '/v1/templates/bad',
        { name => 'other', channel => 'push', body => '{}' },
        'If-None-Match' => '*');
    is($st, 422, 'a name that is not the id: 422');
    is(pointers($json), '/name', '... at /name');

    ($st, $json) = Metadata::call($md, 'POST', '/v1/templates',
        { name => 'Bad Name', channel => 'push', body => '{}' });
    is($st, 422, 'a name outside [a-z0-9_.-]: 422');

    ($st, $json) = Metadata::call($md, 'PUT', '/v1/templates/bad',
        { name => 'bad', channel => 'push', body => '{}', x => 1 },
        'If-None-Match' => '*');
    is($st, 422, 'an unknown member: 422');

    ($st, $json) = Metadata::call($md, 'PUT', '/v1/templates/bad',
        { name => 'bad', channel => 'push', body => 'x' x 65537 },
        'If-None-Match' => '*');
    is($st, 422, 'a body past 64 KiB: 422');
    is(pointers($json), '/body', '... at /body');
}

{
    my ($st, undef, $r) = Metadata::call($md, 'GET',
                                         '/v1/templates/invoice.paid');
    my ($st2) = Metadata::call($md, 'PATCH', '/v1/templates/invoice.paid',
                               { text => 'Hi {{#x}}' },
                               'Content-Type' => 'application/merge-patch+json',
                               'If-Match' => Metadata::etag($r));
    is($st2, 422, 'a PATCH that breaks a part: 422');
    my ($st3, $json) = Metadata::call($md, 'GET', '/v1/templates/invoice.paid');
    is($json->{text}, $email->{text}, '... the stored one kept')
        if ref $json;
}

my @err = grep { ($_->{level} // '') =~ /^(error|crit|alert|emerg)$/ }
          Metadata::log_lines($md);
is(scalar @err, 0, 'nothing logged at error or above')
    or diag explain \@err;

done_testing();
