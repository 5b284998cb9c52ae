// The SSRF guard for outbound requests: addresses checked after resolution, explicit mappings,
// TLS verified against the configured CA, redirects and sizes limited.
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isPublicAddress, OutboundError, OutboundHttp, parseResolveEntries } from '../../../src/calendar/outbound.ts';
import { ensureLocalTls } from '../../../src/net/local-ca.ts';

describe('isPublicAddress', () => {
  it('refuses loopback, private, link-local, metadata, ULA, mapped and NAT64 forms of them', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '64:ff9b::a9fe:a9fe',
      '224.0.0.1',
      'not-an-ip',
    ])
      assert.equal(isPublicAddress(ip), false, ip);
  });
  it('accepts public addresses', () => {
    for (const ip of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPublicAddress(ip), true, ip);
  });
  it('parses resolve entries', () => {
    assert.deepEqual(
      [...parseResolveEntries(['One.Test=127.0.0.1:8443', 'two.test=::1', 'six.test=[::1]:99'])],
      [
        ['one.test', { address: '127.0.0.1', port: 8443 }],
        ['two.test', { address: '::1' }],
        ['six.test', { address: '::1', port: 99 }],
      ],
    );
    assert.throws(() => parseResolveEntries(['x=not-an-ip']), /not an IP address/);
  });
});

describe('OutboundHttp against a local HTTPS server', () => {
  let dir: string;
  let server: https.Server;
  let port: number;
  let ca: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-out-'));
    const files = await ensureLocalTls(dir, ['feeds.test']);
    ca = await readFile(files.caCert, 'utf8');
    server = https.createServer({ cert: await readFile(files.cert), key: await readFile(files.key) }, (req, res) => {
      if (req.url === '/big') return res.end('x'.repeat(5000));
      if (req.url === '/redirect') return res.writeHead(302, { location: '/ok' }).end();
      if (req.url === '/downgrade') return res.writeHead(302, { location: 'http://feeds.test/ok' }).end();
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
      res.end(`ok ${req.headers.host} ${req.headers.authorization ?? '-'}`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const client = (over: Partial<ConstructorParameters<typeof OutboundHttp>[0]> = {}) =>
    new OutboundHttp({ allowPrivate: false, resolve: new Map(), extraCa: ca, timeoutMs: 1000, userAgent: 'test', ...over });

  const failsWith = async (p: Promise<unknown>, reason: string, pattern?: RegExp) => {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof OutboundError, String(err));
      assert.equal(err.reason, reason, err.message);
      if (pattern) assert.match(err.message, pattern);
      return true;
    });
  };

  it('refuses loopback by literal address and by name when private addresses are not allowed', async () => {
    await failsWith(client().get(`https://127.0.0.1:${port}/ok`, { maxBytes: 100 }), 'blocked', /127\.0\.0\.1 is not a public address/);
    await failsWith(client().get(`https://localhost:${port}/ok`, { maxBytes: 100 }), 'blocked', /localhost resolves to/);
  });

  it('reaches a host mapped by calendar.resolve, verifying TLS for that name', async () => {
    const c = client({ resolve: parseResolveEntries([`feeds.test=127.0.0.1:${port}`]) });
    const res = await c.get('https://feeds.test/ok', { maxBytes: 100, headers: { authorization: 'Assertion x' } });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'ok feeds.test Assertion x');
    // Without the CA the certificate does not verify.
    await failsWith(
      new OutboundHttp({
        allowPrivate: false,
        resolve: parseResolveEntries([`feeds.test=127.0.0.1:${port}`]),
        timeoutMs: 1000,
        userAgent: 't',
      }).get('https://feeds.test/ok', { maxBytes: 100 }),
      'tls',
    );
    // A mapped name the certificate does not cover fails TLS.
    await failsWith(
      client({ resolve: parseResolveEntries([`other.test=127.0.0.1:${port}`]) }).get('https://other.test/ok', { maxBytes: 100 }),
      'tls',
    );
  });

  it('limits body size, redirects, downgrades and time', async () => {
    const c = client({ resolve: parseResolveEntries([`feeds.test=127.0.0.1:${port}`]) });
    await failsWith(c.get('https://feeds.test/big', { maxBytes: 1000 }), 'too_large');
    await failsWith(c.get('https://feeds.test/redirect', { maxBytes: 1000 }), 'redirect');
    const followed = await c.get('https://feeds.test/redirect', { maxBytes: 1000, maxRedirects: 2 });
    assert.equal(followed.url, 'https://feeds.test/ok');
    await failsWith(c.get('https://feeds.test/downgrade', { maxBytes: 1000, maxRedirects: 2 }), 'redirect', /from https to http:/);
    await failsWith(c.get('https://feeds.test/slow', { maxBytes: 1000 }), 'timeout');
    await failsWith(c.get('ftp://feeds.test/x', { maxBytes: 1000 }), 'scheme');
    await failsWith(c.get('http://feeds.test/x', { maxBytes: 1000, httpsOnly: true }), 'scheme');
    await failsWith(c.get('https://user:pw@feeds.test/x', { maxBytes: 1000 }), 'scheme');
  });

  it('allow_private_addresses lets loopback through', async () => {
    const res = await client({ allowPrivate: true }).get(`https://localhost:${port}/ok`, { maxBytes: 100 });
    assert.equal(res.status, 200);
  });
});
