// A seeded, bounded fuzz run of the open discovery endpoints over HTTPS (WebFinger, the account
// configuration document, Thunderbird autoconfig, PACC, Autodiscover POX and v2, the Apple
// profile): request lines written byte for byte with hostile resources and addresses (invalid
// percent-encoding and UTF-8, NUL, overlong queries, repeated parameters, absurd numbers, odd
// Host headers) and hostile XML (entity expansion, deep nesting, random bytes). Every request gets
// an answer below 500 (errors as problem+json where JSON), nothing is logged as an error, and the
// event loop never stalls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { ABSURD_NUMBERS, assertHealthy, errorLog, fuzzRounds, fuzzSeed, hostileToken, loopWatch, mutate, Rand, show } from './harness.ts';
import { type HttpAnswer, rawRequest } from './http-client.ts';

const SEED = fuzzSeed(7033);
const ROUNDS = fuzzRounds(600);

const ADDRESSES = [
  'alice@example.test',
  'nobody@example.test',
  'x@elsewhere.test',
  '"q x"@example.test',
  'alice@EXAMPLE.TEST',
  'a@b@c',
  '@',
  '',
];
const PERCENT = ['%00', '%C0%80', '%FF', '%ED%A0%80', '%', '%Z1', '%2', '%40', '%25', '%E2%82', '+', '%0D%0A'];

function hostileText(r: Rand): string {
  switch (r.int(6)) {
    case 0:
      return r.pick(PERCENT);
    case 1:
      return r.pick(ABSURD_NUMBERS);
    case 2:
      return 'a'.repeat(r.int(20_000));
    case 3:
      return encodeURIComponent(hostileToken(r).toString('latin1')).slice(0, 3000);
    case 4:
      return `acct:${'@'.repeat(r.int(5))}${'b.'.repeat(r.int(300))}test`;
    default:
      return r.pick(ADDRESSES);
  }
}

function address(r: Rand): string {
  const a = r.pick(ADDRESSES);
  return r.chance(0.5) ? encodeURIComponent(a) : a.slice(0, r.int(a.length + 1)) + hostileText(r) + a.slice(r.int(a.length + 1));
}

function target(r: Rand): string {
  switch (r.int(10)) {
    case 0:
    case 1: {
      const rels = Array.from(
        { length: r.int(4) },
        () => `&rel=${r.chance(0.5) ? hostileText(r) : 'http%3A%2F%2Fopenid.net%2Fspecs%2Fconnect%2F1.0%2Fissuer'}`,
      ).join('');
      const resource = r.pick(['acct:', 'mailto:', 'https://example.test/', '']) + address(r);
      return `/.well-known/webfinger?resource=${resource}${rels}${r.chance(0.2) ? `&resource=${address(r)}` : ''}`;
    }
    case 2:
      return `/discovery/config?emailaddress=${address(r)}`;
    case 3:
      return `${r.pick(['/.well-known/autoconfig/mail/config-v1.1.xml', '/mail/config-v1.1.xml'])}?emailaddress=${address(r)}`;
    case 4:
      return `/autodiscover/autodiscover.json/v1.0/${address(r)}?Protocol=${r.pick(['AutodiscoverV1', 'ActiveSync', 'Ews', hostileText(r)])}`;
    case 5:
      return `/Autodiscover/Autodiscover.json?Email=${address(r)}&Protocol=${hostileText(r)}`;
    case 6:
      return `/apple/mail.mobileconfig?emailaddress=${address(r)}`;
    case 7:
      return r.pick(['/.well-known/user-agent-configuration.json', '/.well-known/jmap', '/.well-known/oauth-protected-resource']);
    default:
      return mutate(r, `/.well-known/webfinger?resource=acct%3Aalice%40example.test&rel=x`).toString('latin1');
  }
}

const XML = [
  '<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@example.test</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>',
  `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]><Autodiscover><Request><EMailAddress>&f;</EMailAddress></Request></Autodiscover>`,
];

function xmlBody(r: Rand): Buffer {
  switch (r.int(4)) {
    case 0:
      return Buffer.from(`${'<a>'.repeat(1 + r.int(50_000))}x`);
    case 1:
      return r.bytes(r.int(3000));
    default:
      return mutate(r, r.pick(XML));
  }
}

function check(a: HttpAnswer, what: () => string): void {
  assert.ok(a.status >= 200 && a.status < 500, `HTTP ${a.status} ${a.body.subarray(0, 300).toString()}: ${what()}`);
  if (/json/.test(a.contentType) && a.body.length) {
    const body = JSON.parse(a.body.toString('utf8')) as { type?: unknown };
    if (/problem\+json/.test(a.contentType)) assert.equal(typeof body.type, 'string', what());
  }
}

describe(`discovery fuzz (seed ${SEED})`, () => {
  let t: TestServer;
  const log = errorLog();
  const watch = loopWatch();

  before(async () => {
    t = await startTestServer({ logTo: log.stream, overrides: { discovery: { rate_limit: 100_000 } } });
    await t.services.accounts.addUser({ address: 'alice@example.test', password: 'alice-fuzz-password' });
  });
  after(async () => {
    watch.stop();
    await t?.close();
  });

  it('every request gets an answer below 500', async () => {
    const r = new Rand(SEED);
    const statuses = new Map<number, number>();
    for (let i = 0; i < ROUNDS; i++) {
      const host = r.pick([
        'localhost',
        'example.test',
        'autoconfig.example.test',
        'ua-auto-config.example.test',
        'EXAMPLE.TEST.',
        'x'.repeat(300),
        '[::1]',
        'example.test:99999999999',
      ]);
      const post = r.chance(0.15);
      const path = post ? r.pick(['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) : target(r);
      const head = Buffer.from(
        `${post ? 'POST' : 'GET'} ${path} HTTP/1.1\r\nhost: ${host}${post ? '\r\ncontent-type: text/xml' : ''}`,
        'latin1',
      );
      const body = post ? xmlBody(r) : Buffer.alloc(0);
      const a = await rawRequest(t.ports.https, t.ca, head, body);
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      check(a, () => `request #${i + 1} (seed ${SEED}) ${show(head)} body ${show(body)}`);
    }
    console.log(`# discovery statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.ok((statuses.get(200) ?? 0) > ROUNDS / 10);
    assertHealthy(watch, log, SEED);
  });
});
