import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureLocalTls } from '../../src/net/local-ca.ts';
import { startTestServer, type TestServer, runCli } from '../helpers/server.ts';
import { type DnsRecord, startDns, type TestDns } from '../unit/discovery/dns-server.ts';

/**
 * The client side against a running server over HTTPS with the local CA: `fingerpost discover`
 * (WebFinger → configuration document → PACC with its DNS digest → autoconfig → SRV) and
 * `fingerpost dns` / `fingerpost doctor` with a loopback DNS server standing in for the zone.
 */

interface ZoneRecord {
  name: string;
  type: 'MX' | 'SRV' | 'TXT' | 'CNAME';
  value: string;
}

/** Turns `fingerpost dns --json` output into the test DNS server's table. */
function zoneFrom(records: ZoneRecord[], addresses: string[]): Map<string, DnsRecord[]> {
  const zone = new Map<string, DnsRecord[]>();
  const add = (name: string, r: DnsRecord) => zone.set(name, [...(zone.get(name) ?? []), r]);
  for (const name of addresses) add(name, { type: 'A', value: '127.0.0.1' });
  for (const r of records) {
    const parts = r.value.split(' ');
    const bare = (n: string) => n.replace(/\.$/, '');
    if (r.type === 'MX') add(r.name, { type: 'MX', priority: Number(parts[0]), exchange: bare(parts[1]!) });
    else if (r.type === 'SRV')
      add(r.name, { type: 'SRV', priority: Number(parts[0]), weight: Number(parts[1]), port: Number(parts[2]), target: bare(parts[3]!) });
    else if (r.type === 'CNAME') add(r.name, { type: 'CNAME', value: bare(r.value) });
    else add(r.name, { type: 'TXT', value: r.value });
  }
  return zone;
}

