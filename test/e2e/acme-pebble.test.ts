// Production certificates through ACME (RFC 8555) against Pebble, the test CA Let's Encrypt ships:
// Pebble runs on loopback with its own config in a temp dir, resolves the test names to 127.0.0.1
// through a small DNS server here, and validates against the servers' own port-0-style listeners
// (its httpPort is one server's http-01 responder, its tlsPort another server's HTTPS port). Each
// served name then gets a certificate that chains to Pebble's root (checked by a TLS client that
// trusts only that root and checks the name), a renewal timer on a manual clock replaces it, a
// name that does not resolve fails with that name and what to check, and bad ACME config stops
// start-up naming the key.
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certificateNames } from '../../src/discovery/certificate-names.ts';
import { startDns, type TestDns } from '../unit/discovery/dns-server.ts';
import { ManualClock } from '../helpers/clock.ts';
import { type Pebble, pebbleSkip, startPebble } from '../helpers/pebble.ts';
import { freePorts } from '../helpers/ports.ts';
import { spawnServe } from '../helpers/process.ts';
import { portEnv, portOverrides, runCli, startTestServer, type TestServer } from '../helpers/server.ts';
import { served } from '../helpers/tls-served.ts';

const skip = pebbleSkip();
const DAY = 86_400_000;

describe('ACME certificates from Pebble (RFC 8555, http-01 and tls-alpn-01)', { skip }, () => {
  let tmp: string;
  let dns: TestDns;
  let pebble: Pebble;
  let directory: string;
  let root: string;
  let intermediate: X509Certificate;
  let httpServer: TestServer;
  let alpnServer: TestServer;
  const httpClock = new ManualClock();
  const alpnClock = new ManualClock();
  let ports: { https: number; http01: number; alpnHttps: number };

  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'fp-acme-'));
    const a = new Map(
      [...certificateNames('alpha.test'), ...certificateNames('beta.test')].map((n) => [n, [{ type: 'A' as const, value: '127.0.0.1' }]]),
    );
    dns = await startDns(a);
    const [https1, http01, https2] = (await freePorts(3)) as [number, number, number];
    ports = { https: https1, http01, alpnHttps: https2 };
    // Where Pebble's validation connects for each name (resolved through `dns` to 127.0.0.1).
    pebble = await startPebble(tmp, dns.address, { httpPort: http01, tlsPort: https2 });
    ({ directory, root, intermediate } = pebble);

    const acme = { directory, email: 'postmaster@alpha.test', ca_file: pebble.caFile };
    httpServer = await startTestServer({
      domain: 'alpha.test',
      overrides: {
        http: { port: ports.https },
        tls: { acme: { ...acme, challenge: 'http-01', http_port: ports.http01, http_bind: '127.0.0.1' } },
      },
      renewalClock: httpClock,
    });
    alpnServer = await startTestServer({
      domain: 'beta.test',
      overrides: { http: { port: ports.alpnHttps }, tls: { acme: { ...acme, challenge: 'tls-alpn-01' } } },
      renewalClock: alpnClock,
    });
  });

  after(async () => {
    await httpServer?.close();
    await alpnServer?.close();
    await pebble?.close();
    await dns?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function assertPebbleCertificates(server: TestServer, port: number, domain: string): Promise<Map<string, string>> {
    const serials = new Map<string, string>();
    for (const name of certificateNames(domain)) {
      const r = await served(port, name, root);
      assert.equal(
        r.ok,
        true,
        `${name}: ${JSON.stringify(r)}; status ${JSON.stringify(server.server.acme?.certs.status())}\n${pebble.log()}`,
      );
      if (!r.ok) continue;
      assert.equal(r.cert.issuer, intermediate.subject, `${name} is issued by Pebble's intermediate`);
      assert.ok(r.cert.checkIssued(intermediate) && r.cert.verify(intermediate.publicKey), `${name} is signed by Pebble's intermediate`);
      assert.equal(r.cert.subjectAltName, `DNS:${name}`);
      serials.set(name, r.cert.serialNumber);
    }
    return serials;
  }

  it('http-01: every name of the served domain gets a Pebble certificate, served by SNI without a restart', async () => {
    const acme = httpServer.server.acme!;
    assert.equal(acme.httpPort, ports.http01);
    await acme.certs.whenChecked(1);
    await assertPebbleCertificates(httpServer, ports.https, 'alpha.test');
    const key = await stat(path.join(httpServer.dataDir, 'tls', 'acme', 'account.key'));
    assert.equal(key.mode & 0o777, 0o600, 'the account key is readable by the server user only');
    const certKey = await stat(
      path.join(httpServer.dataDir, 'tls', 'acme', `127.0.0.1_${directory.split(':')[2]!.split('/')[0]}`, 'alpha.test.key'),
    );
    assert.equal(certKey.mode & 0o777, 0o600);
    // A name that is not served still gets the local CA's default certificate, not an ACME one.
    const other = await served(ports.https, 'localhost', httpServer.ca);
    assert.equal(other.ok, true);
  });

  it('tls-alpn-01: the HTTPS listener answers acme-tls/1 handshakes, and every name gets a Pebble certificate', async () => {
    const acme = alpnServer.server.acme!;
    assert.equal(acme.httpPort, undefined, 'no http-01 responder for tls-alpn-01');
    await acme.certs.whenChecked(1);
    await assertPebbleCertificates(alpnServer, ports.alpnHttps, 'beta.test');
  });

  it('renews before expiry when the renewal timer fires, and serves the new certificate at once', async () => {
    const certs = httpServer.server.acme!.certs;
    const before = await assertPebbleCertificates(httpServer, ports.https, 'alpha.test');
    const first = await served(ports.https, 'alpha.test', root);
    assert.ok(first.ok);
    // Renewal is due 30 days (tls.acme.renew_before) before the latest expiry; the timer sleeps on the manual clock.
    const due = new Date(first.cert.validTo).getTime() - 30 * DAY + 60_000;
    const n = certs.checks;
    httpClock.advance(due - httpClock.now());
    await certs.whenChecked(n + 1);
    const after = await assertPebbleCertificates(httpServer, ports.https, 'alpha.test');
    for (const [name, serial] of before) assert.notEqual(after.get(name), serial, `${name} was renewed`);
  });

  it('a name that does not resolve fails with that name and what to check; the others are unaffected', async () => {
    const certs = httpServer.server.acme!.certs;
    await httpServer.services.accounts.addDomain('nowhere.test');
    const n = certs.checks;
    httpClock.advance(13 * 3_600_000); // the next periodic check (tls.acme checks at least every 12 hours)
    await certs.whenChecked(n + 1);
    const failed = certs.status().find((s) => s.name === 'nowhere.test');
    assert.ok(failed?.error, JSON.stringify(certs.status()));
    assert.match(failed.error, /ACME certificate for nowhere\.test failed: .*(NXDOMAIN|DNS|resolv|no valid IP)/i);
    assert.equal(certs.status().find((s) => s.name === 'alpha.test')?.error, undefined);
    // Until a certificate arrives the local CA answers for it.
    assert.equal((await served(ports.https, 'nowhere.test', httpServer.ca)).ok, true);
  });

  it('fingerpost serve says where certificates come from, and refuses an untrusted directory naming the key', async () => {
    const { ports: p } = await portOverrides();
    const env = {
      ...portEnv(p),
      FINGERPOST_TLS_ACME_DIRECTORY: directory,
      FINGERPOST_TLS_ACME_CHALLENGE: 'tls-alpn-01',
    };
    const data = path.join(tmp, 'serve-data');
    const refused = await runCli(['serve', '--data', data], { env });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /tls\.acme\.directory: the HTTPS certificate of .* is not trusted/);
    assert.match(refused.stderr, /tls\.acme\.ca_file/);
    const proc = await spawnServe(['--data', data], { ...env, FINGERPOST_TLS_ACME_CA_FILE: pebble.caFile });
    try {
      assert.match(
        proc.stderr,
        new RegExp(
          `TLS: certificates from ${directory.replace(/[.]/g, '\\.')} \\(ACME tls-alpn-01\\); the local CA answers until they arrive`,
        ),
      );
    } finally {
      assert.equal(await proc.stop('SIGTERM'), 0);
    }
  });

  it('bad ACME config stops start-up naming the key and the fix', async () => {
    await assert.rejects(
      startTestServer({ overrides: { tls: { acme: { directory } } } }),
      (err: Error & { hint?: string }) =>
        /tls\.acme\.directory/.test(err.message) && /not trusted/.test(err.message) && /tls\.acme\.ca_file/.test(err.hint ?? ''),
    );
    await assert.rejects(
      startTestServer({ overrides: { tls: { acme: { directory: `${directory}/nope`, ca_file: pebble.caFile } } } }),
      (err: Error) => /tls\.acme\.directory: .* is not an ACME directory/.test(err.message),
    );
    await assert.rejects(
      startTestServer({ overrides: { tls: { acme: { directory, ca_file: path.join(tmp, 'missing.pem') } } } }),
      (err: Error) => /tls\.acme\.ca_file/.test(err.message),
    );
    await assert.rejects(startTestServer({ overrides: { tls: { acme: { challenge: 'dns-01' } } } }), (err: Error) =>
      /tls\.acme\.challenge/.test(err.message),
    );
  });
});
