// The local CA covers every served domain and its discovery names by SNI: a TLS client that
// trusts only data/tls/ca.pem and checks the name it asked for connects to `example.test`,
// `autoconfig.`, `ua-auto-config.`, `autodiscover.` and `mta-sts.example.test` on HTTPS and the
// mail listeners; a domain added with `fingerpost admin domain add` while the server runs is
// covered at once, without a restart; a name that is not served gets no certificate of its own.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { certificateNames } from '../../src/discovery/certificate-names.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';

function handshake(
  port: number,
  servername: string,
  ca: string,
): Promise<{ ok: true; subjectaltname: string } | { ok: false; code: string }> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca, minVersion: 'TLSv1.2' }, () => {
      const san = s.getPeerCertificate().subjectaltname ?? '';
      s.end();
      resolve({ ok: true, subjectaltname: san });
    });
    s.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, code: err.code ?? err.message }));
  });
}

describe('local CA certificates for served domains and their discovery names (SNI)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ domain: 'example.test' });
  });
  after(() => server?.close());

  it('covers the first domain and its discovery names on HTTPS and on IMAPS', async () => {
    for (const name of certificateNames('example.test')) {
      const r = await handshake(server.ports.https, name, server.ca);
      assert.equal(r.ok, true, `${name}: ${JSON.stringify(r)}`);
      if (r.ok) assert.equal(r.subjectaltname, `DNS:${name}`);
    }
    const imaps = await handshake(server.ports.imaps, 'autoconfig.example.test', server.ca);
    assert.equal(imaps.ok, true, JSON.stringify(imaps));
  });

  it('covers a domain added with fingerpost admin domain add while the server runs', async () => {
    assert.deepEqual(await handshake(server.ports.https, 'mta-sts.added.test', server.ca), {
      ok: false,
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    const add = await runCli(['admin', 'domain', 'add', 'added.test', '--data', server.dataDir], { env: { FINGERPOST_LOG_LEVEL: 'warn' } });
    assert.equal(add.code, 0, add.stderr);
    for (const name of certificateNames('added.test')) {
      const r = await handshake(server.ports.https, name, server.ca);
      assert.equal(r.ok, true, `${name}: ${JSON.stringify(r)}`);
    }
    const key = await stat(path.join(server.dataDir, 'tls', 'names', 'mta-sts.added.test.key'));
    assert.equal(key.mode & 0o777, 0o600, 'the key is kept readable by the server user only');
  });

  it('fingerpost doctor on such a setup has no FAIL: no DNS to publish for .test, HTTPS names answered here', async () => {
    // The server's port as its config says (the CLI reads the same config): no --https-port needed.
    const r = await runCli(['doctor', 'example.test', '--data', server.dataDir, '--ca', server.caFile], {
      env: { FINGERPOST_LOG_LEVEL: 'warn', FINGERPOST_HTTP_PORT: String(server.ports.https) },
    });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout, /^FAIL/m);
    assert.match(r.stdout, /^warn +DNS example\.test: example\.test is not a public domain/m);
    assert.match(r.stdout, /^ok +autoconfig: /m);
    assert.match(r.stdout, /^ok +PACC: /m);
    assert.match(r.stdout, /example\.test looks right/);
  });

  it('gives a name that is not served the default certificate, which does not cover it', async () => {
    for (const name of ['evil.test', 'autoconfig.evil.test', 'x.autoconfig.example.test'])
      assert.deepEqual(await handshake(server.ports.https, name, server.ca), { ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, name);
    const local = await handshake(server.ports.https, 'localhost', server.ca);
    assert.equal(local.ok, true, 'localhost keeps the default certificate');
  });

  it('keeps the default certificate for names it covers, also when such a name is a served domain', async () => {
    // Clients pin the default certificate (tests pin its key in Chromium): `localhost` as a served
    // domain (the embedded default) must not get a certificate of its own.
    const add = await runCli(['admin', 'domain', 'add', 'localhost', '--data', server.dataDir], { env: { FINGERPOST_LOG_LEVEL: 'warn' } });
    assert.equal(add.code, 0, add.stderr);
    const fingerprint = (servername: string) =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: server.ports.https, servername, ca: server.ca }, () => {
          resolve(s.getPeerX509Certificate()!.fingerprint256);
          s.end();
        });
        s.on('error', reject);
      });
    const defaultCert = new X509Certificate(await readFile(path.join(server.dataDir, 'tls', 'server.pem'))).fingerprint256;
    assert.equal(await fingerprint('localhost'), defaultCert);
    assert.notEqual(await fingerprint('autoconfig.localhost'), defaultCert, 'its discovery names get their own');
  });
});
