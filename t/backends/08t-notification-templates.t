# Notifications rendered from templates (backends/notification/ntf_tmpl.c,
# docs/notification-templates.md): templates stored through the metadata
# service's admin API and read by the notification service from Redis;
# a push body rendered in the json context (values inside strings as
# string content, outside as JSON values, never JSON structure), an
# email's subject, text and html in their contexts; a changed template
# used at once; unknown variables, unknown templates, another channel's
# template and header injection through data answered 422 with the JSON
# pointer of the value, never a 500; bodies given as is checked too.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin", "$FindBin::Bin/../lib";

use JSON::PP ();
use Test::More;

use HookReceiver;
use Metadata;
use Notification;
use Tollgate::Redis;

plan skip_all => Notification::binary() . ' is not built (run make backends)'
    unless -x Notification::binary() && -x Metadata::binary();

my $redis = Tollgate::Redis->start;
my $md = Metadata::start(redis => $redis->address);
my $svc = Notification::start(env => { REDIS => $redis->address });

my %c1 = ('X-Consumer-ID' => 'c1');

sub post {
    my ($body) = @_;
    return Notification::call($svc, 'POST', '/v1/notifications', $body,
                              \%c1);
}

sub store {
    my ($doc) = @_;
    my ($st, undef, $r) = Metadata::call($md, 'GET',
                                         "/v1/templates/$doc->{name}");
    return Metadata::call($md, 'PUT', "/v1/templates/$doc->{name}", $doc,
                          $st == 200 ? ('If-Match' => Metadata::etag($r))
                                     : ('If-None-Match' => '*'));
}

# the payload of the notification's first delivery, as accepted
sub payload {
    my ($nid) = @_;
    my $p = $redis->cli('HGET', "gw:ntf:d:$nid.0", 'payload');
    return eval { JSON::PP::decode_json($p) };
}

my ($st) = store({ name => 'order.push', channel => 'push',
    body => '{"title": "Order {{order.id}} for {{customer.name}}", '
          . '"order": {{order}}, "vip": {{vip}}, '
          . '"link": "https://shop.example/o/{{order.id|url}}", '
          . '"items": "{{#order.items}}{{sku}} {{/order.items}}"}' });
is($st, 201, 'a push template stored');

($st) = store({ name => 'welcome', channel => 'email',
    subject => 'Welcome {{customer.name}}',
    text => "Hello {{customer.name}},\n{{^vip}}Upgrade now.{{/vip}}\n",
    html => '<p>Hello {{customer.name}}</p><a href="/u/{{customer.name|url}}">' });
is($st, 201, 'an email template stored');

my %push = (channel => 'push', type => 'order.created',
            recipients => [ 'c.c1' ], template => 'order.push');
my $evil = '"}, "admin": true, "x": {"';

my ($b, $h);
($st, $b) = post({ %push, data => {
    customer => { name => $evil },
    order => { id => 'A/1 2', total => 12.5,
               items => [ { sku => 'k1' }, { sku => '{{vip}}' } ] },
    vip => JSON::PP::true() } });
is($st, 202, 'a push notification from a template: 202');
my $p = ref $b ? payload($b->{id}) : undef;
ok($p, '... its delivery stored') or diag explain $b;
my $d = $p ? $p->{data} : {};
is($d->{title}, "Order A/1 2 for $evil",
   '... a value in a string stays one string');
ok(!exists $d->{admin}, '... and adds no member');
is_deeply($d->{order}, { id => 'A/1 2', total => 12.5,
                         items => [ { sku => 'k1' }, { sku => '{{vip}}' } ] },
          '... an object outside quotes as JSON');
ok($d->{vip} && ref $d->{vip}, '... true as a JSON boolean');
is($d->{link}, 'https://shop.example/o/A%2F1%202', '... the url filter');
is($d->{items}, 'k1 {{vip}} ', '... a section; a tag in a value not expanded');

