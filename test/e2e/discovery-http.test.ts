import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { paccBody, paccTxt } from '../../src/discovery/pacc.ts';
import { domainServices } from '../../src/discovery/services.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ISSUER_REL = 'http://openid.net/specs/connect/1.0/issuer';
const FREEBUSY_REL = 'http://ietf.org/icalendar/freebusy';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A real HTTPS request against the test server, trusting its local CA, with an optional Host. */
function request(
  server: TestServer,
  pathAndQuery: string,
  options: { method?: string; host?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: server.ports.https,
        servername: 'example.test',
        path: pathAndQuery,
        method: options.method ?? 'GET',
        ca: server.ca,
        agent: false,
        headers: { host: options.host ?? `example.test:${server.ports.https}`, ...options.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const wf = (q: string) => `/.well-known/webfinger?${q}`;

/** A data dir whose local-CA certificate also covers the autoconfig host names. */
async function dataDirWithCert(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-disc-'));
  await ensureLocalTls(dir, ['example.test', 'autoconfig.example.test', 'ua-auto-config.example.test', 'autodiscover.example.test']);
  return dir;
}

describe('discovery over HTTPS (privacy mode, the default)', () => {
  let server: TestServer;
  let dataDir: string;
  before(async () => {
    dataDir = await dataDirWithCert();
    server = await startTestServer({ dataDir, domain: 'example.test', overrides: { server: { hostname: 'example.test' } } });
    await server.services.accounts.addUser({ address: 'alice@example.test', password: 'correct horse battery' });
  });
  after(async () => {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers a JRD with the issuer, configuration, JMAP and free/busy links (RFC 7033 §4.4)', async () => {
    const res = await request(server, wf('resource=acct%3Aalice%40example.test'));
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/jrd\+json/);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    const jrd = JSON.parse(res.body);
    assert.equal(jrd.subject, 'acct:alice@example.test');
    const rels = Object.fromEntries(jrd.links.map((l: { rel: string; href: string }) => [l.rel, l.href]));
    assert.equal(rels[ISSUER_REL], `${server.config.publicUrl}/oidc`);
    assert.equal(rels[FREEBUSY_REL], `${server.config.publicUrl}/freebusy/alice@example.test`);
    assert.equal(rels['https://fingerpost.dev/rel/jmap-session'], `${server.config.publicUrl}/jmap/session`);
    assert.equal(
      rels['https://fingerpost.dev/rel/mail-config'],
      `${server.config.publicUrl}/discovery/config?emailaddress=alice%40example.test`,
    );
    // The DAV homes: a CalDAV/CardDAV client signed in as alice finds her collections there.
    assert.equal(rels['https://fingerpost.dev/rel/caldav'], `${server.config.publicUrl}/dav/calendars/alice@example.test/`);
    assert.equal(rels['https://fingerpost.dev/rel/carddav'], `${server.config.publicUrl}/dav/addressbooks/alice@example.test/`);
    const basic = `Basic ${Buffer.from('alice@example.test:correct horse battery').toString('base64')}`;
    for (const rel of ['caldav', 'carddav']) {
      const home = await request(server, new URL(rels[`https://fingerpost.dev/rel/${rel}`]).pathname, {
        method: 'PROPFIND',
        headers: { depth: '1', authorization: basic },
      });
      assert.equal(home.status, 207, rel);
      assert.match(home.body, rel === 'caldav' ? /<C:calendar\/>/ : /<CR:addressbook\/>/);
    }
  });

  it('answers the same URL again with the same bytes and headers, security headers included', async () => {
    const q = wf('resource=acct%3Aalice%40example.test&rel=http%3A%2F%2Fopenid.net%2Fspecs%2Fconnect%2F1.0%2Fissuer');
    const first = await request(server, q);
    const again = await request(server, q);
    assert.equal(first.status, 200);
    assert.equal(again.status, 200);
    assert.equal(again.body, first.body);
    for (const h of [
      'content-type',
      'access-control-allow-origin',
      'cache-control',
      'strict-transport-security',
      'x-content-type-options',
      'referrer-policy',
    ]) {
      assert.ok(first.headers[h], h);
      assert.equal(again.headers[h], first.headers[h], h);
    }
    assert.deepEqual(
      JSON.parse(again.body).links.map((l: { rel: string }) => l.rel),
      [ISSUER_REL],
    );
  });

  it('accepts mailto: and keeps + in the local part (%2B and raw)', async () => {
    for (const q of [
      'resource=acct%3Abob%2Btag%40example.test',
      'resource=acct:bob+tag@example.test',
      'resource=mailto%3Abob%2Btag%40example.test',
    ]) {
      const res = await request(server, wf(q));
      assert.equal(res.status, 200, q);
      assert.equal(JSON.parse(res.body).subject, 'acct:bob+tag@example.test', q);
    }
  });

  it('filters links by one or several rel parameters, keeping the subject (§4.3)', async () => {
    const one = JSON.parse((await request(server, wf(`resource=acct%3Aalice%40example.test&rel=${encodeURIComponent(ISSUER_REL)}`))).body);
    assert.deepEqual(
      one.links.map((l: { rel: string }) => l.rel),
      [ISSUER_REL],
    );
    assert.equal(one.subject, 'acct:alice@example.test');
    const two = JSON.parse(
      (
        await request(
          server,
          wf(`resource=acct%3Aalice%40example.test&rel=${encodeURIComponent(ISSUER_REL)}&rel=${encodeURIComponent(FREEBUSY_REL)}`),
        )
      ).body,
    );
    assert.deepEqual(two.links.map((l: { rel: string }) => l.rel).sort(), [FREEBUSY_REL, ISSUER_REL].sort());
    const none = await request(server, wf('resource=acct%3Aalice%40example.test&rel=urn%3Aunknown'));
    assert.equal(none.status, 200);
    assert.deepEqual(JSON.parse(none.body).links, []);
  });

  it('answers 400 for a missing, repeated, malformed or oversized resource, with a JSON error and CORS', async () => {
    for (const q of [
      '',
      'rel=x',
      'resource=',
      'resource=alice',
      'resource=acct%3Aa%40example.test&resource=acct%3Ab%40example.test',
      'resource=%E0%A4%A',
      `resource=acct%3A${'a'.repeat(2000)}%40example.test`,
      'resource=acct%3A%40example.test',
    ]) {
      const res = await request(server, wf(q));
      assert.equal(res.status, 400, q);
      assert.match(String(res.headers['content-type']), /json/);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      const body = JSON.parse(res.body);
      assert.equal(body.status, 400);
      assert.doesNotMatch(res.body, /at .*\.ts:\d+/, 'no stack trace');
    }
  });

  it('answers 404 for unknown schemes and domains not served here, never another domain’s data', async () => {
    for (const q of [
      'resource=https%3A%2F%2Fexample.test%2F~alice',
      'resource=xmpp%3Aalice%40example.test',
      'resource=acct%3Aalice%40other.test',
      'resource=acct%3Aalice%40example.test.evil',
    ]) {
      const res = await request(server, wf(q));
      assert.equal(res.status, 404, q);
      assert.equal(JSON.parse(res.body).status, 404);
      assert.doesNotMatch(res.body, /oidc|example\.test\//);
    }
  });

  it('answers an existing and a missing account identically (privacy mode)', async () => {
    const existing = await request(server, wf('resource=acct%3Aalice%40example.test'));
    const missing = await request(server, wf('resource=acct%3Azed%40example.test'));
    assert.equal(missing.status, existing.status);
    assert.equal(missing.body.replaceAll('zed', 'alice'), existing.body);
    const strip = (h: Answer['headers']) => ({ ...h, date: undefined, 'content-length': undefined });
    assert.deepEqual(strip(missing.headers), strip(existing.headers));
  });

  it('ignores a hostile Host header: same answer, no reflection', async () => {
    const normal = await request(server, wf('resource=acct%3Aalice%40example.test'));
    const hostile = await request(server, wf('resource=acct%3Aalice%40example.test'), { host: 'evil.example"><script>' });
    assert.equal(hostile.status, 200);
    assert.equal(hostile.body, normal.body);
    assert.doesNotMatch(hostile.body, /evil/);
  });

  it('refuses a request without Host (HTTP/1.1) with a JSON error, and does not speak plain HTTP at all', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: server.ports.https, servername: 'example.test', ca: server.ca }, () => {
        s.end('GET /.well-known/webfinger?resource=acct%3Aalice%40example.test HTTP/1.1\r\nConnection: close\r\n\r\n');
      });
      let data = '';
      s.on('data', (d) => (data += d));
      s.on('end', () => resolve(data));
      s.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 400/);
    assert.match(raw, /\r\ncontent-type: application\/problem\+json/i);
    assert.match(raw, /\r\naccess-control-allow-origin: \*/i);
    const problem = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { status: number; detail: string };
    assert.equal(problem.status, 400);
    assert.match(problem.detail, /Host/);
    assert.doesNotMatch(raw, /acct:alice|at \/|Error:/);
    const plain = await new Promise<string>((resolve) => {
      const s = net.connect(server.ports.https, '127.0.0.1', () =>
        s.write('GET /.well-known/webfinger?resource=acct%3Aalice%40example.test HTTP/1.1\r\nHost: example.test\r\n\r\n'),
      );
      let data = '';
      s.on('data', (d: Buffer) => (data += d.toString('latin1')));
      s.on('close', () => resolve(data));
      s.on('error', () => resolve(data));
    });
    assert.doesNotMatch(plain, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(plain, /acct:alice/);
  });

  it('refuses headers over the size limit with 431 as problem+json, and goes on serving', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port: server.ports.https, servername: 'example.test', ca: server.ca }, () => {
        s.end(`GET /.well-known/webfinger HTTP/1.1\r\nHost: example.test\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
      });
      let data = '';
      s.on('data', (d) => (data += d));
      s.on('close', () => resolve(data));
      s.on('error', (err: NodeJS.ErrnoException) => (data ? resolve(data) : reject(err)));
    });
    assert.match(raw, /^HTTP\/1\.1 431/);
    assert.match(raw, /\r\ncontent-type: application\/problem\+json/i);
    const problem = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { status: number; detail: string };
    assert.equal(problem.status, 431);
    assert.equal((await request(server, wf('resource=acct%3Aalice%40example.test'))).status, 200);
  });

  it('answers the CORS preflight', async () => {
    const res = await request(server, '/.well-known/webfinger', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    assert.match(String(res.headers['access-control-allow-methods']), /GET/);
  });

  it('serves the account configuration document for any local part of the domain', async () => {
    const res = await request(server, '/discovery/config?emailaddress=alice%40example.test');
    assert.equal(res.status, 200);
    const doc = JSON.parse(res.body);
    assert.equal(doc.username, 'alice@example.test');
    assert.equal(doc.certificateHost, 'example.test');
    const imaps = doc.services.find((s: { protocol: string; tls: string }) => s.protocol === 'imap' && s.tls === 'implicit');
    assert.equal(imaps.port, server.ports.imaps);
    assert.equal(doc.oauth.issuer, `${server.config.publicUrl}/oidc`);
    assert.equal((await request(server, '/discovery/config?emailaddress=nobody%40other.test')).status, 404);
    assert.equal((await request(server, '/discovery/config?emailaddress=not-an-address')).status, 400);
  });

  it('serves config-v1.1.xml at both paths, with or without emailaddress=', async () => {
    const a = await request(server, '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=alice%40example.test');
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^text\/xml/);
    assert.match(a.body, /<username>alice@example\.test<\/username>/);
    const b = await request(server, '/mail/config-v1.1.xml', { host: 'autoconfig.example.test' });
    assert.equal(b.status, 200);
    assert.match(b.body, /<username>%EMAILADDRESS%<\/username>/);
    assert.match(b.body, /<authentication>OAuth2<\/authentication>/);
    assert.equal((await request(server, '/mail/config-v1.1.xml', { host: 'autoconfig.unknown.test' })).status, 404);
  });

  it('serves PACC whose digest equals what `fingerpost dns` publishes', async () => {
    const res = await request(server, '/.well-known/user-agent-configuration.json', { host: 'ua-auto-config.example.test' });
    assert.equal(res.status, 200);
    const expected = paccBody(domainServices(server.config, 'example.test'));
    assert.equal(res.body, expected);
    assert.equal(paccTxt(Buffer.from(res.body)), paccTxt(expected));
  });

  it('answers Autodiscover POX, its v2 JSON and its errors', { skip: commandSkip('curl', 'curl') }, async () => {
    const body = `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>alice@example.test</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
    const curl = async (args: string[]) =>
      (
        await promisify(execFile)('curl', [
          '-sS',
          '--cacert',
          server.caFile,
          '--resolve',
          `autodiscover.example.test:${server.ports.https}:127.0.0.1`,
          '-w',
          '\n%{http_code}',
          ...args,
        ])
      ).stdout;
    const url = `https://autodiscover.example.test:${server.ports.https}/Autodiscover/Autodiscover.xml`;
    const ok = await curl(['-H', 'Content-Type: text/xml', '--data-binary', body, url]);
    assert.match(ok, /<Type>IMAP<\/Type><Server>example\.test<\/Server><Port>\d+<\/Port>/);
    assert.match(ok, /<LoginName>alice@example\.test<\/LoginName>/);
    const bad = await curl(['-H', 'Content-Type: text/xml', '--data-binary', '<Autodiscover><nonsense', url]);
    assert.match(bad, /<ErrorCode>600<\/ErrorCode>/);
    const entity = await curl(['-H', 'Content-Type: text/xml', '--data-binary', '<!DOCTYPE a [<!ENTITY x "y">]><Autodiscover/>', url]);
    assert.match(entity, /<ErrorCode>600<\/ErrorCode>/);
    const huge = await curl(['-H', 'Content-Type: text/xml', '--data-binary', `<a>${'x'.repeat(17_000)}</a>`, url]);
    assert.match(huge, /413$/);
    const v2 = await curl([
      `https://autodiscover.example.test:${server.ports.https}/autodiscover/autodiscover.json/v1.0/alice@example.test?Protocol=AutodiscoverV1`,
    ]);
    assert.deepEqual(JSON.parse(v2.slice(0, v2.lastIndexOf('\n'))), {
      Protocol: 'AutodiscoverV1',
      Url: `${server.config.publicUrl}/autodiscover/autodiscover.xml`,
    });
    const v2bad = await curl([
      `https://autodiscover.example.test:${server.ports.https}/autodiscover/autodiscover.json?Email=alice%40example.test&Protocol=Ews`,
    ]);
    assert.match(v2bad, /InvalidProtocol[\s\S]*400$/);
  });

  it('offers an Apple profile download', async () => {
    const res = await request(server, '/apple/mail.mobileconfig?emailaddress=alice%40example.test');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/x-apple-aspen-config');
    assert.match(String(res.headers['content-disposition']), /attachment/);
    assert.match(res.body, /<string>alice@example\.test<\/string>/);
    // The test server uses its local CA: the profile carries it, so iOS and macOS trust the server.
    const der = new X509Certificate(server.ca).raw.toString('base64');
    assert.match(res.body, /<string>com\.apple\.security\.root<\/string>/);
    assert.ok(res.body.includes(`<data>${der}</data>`), 'the CA certificate in DER');
    assert.equal((await request(server, '/apple/mail.mobileconfig')).status, 400);
  });
});

