// MTA-STS (RFC 8461) in the outbound queue: the real queue worker delivers to a second Fingerpost
// node's MX listener (STARTTLS with its local CA's certificate) found through MX records served by
// a loopback DNS server; policies come from an HTTPS policy host the test starts. Enforce: only
// listed MX hosts, verified TLS; testing and no policy: delivered as before; a policy host that
// cannot be reached leaves delivery as without MTA-STS.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CachingResolver } from '../../src/mail/inbound/dns-cache.ts';
import { MtaStsPolicies, mxMatches, parsePolicy } from '../../src/mail/queue/mta-sts.ts';
import { OutboundQueue } from '../../src/mail/queue/queue.ts';
import { QueueWorker } from '../../src/mail/queue/worker.ts';
import { createLogger } from '../../src/core/log.ts';
import { startTestDns, type TestDns } from '../helpers/dns-server.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { inboxOf } from './smtp-helpers.ts';

const PASSWORD = 'pw-pat-123456';

describe('MTA-STS policies in the outbound queue', () => {
  let mx: TestServer;
  let sender: TestServer;
  let dns: TestDns;
  let policyHost: https.Server;
  let dir: string;
  const policies = new Map<string, string>();
  let queue: OutboundQueue;
  let worker: (mxCa: boolean) => QueueWorker;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-mta-sts-'));
    const names = ['enforced', 'mismatch', 'testing', 'unreachable'].map((d) => `DNS:mta-sts.${d}.test`).join(',');
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=mta-sts'],
        ...['-addext', `subjectAltName=${names}`, '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
      ],
      { stdio: 'ignore' },
    );
    const cert = await readFile(path.join(dir, 'cert.pem'), 'utf8');
    policyHost = https.createServer({ cert, key: await readFile(path.join(dir, 'key.pem'), 'utf8') }, (req, res) => {
      const body = policies.get(String(req.headers.host));
      if (req.url !== '/.well-known/mta-sts.txt' || !body) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    });
    await new Promise<void>((resolve) => policyHost.listen(0, '127.0.0.1', resolve));
    const policyPort = (policyHost.address() as AddressInfo).port;

    dns = await startTestDns();
    for (const d of ['enforced', 'mismatch', 'testing', 'plain', 'unreachable']) dns.set(`${d}.test`, 'MX', ['10 localhost']);
    for (const d of ['enforced', 'mismatch', 'testing', 'unreachable']) dns.set(`_mta-sts.${d}.test`, 'TXT', ['v=STSv1; id=20261207']);
    for (const d of ['enforced', 'mismatch', 'testing']) dns.set(`mta-sts.${d}.test`, 'A', ['127.0.0.1']);
    policies.set('mta-sts.enforced.test', 'version: STSv1\r\nmode: enforce\r\nmx: localhost\r\nmx: *.enforced.test\r\nmax_age: 86400\r\n');
    policies.set('mta-sts.mismatch.test', 'version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\nmax_age: 86400\n');
    policies.set('mta-sts.testing.test', 'version: STSv1\nmode: testing\nmx: mx.elsewhere.test\nmax_age: 86400\n');

    mx = await startTestServer({ domain: 'enforced.test' });
    for (const d of ['enforced', 'mismatch', 'testing', 'plain', 'unreachable']) {
      if (d !== 'enforced') await mx.services.directory.addDomain(`${d}.test`);
      await mx.services.accounts.addUser({ address: `pat@${d}.test`, password: PASSWORD });
    }
    sender = await startTestServer({ domain: 'origin.test', overrides: { queue: { enabled: false } } });
    queue = new OutboundQueue(sender.services.db, sender.services.blobs, { maxAgeMs: 86_400_000 });
    const resolver = new CachingResolver({ servers: [dns.server], timeoutMs: 2000, ttlMs: 0, maxEntries: 100 });
    worker = (mxCa) =>
      new QueueWorker({
        queue,
        hostname: 'origin.test',
        routes: new Map(),
        port: mx.ports.smtp,
        resolveMx: (d) => resolver.resolve(d, 'MX') as Promise<{ exchange: string; priority: number }[]>,
        retryInitialMs: 1000,
        retryMaxMs: 1000,
        pollMs: 60_000,
        concurrency: 2,
        timeoutMs: 5000,
        verifyMxTls: false,
        mtaSts: new MtaStsPolicies({ resolve: resolver.resolve, port: policyPort, ca: cert, timeoutMs: 2000 }),
        ...(mxCa ? { mxCa: [mx.ca] } : {}),
        bounce: async () => {},
        logger: createLogger('silent'),
      });
  });
  after(async () => {
    await sender?.close();
    await mx?.close();
    await dns?.close();
    policyHost?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const send = (to: string, subject: string) =>
    queue.enqueue({
      sender: 'sam@origin.test',
      recipients: [to],
      message: Buffer.from(`From: sam@origin.test\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nhello\r\n`),
    });
  const lastError = async (to: string) =>
    await sender.services.db.kysely.selectFrom('queue_recipients').selectAll().where('recipient', '=', to).executeTakeFirstOrThrow();

  test('policy text and MX patterns (RFC 8461 §3.2, §4.1)', () => {
    assert.deepEqual(parsePolicy('version: STSv1\nmode: enforce\nmx: *.example.net\nmax_age: 99999999\n', 'a'), {
      id: 'a',
      mode: 'enforce',
      mx: ['*.example.net'],
      maxAge: 31_557_600,
    });
    assert.equal(parsePolicy('version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n', 'a'), undefined);
    assert.equal(parsePolicy('version: STSv1\nmode: enforce\nmax_age: 1\n', 'a'), undefined, 'enforce needs mx');
    assert.ok(mxMatches('*.example.net', 'mx1.example.net'));
    assert.ok(!mxMatches('*.example.net', 'a.b.example.net'));
    assert.ok(!mxMatches('*.example.net', 'example.net'));
  });

  test('enforce: delivered over verified STARTTLS to a listed MX; an MX outside the policy is not used', async () => {
    await send('pat@enforced.test', 'enforced');
    await send('pat@mismatch.test', 'mismatch');
    await worker(true).runOnce();
    assert.ok((await inboxOf(mx, 'pat@enforced.test')).some((m) => m.includes('Subject: enforced') && /with ESMTPS/.test(m)));
    const row = await lastError('pat@mismatch.test');
    assert.equal(row.status, 'queued');
    assert.match(row.last_error ?? '', /MTA-STS policy 20261207 of mismatch\.test \(enforce\) lists none of its MX hosts/);
    assert.equal((await inboxOf(mx, 'pat@mismatch.test')).length, 0);
  });

  test('enforce: a certificate that does not verify keeps the message queued', async () => {
    await sender.services.db.kysely.deleteFrom('queue_recipients').execute();
    await send('pat@enforced.test', 'unverified');
    await worker(false).runOnce();
    const row = await lastError('pat@enforced.test');
    assert.equal(row.status, 'queued');
    assert.match(row.last_error ?? '', /certificate|self[- ]signed|issuer/i);
  });

  test('testing mode, no policy, and an unreachable policy host deliver as without MTA-STS', async () => {
    await sender.services.db.kysely.deleteFrom('queue_recipients').execute();
    for (const d of ['testing', 'plain', 'unreachable']) await send(`pat@${d}.test`, `mode ${d}`);
    await worker(false).runOnce();
    for (const d of ['testing', 'plain', 'unreachable'])
      assert.ok(
        (await inboxOf(mx, `pat@${d}.test`)).some((m) => m.includes(`Subject: mode ${d}`)),
        d,
      );
  });
});