for my $case (
    [ 'a missing variable', { order => { id => 1, items => [] },
                              vip => 1, customer => {} },
      '/data/customer/name', qr{unknown variable /data/customer/name} ],
    [ 'a missing variable in an item',
      { order => { id => 1, items => [ { sku => 1 }, {} ] }, vip => 1,
        customer => { name => 'x' } },
      '/data/order/items/1/sku', qr{unknown variable} ],
    [ 'an object inside a JSON string',
      { order => { id => { a => 1 }, items => [] }, vip => 1,
        customer => { name => 'x' } },
      '/data/order/id', qr{object} ],
    )
{
    my ($what, $data, $ptr, $msg) = @$case;
    my $r;
    ($st, $b, $r) = post({ %push, data => $data });
    is($st, 422, "$what: 422");
    like($r->{'content-type'} // '', qr{^application/problem\+json},
         "$what: problem+json");
    is(ref $b ? $b->{errors}[0]{pointer} : undef, $ptr, "$what: $ptr");
    like(ref $b ? ($b->{detail} // '') . ' '
                  . ($b->{errors}[0]{message} // '') : '', $msg,
         "$what: said so");
}

($st, $b) = post({ %push, template => 'nope', data => {} });
is($st, 422, 'an unknown template: 422');
is(ref $b ? $b->{errors}[0]{pointer} : undef, '/template', '... /template');

($st, $b) = post({ %push, template => 'welcome', data => {} });
is($st, 422, "another channel's template: 422");
is(ref $b ? $b->{errors}[0]{pointer} : undef, '/template', '... /template');

($st, $b) = post({ %push, template => '../x', data => {} });
is($st, 422, 'a template name that is no name: 422');

($st, $b) = post({ %push, data => [] });
is($st, 422, 'data that is not an object: 422');

# ---- email ------------------------------------------------------------------

my %email = (channel => 'email', template => 'welcome',
             recipients => [ 'ann@example.com' ]);

# the email checks at accept are ntf_mime.c's: without them (a build
# whose email part is not in yet) every email is refused after rendering
($st, $b) = post({ channel => 'email', recipients => [ 'a@example.com' ],
                   body => { subject => 'Hi', text => "a\r\nb\tc\n" } });
my $mime = !($st == 422 && ref $b && ($b->{detail} // '') eq
             'not a valid email');

SKIP: {
    skip 'the email checks (ntf_mime.c) are not in this build', 5
        unless $mime;

    is($st, 202, 'a body text with CR LF and tabs: 202');

    ($st, $b) = post({ %email, data => { customer => { name => 'Ann <b>&' },
                                         vip => JSON::PP::false() } });
    is($st, 202, 'an email from a template: 202') or diag explain $b;
    $p = ref $b ? payload($b->{id}) : undef;
    is($p->{subject}, 'Welcome Ann <b>&', '... the subject as text');
    is($p->{text}, "Hello Ann <b>&,\nUpgrade now.\n",
       '... the text, an inverted section');
    is($p->{html}, '<p>Hello Ann &lt;b&gt;&amp;</p>'
                   . '<a href="/u/Ann%20%3Cb%3E%26">',
       '... the html escaped, the url filter');
}

for my $case (
    [ 'a CR LF in a subject value (header injection)',
      "Ann\r\nBcc: evil\@example.com" ],
    [ 'a LF in a subject value', "Ann\nX: y" ],
    [ 'an escape character', "Ann\e[2J" ],
    )
{
    my ($what, $name) = @$case;
    ($st, $b) = post({ %email, data => { customer => { name => $name },
                                         vip => 1 } });
    is($st, 422, "$what: 422");
    is(ref $b ? $b->{errors}[0]{pointer} : undef, '/data/customer/name',
       "$what: the value's pointer");
}

($st, $b) = post({ channel => 'email', recipients => [ 'a@example.com' ],
                   body => { subject => "Hi\r\nBcc: x\@evil", text => 't' } });
is($st, 422, 'a body subject with CR LF: 422');
is(ref $b ? $b->{errors}[0]{pointer} : undef, '/body/subject',
   '... /body/subject');

($st, $b) = post({ channel => 'email', recipients => [ 'a@example.com' ],
                   body => { subject => 'Hi', text => "a\x{0}b" } });
ok($st >= 400 && $st < 500, "a body text with NUL: 4xx ($st)");

($st, $b) = post({ channel => 'email', recipients => [ 'a@example.com' ],
                   body => { subject => 'Hi', text => "a\x{1b}[2Jb" } });
is($st, 422, 'a body text with an escape character: 422');
is(ref $b ? $b->{errors}[0]{pointer} : undef, '/body/text', '... /body/text');

# ---- a webhook, delivered ------------------------------------------------------

{
    my $rcv = HookReceiver->new;
    my ($s, $sub) = Notification::call($svc, 'POST', '/v1/subscriptions',
        { url => $rcv->url('/ok/tmpl'), event_types => [ 'invoice.*' ] },
        \%c1);
    is($s, 201, 'a webhook subscription');

    ($st) = store({ name => 'invoice.hook', channel => 'webhook',
        body => '{"invoice": {{invoice}}, '
              . '"summary": "Invoice {{invoice.number}} for '
              . '{{customer.name}}"}' });
    is($st, 201, 'a webhook template stored');

    ($st, $b) = post({ channel => 'webhook', type => 'invoice.paid',
                       template => 'invoice.hook',
                       data => { invoice => { number => 'F-1', total => 3 },
                                 customer => { name => "Bo \"B\" <x>" } } });
    is($st, 202, 'a webhook notification from a template: 202');

    my $req = Notification::eventually(sub {
        (grep { $_->{path} eq '/ok/tmpl' } $rcv->requests)[0] }, 10);
    ok($req, '... delivered');
    my $got = $req ? eval { JSON::PP->new->utf8->decode($req->{body}) }
                   : undef;
    is($got->{type}, 'invoice.paid', '... the event type');
    is_deeply($got->{data}, { invoice => { number => 'F-1', total => 3 },
                              summary => 'Invoice F-1 for Bo "B" <x>' },
              '... the rendered data, as the receiver read it');
}

# ---- a changed template is used at once -------------------------------------

($st) = store({ name => 'order.push', channel => 'push',
                body => '{"v": 2, "id": {{order.id}}}' });
is($st, 200, 'the push template changed');
($st, $b) = post({ %push, data => { order => { id => 7 } } });
is($st, 202, '... a notification');
$p = ref $b ? payload($b->{id}) : undef;
is_deeply($p ? $p->{data} : undef, { v => 2, id => 7 },
          '... rendered with the new version');

Metadata::call($md, 'DELETE', '/v1/templates/order.push', undef,
               'If-Match' => '*');
($st, $b) = post({ %push, data => { order => { id => 7 } } });
is($st, 422, 'a deleted template: 422');

my @err = Notification::errors($svc);
is(scalar @err, 0, 'nothing logged at error') or diag explain \@err;

Notification::stop($svc);
Metadata::stop($md);

done_testing();
