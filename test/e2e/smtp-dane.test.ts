// DANE for outbound SMTP (RFC 7672): the real queue worker delivers to a second Fingerpost node's
// MX listener (STARTTLS, its local CA's certificate) with MX and TLSA records from a loopback DNS
// server that sets the AD bit for names the test marks secure, as a validating resolver would.
// Matching DANE-EE and DANE-TA records deliver; a record that matches nothing, a TLSA lookup that
// fails, and a host without STARTTLS (Postfix's smtp-sink) keep the message queued; records
// without AD are ignored; DANE takes precedence over MTA-STS (RFC 8461 §2).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createLogger } from '../../src/core/log.ts';
import { CachingResolver } from '../../src/mail/inbound/dns-cache.ts';
import { DaneLookups, daneVerify } from '../../src/mail/queue/dane.ts';
import { MtaStsPolicies } from '../../src/mail/queue/mta-sts.ts';
import { OutboundQueue } from '../../src/mail/queue/queue.ts';
import { SecureResolver } from '../../src/mail/queue/secure-dns.ts';
import { QueueWorker, type TlsSessionResult } from '../../src/mail/queue/worker.ts';
import { DailyReports } from '../../src/mail/reports/daily-reports.ts';
import { ReportStore } from '../../src/mail/reports/report-store.ts';
import { startTestDns, type TestDns } from '../helpers/dns-server.ts';
import { commandSkip, peerSkip } from '../helpers/peers.ts';
import { freePorts } from '../helpers/ports.ts';
import { selfSignedCertificate } from '../helpers/self-signed.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { inboxOf, run, waitFor } from './smtp-helpers.ts';

const PASSWORD = 'pw-dane-123456';
const SINK = existsSync('/usr/sbin/smtp-sink') ? '/usr/sbin/smtp-sink' : 'smtp-sink';
const skip = commandSkip('openssl', 'openssl', ['version']) || peerSkip('smtp-sink', existsSync(SINK), 'apt-get install postfix');
const DAY = 86_400_000;
const DOMAINS = ['ee', 'ta', 'wrong', 'insecure', 'servfail', 'sts', 'unusable', 'plaintext'] as const;