describe('discovery in privacy mode with a small rate limit', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      domain: 'example.test',
      overrides: { server: { hostname: 'example.test' }, discovery: { rate_limit: 5 } },
    });
  });
  after(() => server.close());

  it('rate-limits a WebFinger URL answered before (and so kept) like any other', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12 && !statuses.includes(429); i++)
      statuses.push((await request(server, wf('resource=acct%3Abob%40example.test'))).status);
    assert.equal(statuses[0], 200);
    assert.equal(statuses[1], 200);
    assert.ok(statuses.includes(429), statuses.join(' '));
  });
});

describe('discovery with privacy off, a small rate limit and a domain that requires authentication', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      domain: 'example.test',
      overrides: { server: { hostname: 'example.test' }, discovery: { privacy: false, rate_limit: 12, require_auth: ['example.test'] } },
    });
    await server.services.accounts.addUser({ address: 'alice@example.test', password: 'correct horse battery' });
    await server.services.accounts.addAlias('postmaster@example.test', 'alice@example.test');
  });
  after(() => server.close());

  it('404s unknown accounts and names the canonical account of an alias', async () => {
    assert.equal((await request(server, wf('resource=acct%3Azed%40example.test'))).status, 404);
    const alias = JSON.parse((await request(server, wf('resource=acct%3Apostmaster%40example.test'))).body);
    assert.equal(alias.subject, 'acct:alice@example.test');
    assert.deepEqual(alias.aliases, ['mailto:alice@example.test']);
  });

  it('asks for authentication on the configuration document', async () => {
    const res = await request(server, '/discovery/config?emailaddress=alice%40example.test');
    assert.equal(res.status, 401);
    assert.match(String(res.headers['www-authenticate']), /Basic|Bearer/);
    assert.equal(JSON.parse(res.body).status, 401);
    const basic = `Basic ${Buffer.from('alice@example.test:correct horse battery').toString('base64')}`;
    const ok = await request(server, '/discovery/config?emailaddress=alice%40example.test', { headers: { authorization: basic } });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).username, 'alice@example.test');
    assert.match(String(ok.headers['cache-control']), /no-store/);
    const wrong = `Basic ${Buffer.from('alice@example.test:wrong').toString('base64')}`;
    assert.equal(
      (await request(server, '/discovery/config?emailaddress=alice%40example.test', { headers: { authorization: wrong } })).status,
      401,
    );
  });

  it('rate-limits one address with 429 and Retry-After', async () => {
    let limited: Answer | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const res = await request(server, wf('resource=acct%3Aalice%40example.test'));
      if (res.status === 429) limited = res;
    }
    assert.ok(limited, 'the limit was reached');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal(JSON.parse(limited.body).status, 429);
  });
});