describe('fingerpost discover / dns / doctor against a running server', () => {
  let server: TestServer;
  let dns: TestDns;
  let dataDir: string;
  const names = ['example.test', 'autoconfig.example.test', 'ua-auto-config.example.test'];
  const connectTo = () => names.flatMap((n) => ['--connect-to', `${n}=127.0.0.1:${server.ports.https}`]);

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-discover-'));
    await ensureLocalTls(dataDir, ['example.test', ...names.slice(1), 'autodiscover.example.test']);
    server = await startTestServer({ dataDir, domain: 'example.test', overrides: { server: { hostname: 'example.test' } } });
    await server.services.accounts.addUser({ address: 'alice@example.test', password: 'correct horse battery' });
    // the CLI reads DATA/fingerpost.toml: give it the running server's host name and ports
    const p = server.ports;
    await writeFile(
      path.join(dataDir, 'fingerpost.toml'),
      [
        '[server]\nhostname = "example.test"',
        `[http]\nport = ${p.https}`,
        `[imap]\nport = ${p.imap}\ntls_port = ${p.imaps}`,
        `[pop3]\nport = ${p.pop3}\ntls_port = ${p.pop3s}`,
        `[submission]\nport = ${p.submission}\ntls_port = ${p.submissions}`,
        `[smtp]\nport = ${p.smtp}`,
        '',
      ].join('\n'),
    );
    dns = await startDns(zoneFrom([], names));
  });
  after(async () => {
    await dns.close();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('doctor names every missing record and says what to publish', async () => {
    const r = await runCli([
      'doctor',
      'example.test',
      '--data',
      dataDir,
      '--resolver',
      dns.address,
      '--ca',
      server.caFile,
      '--https-port',
      String(server.ports.https),
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /FAIL {2}MX example\.test: no MX record\n {6}fix: publish: example\.test\. MX 10 example\.test\./);
    assert.match(r.stdout, /FAIL {2}SRV _imaps\._tcp\.example\.test: missing/);
    assert.match(r.stdout, /FAIL {2}PACC: the served document does not match/);
    assert.match(r.stdout, /ok {4}WebFinger: issuer https:\/\/example\.test:\d+\/oidc/);
    assert.match(r.stdout, /ok {4}autoconfig: \d+ servers/);
  });

  it('dns prints the zone, and with it published doctor finds the records right', async () => {
    const text = await runCli(['dns', 'example.test', '--data', dataDir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`_imaps\\._tcp\\.example\\.test\\.\\t3600\\tIN\\tSRV\\t0 1 ${server.ports.imaps} example\\.test\\.`),
    );
    assert.match(text.stdout, /_ua-auto-config\.example\.test\.\t3600\tIN\tTXT\t"v=UAAC1; a=sha256; d=[A-Za-z0-9+/]{43}="/);
    const json = await runCli(['dns', 'example.test', '--data', dataDir, '--json']);
    dns.records = zoneFrom(JSON.parse(json.stdout), names);
    const r = await runCli([
      'doctor',
      'example.test',
      '--data',
      dataDir,
      '--resolver',
      dns.address,
      '--ca',
      server.caFile,
      '--https-port',
      String(server.ports.https),
      '--json',
    ]);
    const findings = JSON.parse(r.stdout) as { level: string; check: string; detail: string }[];
    const failed = findings.filter((f) => f.level === 'fail');
    // the embedded provider's metadata is checked too; everything else must be right now
    assert.deepEqual(
      failed.filter((f) => f.check !== 'issuer metadata'),
      [],
    );
    assert.ok(findings.some((f) => f.check === 'PACC' && f.level === 'ok'));
    assert.ok(findings.some((f) => f.check === 'CNAME autoconfig.example.test' && f.level === 'ok'));
    assert.equal(r.code, failed.length ? 1 : 0);
  });

  it('discover runs the whole chain over HTTPS with the local CA and says where each fact came from', async () => {
    const r = await runCli([
      'discover',
      'alice@example.test',
      '--ca',
      server.caFile,
      ...connectTo(),
      '--resolver',
      dns.address,
      '--all',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout);
    const outcome = (source: string) =>
      d.steps.filter((s: { source: string }) => s.source === source).map((s: { outcome: string }) => s.outcome);
    assert.deepEqual(outcome('webfinger'), ['ok']);
    assert.deepEqual(outcome('config-document'), ['ok']);
    assert.deepEqual(outcome('pacc'), ['ok']);
    assert.equal(outcome('autoconfig')[0], 'ok');
    assert.deepEqual(outcome('srv'), ['ok']);
    assert.equal(d.issuer.issuer, `${server.config.publicUrl}/oidc`);
    assert.equal(d.issuer.source, 'webfinger');
    assert.equal(d.servicesFrom, 'config-document');
    const imaps = d.services.find((s: { protocol: string; tls: string }) => s.protocol === 'imap' && s.tls === 'implicit');
    assert.deepEqual([imaps.host, imaps.port], ['example.test', server.ports.imaps]);
    assert.ok(imaps.auth.includes('OAUTHBEARER'));
    assert.deepEqual(d.resources.slice(0, 3), ['imap://example.test', 'pop3://example.test', 'smtp://example.test']);
    assert.equal(d.certificateHost, 'example.test');
    assert.equal(d.freeBusyUrl, `${server.config.publicUrl}/freebusy/alice@example.test`);
    // the issuer's metadata is fetched and its issuer compared exactly, whatever the provider answers
    const meta = d.steps.filter((s: { source: string }) => s.source === 'issuer-metadata');
    assert.ok(meta.length >= 1);
    if (meta[0].outcome === 'ok') assert.ok(d.issuer.metadata.token_endpoint);

    const human = await runCli(['discover', 'alice@example.test', '--ca', server.caFile, ...connectTo(), '--resolver', dns.address]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /issuer {10}https:\/\/example\.test:\d+\/oidc {2}\(from webfinger/);
    assert.match(human.stdout, /services {8}\(from config-document\)/);
    assert.match(human.stdout, /skipped +pacc/);
  });

  it('refuses a PACC document whose DNS digest does not match, and fails closed without the CA', async () => {
    const zone = new Map(dns.records);
    zone.set('_ua-auto-config.example.test', [{ type: 'TXT', value: `v=UAAC1; a=sha256; d=${Buffer.alloc(32).toString('base64')}` }]);
    dns.records = zone;
    const r = await runCli([
      'discover',
      'alice@example.test',
      '--ca',
      server.caFile,
      ...connectTo(),
      '--resolver',
      dns.address,
      '--all',
      '--json',
    ]);
    const d = JSON.parse(r.stdout);
    const pacc = d.steps.find((s: { source: string }) => s.source === 'pacc');
    assert.equal(pacc.outcome, 'failed');
    assert.match(pacc.detail, /does not match/);

    const noCa = await runCli(['discover', 'alice@example.test', ...connectTo(), '--resolver', dns.address, '--json']);
    const n = JSON.parse(noCa.stdout);
    assert.equal(n.steps[0].source, 'webfinger');
    assert.equal(n.steps[0].outcome, 'failed');
    assert.match(n.steps[0].detail, /certificate/i);
    assert.ok(n.steps.filter((s: { source: string }) => s.source !== 'srv').every((s: { outcome: string }) => s.outcome !== 'ok'));
    assert.equal(n.issuer, undefined, 'no issuer is taken from an unverified connection');
    assert.equal(n.servicesFrom, 'srv', 'only the DNS hints remain');
  });

  it('rejects a bad address or option with exit code 2', async () => {
    assert.equal((await runCli(['discover', 'not-an-address'])).code, 2);
    assert.equal((await runCli(['discover', 'a@example.test', '--connect-to', 'nonsense'])).code, 2);
    assert.equal((await runCli(['dns', 'other.test', '--data', dataDir])).code, 1);
  });
});