/** The certificates the MX presents after STARTTLS, leaf first (openssl s_client -showcerts). */
async function presentedChain(port: number): Promise<X509Certificate[]> {
  // Asynchronous: the MX answering it runs in this process.
  const out = (
    await run('openssl', ['s_client', '-starttls', 'smtp', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-showcerts'])
  ).stdout;
  return [...out.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]));
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const spki = (c: X509Certificate) => c.publicKey.export({ type: 'spki', format: 'der' });

describe('DANE in the outbound queue', { skip }, () => {
  let mx: TestServer;
  let sender: TestServer;
  let dns: TestDns;
  let queue: OutboundQueue;
  let chain: X509Certificate[];
  let sink: ChildProcess;
  let sinkPort: number;
  let dir: string;
  const results: TlsSessionResult[] = [];
  const counted: Promise<void>[] = [];
  let store: ReportStore;
  let reportHost: https.Server;
  let reportCa: string;
  const posted: Array<{ type: string; body: Buffer }> = [];
  let worker: (port: number) => QueueWorker;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-dane-'));
    mx = await startTestServer({ domain: 'ee.test' });
    for (const d of DOMAINS) {
      if (d !== 'ee') await mx.services.directory.addDomain(`${d}.test`);
      await mx.services.accounts.addUser({ address: `pat@${d}.test`, password: PASSWORD });
    }
    chain = await presentedChain(mx.ports.smtp);
    assert.ok(chain.length >= 1);
    const leaf = chain[0]!;
    const ca = new X509Certificate(mx.ca);

    await chmod(dir, 0o777);
    [sinkPort] = (await freePorts(1)) as [number];
    sink = spawn(SINK, ['-u', 'nobody', `127.0.0.1:${sinkPort}`, '16'], { stdio: 'ignore' });
    await waitFor(
      () =>
        new Promise<true | undefined>((resolve) => {
          const s = net.connect({ port: sinkPort, host: '127.0.0.1' });
          s.once('connect', () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(undefined));
        }),
      'smtp-sink',
    );

    dns = await startTestDns();
    // TLSA records live at _port._tcp.host (RFC 6698 §3); the MX listens on a test port, not 25.
    const tlsa = (d: string, port = mx.ports.smtp) => `_${port}._tcp.mx.${d}.test`;
    for (const d of DOMAINS) {
      // Each domain has its own MX host name, so each has its own TLSA RRset.
      dns.set(`${d}.test`, 'MX', [`10 mx.${d}.test`]);
      dns.set(`mx.${d}.test`, 'A', ['127.0.0.1']);
      if (d !== 'insecure') dns.secure(`${d}.test`);
      dns.secure(tlsa(d));
      dns.secure(tlsa(d, sinkPort));
    }
    dns.set(tlsa('ee'), 'TLSA', [`3 1 1 ${sha256(spki(leaf))}`, '3 0 1 00112233']);
    dns.set(tlsa('ta'), 'TLSA', [`2 0 1 ${sha256(ca.raw)}`]);
    dns.set(tlsa('wrong'), 'TLSA', [`3 1 1 ${'ab'.repeat(32)}`, `2 1 2 ${'cd'.repeat(64)}`]);
    // Not validated: the records are not used, though they match nothing.
    dns.set(tlsa('insecure'), 'TLSA', [`3 1 1 ${'ab'.repeat(32)}`]);
    dns.fail(tlsa('servfail'));
    dns.set(tlsa('sts'), 'TLSA', [`3 1 1 ${sha256(spki(leaf))}`]);
    dns.set('_mta-sts.sts.test', 'TXT', ['v=STSv1; id=1']);
    // PKIX-EE (usage 1) is unusable for SMTP (RFC 7672 §3.1.3): TLS without authentication.
    dns.set(tlsa('unusable'), 'TLSA', [`1 1 1 ${'ab'.repeat(32)}`]);
    const tlsCert = selfSignedCertificate(dir);
    reportCa = tlsCert.cert;
    reportHost = https.createServer({ cert: tlsCert.cert, key: tlsCert.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        posted.push({ type: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.writeHead(201).end();
      });
    });
    await new Promise<void>((resolve) => reportHost.listen(0, '127.0.0.1', resolve));
    const reportPort = (reportHost.address() as AddressInfo).port;
    dns.set('_smtp._tls.ee.test', 'TXT', [`v=TLSRPTv1; rua=mailto:tls@ee.test,https://localhost:${reportPort}/tlsrpt`]);
    dns.set(tlsa('plaintext', sinkPort), 'TLSA', [`3 1 1 ${sha256(spki(leaf))}`]);

    sender = await startTestServer({ domain: 'origin.test', overrides: { queue: { enabled: false } } });
    queue = new OutboundQueue(sender.services.db, sender.services.blobs, { maxAgeMs: 86_400_000 });
    store = new ReportStore(sender.services.db);
    await mx.services.accounts.addUser({ address: 'tls@ee.test', password: PASSWORD });
    const resolver = new CachingResolver({ servers: [dns.server], timeoutMs: 2000, ttlMs: 0, maxEntries: 100 });
    const dane = new DaneLookups(new SecureResolver({ servers: [dns.server], timeoutMs: 2000 }));
    worker = (port) =>
      new QueueWorker({
        queue,
        hostname: 'origin.test',
        routes: new Map(),
        port,
        resolveMx: (d) => resolver.resolve(d, 'MX') as Promise<{ exchange: string; priority: number }[]>,
        resolveAddress: (h) => resolver.resolve(h, 'A') as Promise<string[]>,
        retryInitialMs: 1000,
        retryMaxMs: 1000,
        pollMs: 60_000,
        concurrency: 4,
        timeoutMs: 5000,
        verifyMxTls: false,
        dane,
        mtaSts: new MtaStsPolicies({ resolve: resolver.resolve, port: 9, timeoutMs: 1000 }),
        tlsResult: (r) => {
          results.push(r);
          counted.push(
            store.addTls(Date.now(), {
              policyDomain: r.domain,
              policy: r.policy,
              result: r.failure ?? '',
              receivingMx: r.receivingMx ?? '',
            }),
          );
        },
        bounce: async () => {},
        logger: createLogger('silent'),
      });
  });
  after(async () => {
    await sender?.close();
    await mx?.close();
    await dns?.close();
    reportHost?.close();
    if (sink && sink.exitCode === null) {
      const exited = new Promise((r) => sink.once('exit', r));
      sink.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  const send = (d: string) =>
    queue.enqueue({
      sender: 'sam@origin.test',
      recipients: [`pat@${d}.test`],
      message: Buffer.from(`From: sam@origin.test\r\nTo: pat@${d}.test\r\nSubject: dane ${d}\r\n\r\nhello\r\n`),
    });
  const row = (d: string) =>
    sender.services.db.kysely.selectFrom('queue_recipients').selectAll().where('recipient', '=', `pat@${d}.test`).executeTakeFirstOrThrow();
  const delivered = async (d: string) =>
    (await inboxOf(mx, `pat@${d}.test`)).some((m) => m.includes(`Subject: dane ${d}`) && /with ESMTPS/.test(m));

  test('DANE-TA: the name must match the MX host or the domain, and the chain must lead to the record', () => {
    const leaf = chain[0]!;
    const ca = new X509Certificate(mx.ca);
    const ta = [{ usage: 2, selector: 1, matching: 1, data: createHash('sha256').update(spki(ca)).digest() }];
    const full = chain.some((c) => c.fingerprint256 === ca.fingerprint256) ? chain : [...chain, ca];
    assert.equal(daneVerify(full, ta, ['localhost'], new Date()), undefined);
    assert.match(daneVerify(full, ta, ['mx.elsewhere.test'], new Date()) ?? '', /names none of/);
    assert.match(daneVerify([leaf], ta, ['localhost'], new Date()) ?? '', /no certificate of the chain/);
    assert.match(daneVerify(full, ta, ['localhost'], new Date(Date.now() + 400 * 86_400_000)) ?? '', /not valid now/);
  });

  test('matching DANE-EE and DANE-TA records deliver; a mismatch and a failed lookup stay queued; unvalidated records are ignored', async () => {
    for (const d of ['ee', 'ta', 'wrong', 'insecure', 'servfail', 'unusable']) await send(d);
    await worker(mx.ports.smtp).runOnce();
    assert.ok(await delivered('ee'), 'DANE-EE 3 1 1');
    // DANE-TA needs the CA in the presented chain and the MX host name in the certificate.
    const caPresented = chain.some((c) => c.fingerprint256 === new X509Certificate(mx.ca).fingerprint256);
    if (caPresented) assert.ok(await delivered('ta'), 'DANE-TA 2 0 1');
    else assert.match((await row('ta')).last_error ?? '', /DANE: no certificate of the chain matches a DANE-TA/);
    assert.ok(await delivered('insecure'), 'records without AD are not DANE');
    assert.ok(await delivered('unusable'), 'unusable records: TLS, not authenticated');
    const wrong = await row('wrong');
    assert.equal(wrong.status, 'queued');
    assert.match(wrong.last_error ?? '', /DANE: .*matches no|DANE: no certificate/);
    assert.equal((await inboxOf(mx, 'pat@wrong.test')).length, 0);
    const failed = await row('servfail');
    assert.equal(failed.status, 'queued');
    assert.match(failed.last_error ?? '', /DANE: TLSA lookup for mx\.servfail\.test failed/);
    const byDomain = (d: string) => results.filter((r) => r.domain === `${d}.test`);
    assert.deepEqual(
      byDomain('ee').map((r) => [r.policy.type, r.failure ?? 'ok']),
      [['tlsa', 'ok']],
    );
    assert.deepEqual(
      byDomain('wrong').map((r) => r.failure),
      ['tlsa-invalid'],
    );
    assert.equal(byDomain('insecure')[0]?.policy.type, 'no-policy-found');
  });

  test('DANE takes precedence over MTA-STS: the policy is never looked up', async () => {
    await send('sts');
    await worker(mx.ports.smtp).runOnce();
    assert.ok(await delivered('sts'));
    assert.ok(!dns.queries.includes('TXT _mta-sts.sts.test'), 'no MTA-STS lookup for a DANE domain');
    assert.ok(dns.queries.includes('TXT _mta-sts.insecure.test'), 'MTA-STS still applies without DANE');
  });

  test('a host that does not offer STARTTLS gets nothing in the clear', async () => {
    await send('plaintext');
    await worker(sinkPort).runOnce();
    const r = await row('plaintext');
    assert.equal(r.status, 'queued');
    assert.match(r.last_error ?? '', /STARTTLS/i);
    assert.deepEqual(
      results.filter((x) => x.domain === 'plaintext.test').map((x) => x.failure),
      ['starttls-not-supported'],
    );
  });

  test('TLS-RPT: the next day the counts go to the rua by HTTPS POST and by mail through the queue (RFC 8460 §5)', async () => {
    await Promise.all(counted);
    const reports = new DailyReports({
      store,
      orgName: 'origin.test',
      from: 'postmaster@origin.test',
      resolve: new CachingResolver({ servers: [dns.server], timeoutMs: 2000, ttlMs: 0, maxEntries: 100 }).resolve,
      enqueue: (input) => queue.enqueue(input),
      dmarc: false,
      tlsRpt: true,
      ca: [reportCa],
      timeoutMs: 5000,
      logger: createLogger('silent'),
    });
    const handled = await reports.sendDue(Date.now() + DAY);
    // Only ee.test publishes _smtp._tls; the other domains' reports have nowhere to go.
    assert.ok(handled.some((r) => r.domain === 'ee.test' && r.destinations.length === 2));
    assert.equal((await reports.sendDue(Date.now() + DAY)).length, 0, 'each report once');
    assert.equal(posted.length, 1);
    assert.equal(posted[0]!.type, 'application/tlsrpt+gzip');
    const report = JSON.parse(gunzipSync(posted[0]!.body).toString('utf8'));
    assert.equal(report['organization-name'], 'origin.test');
    assert.equal(report.policies.length, 1);
    const [p] = report.policies;
    assert.equal(p.policy['policy-type'], 'tlsa');
    assert.equal(p.policy['policy-domain'], 'ee.test');
    assert.ok(p.policy['policy-string'].includes(`3 1 1 ${sha256(spki(chain[0]!))}`));
    assert.deepEqual(p.summary, { 'total-successful-session-count': 1, 'total-failure-session-count': 0 });
    await worker(mx.ports.smtp).runOnce();
    const [mail] = await inboxOf(mx, 'tls@ee.test');
    assert.ok(mail, 'the mailed report arrived over DANE-authenticated TLS');
    assert.match(mail, /^TLS-Report-Domain: ee\.test\r$/m);
    assert.match(mail, /Content-Type: multipart\/report; report-type="tlsrpt"/);
    assert.match(mail, /Content-Type: application\/tlsrpt\+gzip; name="origin\.test!ee\.test!\d+!\d+!/);
  });
});
