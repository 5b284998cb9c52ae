import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { formatDuration, parseDuration } from '../../../src/config/duration.ts';
import { envKeys, loadConfig } from '../../../src/config/load.ts';
import { isFingerpostError } from '../../../src/core/errors.ts';

async function tomlFile(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fp-cfg-'));
  const file = path.join(dir, 'fingerpost.toml');
  await writeFile(file, text);
  return file;
}

describe('config loading', () => {
  it('fills every default and freezes the snapshot', () => {
    const config = loadConfig({ dataDir: '/tmp/fp-x', env: {} });
    assert.equal(config.http.port, 8443);
    assert.equal(config.imap.port, 1143);
    assert.equal(config.imap.tls_port, 1993);
    assert.equal(config.pop3.port, 1110);
    assert.equal(config.pop3.tls_port, 1995);
    assert.equal(config.smtp.port, 2525);
    assert.equal(config.submission.port, 1587);
    assert.equal(config.submission.tls_port, 1465);
    assert.equal(config.publicUrl, 'https://localhost:8443');
    assert.equal(config.limits.idle_timeout, 30 * 60_000);
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.imap));
    assert.throws(() => {
      (config.imap as { port: number }).port = 1;
    }, TypeError);
  });

  it('reads TOML and lets FINGERPOST_<SECTION>_<KEY> override it', async () => {
    const file = await tomlFile('[server]\nhostname = "mail.example.com"\n[imap]\nport = 10143\n[limits]\nidle_timeout = "45m"\n');
    const config = loadConfig({
      file,
      dataDir: '/tmp/fp-x',
      env: { FINGERPOST_IMAP_PORT: '20143', FINGERPOST_AUTH_PLAIN: 'false', FINGERPOST_HTTP_METRICS_FROM: '10.0.0.0/8, 127.0.0.1' },
    });
    assert.equal(config.server.hostname, 'mail.example.com');
    assert.equal(config.imap.port, 20143);
    assert.equal(config.auth.plain, false);
    assert.deepEqual(config.http.metrics_from, ['10.0.0.0/8', '127.0.0.1']);
    assert.equal(config.limits.idle_timeout, 45 * 60_000);
    assert.equal(config.publicUrl, 'https://mail.example.com:8443');
  });

  it('names the key, the value and what is expected for every problem at once', async () => {
    const file = await tomlFile('[imap]\nport = 70000\n[limits]\nidle_timeout = "soon"\n[bogus]\nx = 1\n');
    try {
      loadConfig({ file, dataDir: '/tmp/fp-x', env: {} });
      assert.fail('expected a config error');
    } catch (err) {
      assert.ok(isFingerpostError(err, 'config_invalid'));
      assert.match(err.message, /config key imap\.port = 70000 .*expected a port between 0 and 65535/);
      assert.match(err.message, /config key limits\.idle_timeout = "soon" .*expected a duration/);
      assert.match(err.message, /unknown config key bogus/);
    }
  });

  it('keeps JMAP uploads at least an hour (RFC 8620 §6.1)', () => {
    assert.throws(
      () => loadConfig({ dataDir: '/tmp/fp-x', env: { FINGERPOST_JMAP_UPLOAD_TTL: '10m' } }),
      /config key jmap\.upload_ttl = "10m" .*expected at least 1h/,
    );
    assert.equal(loadConfig({ dataDir: '/tmp/fp-x', env: { FINGERPOST_JMAP_UPLOAD_TTL: '1h' } }).jmap.upload_ttl, 3_600_000);
  });

  it('refuses a misspelt FINGERPOST_<SECTION>_ variable instead of ignoring it, and leaves other FINGERPOST_ variables alone', () => {
    assert.throws(
      () => loadConfig({ dataDir: '/tmp/fp-x', env: { FINGERPOST_IMAP_PROT: '20143', FINGERPOST_AUTH_ISSUERS: 'x' } }),
      (err: Error) =>
        /unknown environment variable FINGERPOST_IMAP_PROT: no config key/.test(err.message) && /FINGERPOST_AUTH_ISSUERS/.test(err.message),
    );
    const config = loadConfig({
      dataDir: '/tmp/fp-x',
      env: { FINGERPOST_DATA: '/x', FINGERPOST_CONFIG: '/y', FINGERPOST_PASSPHRASE: 'p', FINGERPOST_AUTH_HTTP_SCHEMES: 'bearer' },
    });
    assert.deepEqual(config.auth.http_schemes, ['bearer']);
  });

  it('never shows a secret or a URL password in a config error', () => {
    assert.throws(
      () =>
        loadConfig({
          dataDir: '/tmp/fp-x',
          env: { FINGERPOST_AUTH_HTTP_SCHEMES: 'bearer,gateway', FINGERPOST_AUTH_GATEWAY_SECRET: 'hunter2-gateway' },
        }),
      (err: Error) => {
        assert.match(
          err.message,
          /config key auth\.gateway = \{"secret":"\*\*\*"\} in environment variable FINGERPOST_AUTH_GATEWAY_SECRET: /,
        );
        assert.doesNotMatch(err.message, /hunter2/);
        return true;
      },
    );
    assert.throws(
      () => loadConfig({ dataDir: '/tmp/fp-x', env: { FINGERPOST_STORE_URL: 'postgresql+psycopg://fp:S3cretPw@db/fp' } }),
      (err: Error) => {
        assert.match(err.message, /config key store\.url = "postgresql\+psycopg:\/\/fp:\*\*\*@db\/fp"/);
        assert.doesNotMatch(err.message, /S3cretPw/);
        return true;
      },
    );
  });

  it('rejects a malformed env override with the key path and the variable it came from', async () => {
    assert.throws(
      () => loadConfig({ dataDir: '/tmp/fp-x', env: { FINGERPOST_IMAP_PORT: 'abc' } }),
      /config key imap\.port = "abc" in environment variable FINGERPOST_IMAP_PORT: /,
    );
    const file = await tomlFile('[pop3]\nport = -1\n');
    assert.throws(
      () => loadConfig({ file, dataDir: '/tmp/fp-x', env: { FINGERPOST_AUTH_LIMITS_EXEMPT: '10.0.0.0/8,nonsense' } }),
      (err: Error) => {
        assert.match(err.message, /config key pop3\.port = -1 in .*fingerpost\.toml: /);
        assert.match(
          err.message,
          /config key auth\.limits\.exempt\.1 = "nonsense" in environment variable FINGERPOST_AUTH_LIMITS_EXEMPT: /,
        );
        return true;
      },
    );
  });

  it('takes a DNS host name or IPv4 address as server.hostname, nothing that would break the URLs built from it', () => {
    const host = (hostname: string) => loadConfig({ dataDir: '/tmp/fp-x', env: {}, overrides: { server: { hostname } } }).server.hostname;
    for (const ok of ['localhost', 'mail.example.com', 'mx-1.example.co.uk', '192.0.2.7']) assert.equal(host(ok), ok);
    for (const bad of [
      'bad host',
      'mail.example.com/x',
      'https://mail.example.com',
      'mail.example.com:8443',
      '-mail.example.com',
      'a..b',
      '',
    ])
      assert.throws(() => host(bad), /config key server\.hostname = .*expected a DNS host name/, bad);
  });

  it('keeps the idle timeout at 30 minutes or more (RFC 9051 §5.4 autologout timer)', () => {
    const idle = (idle_timeout: string) =>
      loadConfig({ dataDir: '/tmp/fp-x', env: {}, overrides: { limits: { idle_timeout } } }).limits.idle_timeout;
    assert.equal(idle('30m'), 30 * 60_000);
    assert.equal(idle('2h'), 2 * 3600_000);
    assert.throws(() => idle('29m'), /config key limits\.idle_timeout = "29m" .*at least 30 minutes.*RFC 9051 §5\.4/);
  });

  it('needs a bucket for store.blobs = "s3", and never shows the S3 secret in an error', () => {
    const load = (store: Record<string, unknown>, env: Record<string, string> = {}) =>
      loadConfig({ dataDir: '/tmp/fp-x', env, overrides: { store } }).store;
    assert.throws(() => load({ blobs: 's3' }), /config key store\.s3\.bucket .*store\.blobs = "s3" needs store\.s3\.bucket/);
    const ok = load({ blobs: 's3', s3: { bucket: 'mail-bodies', endpoint: 'http://127.0.0.1:8080' } });
    assert.equal(ok.s3.prefix, 'blobs/');
    assert.equal(ok.s3.path_style, true);
    const secret = 'do-not-print-this-s3-secret';
    assert.throws(
      () => load({ blobs: 's3', s3: { bucket: 'Bad_Bucket' } }, { FINGERPOST_STORE_S3_SECRET_ACCESS_KEY: secret }),
      (err: Error) => /store\.s3\.bucket = "Bad_Bucket".*expected an S3 bucket name/.test(err.message) && !err.message.includes(secret),
    );
    assert.throws(
      () => load({ blobs: 's3', s3: { bucket: 'ok-bucket', secret_access_key: 42 } }, {}),
      (err: Error) => /store\.s3\.secret_access_key/.test(err.message),
    );
    assert.throws(
      () => load({ blobs: 's3', s3: { bucket: 'ok-bucket', secret_access_key: [secret] } }, {}),
      (err: Error) => /store\.s3\.secret_access_key = "\*\*\*"/.test(err.message) && !err.message.includes(secret),
    );
  });

  it('checks LDAP sources at start-up: TLS for passwords, filters that parse, one source per domain', () => {
    const source = { domains: ['example.org'], urls: ['ldaps://ldap.example.org'], base_dn: 'ou=people,dc=example,dc=org' };
    const load = (ldap: Array<Record<string, unknown>>) =>
      loadConfig({ dataDir: '/tmp/fp-x', env: {}, overrides: { directory: { ldap } } });
    const ok = load([source]).directory.ldap[0]!;
    assert.equal(ok.cache_ttl, 60_000);
    assert.equal(ok.user_filter, '(objectClass=inetOrgPerson)');
    assert.equal(load([{ ...source, urls: ['ldap://ldap.example.org:389'], start_tls: true }]).directory.ldap[0]!.start_tls, true);
    assert.throws(
      () => load([{ ...source, urls: ['ldap://ldap.example.org'] }]),
      /directory\.ldap\.0\.urls.*passwords in clear.*start_tls = true/,
    );
    assert.throws(
      () => load([{ ...source, user_filter: '(objectClass=person' }]),
      /directory\.ldap\.0\.user_filter.*expected an LDAP filter/,
    );
    assert.throws(() => load([{ ...source, mail_attribute: 'mail)(x' }]), /directory\.ldap\.0\.mail_attribute/);
    assert.throws(() => load([source, { ...source, domains: ['Example.org'] }]), /domain Example\.org is given to two LDAP sources/);
  });

  it('checks every address list at start-up (a typo is exit 2 with the key, not a crash later)', () => {
    const load = (overrides: Record<string, unknown>) => loadConfig({ dataDir: '/tmp/fp-x', env: {}, overrides });
    const ok = load({
      http: { metrics_from: ['10.0.0.0/8', '192.0.2.7', '::1/128', '2001:db8::/32'] },
      auth: { gateway: { from: ['127.0.0.1'] }, limits: { exempt: ['0.0.0.0/0'] } },
      imap: { proxy_from: ['::/0'] },
    });
    assert.deepEqual(ok.http.metrics_from, ['10.0.0.0/8', '192.0.2.7', '::1/128', '2001:db8::/32']);
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ auth: { gateway: { from: ['zz'] } } }, /config key auth\.gateway\.from\.0 = "zz" .*expected an IP address or CIDR range/],
      [{ http: { metrics_from: ['10.0.0.0/33'] } }, /http\.metrics_from\.0 = "10\.0\.0\.0\/33"/],
      [{ http: { proxy_from: ['::1/129'] } }, /http\.proxy_from\.0 = "::1\/129"/],
      [{ submission: { proxy_from: ['10.0.0.0/8/8'] } }, /submission\.proxy_from\.0/],
      [{ auth: { limits: { exempt: ['10.0.0.0/x'] } } }, /auth\.limits\.exempt\.0/],
      [{ smtp: { proxy_from: ['mail.example.com'] } }, /smtp\.proxy_from\.0/],
    ];
    for (const [overrides, message] of bad) assert.throws(() => load(overrides), message);
  });

  it('takes only an https public URL: discovery, the issuer and JMAP are announced from it', () => {
    const url = (public_url: string) => loadConfig({ dataDir: '/tmp/fp-x', env: {}, overrides: { http: { public_url } } }).publicUrl;
    assert.equal(url('https://proxy.example.com/fp/'), 'https://proxy.example.com/fp');
    assert.throws(
      () => url('http://mail.example.com'),
      /config key http\.public_url = "http:\/\/mail\.example\.com" .*must be an https:\/\/ URL/,
    );
    assert.throws(() => url('mail.example.com'), /http\.public_url .*must be an https:\/\/ URL/);
    assert.throws(() => url('https://mail.example.com/?x=1'), /must be an https:\/\/ URL without query or fragment/);
  });

  it('reports TOML syntax errors with the file', async () => {
    const file = await tomlFile('[imap\nport = 1');
    assert.throws(
      () => loadConfig({ file, dataDir: '/tmp/fp-x', env: {} }),
      (err: Error) => isFingerpostError(err, 'config_invalid') && err.message.includes(file),
    );
  });

  it('fails when an explicitly named file is missing', () => {
    assert.throws(() => loadConfig({ file: '/nonexistent/fp.toml', dataDir: '/tmp/fp-x', env: {} }), /cannot read config file/);
  });

  it('derives one env name per scalar key', () => {
    const keys = envKeys();
    assert.deepEqual(keys.get('FINGERPOST_SUBMISSION_TLS_PORT')?.path, ['submission', 'tls_port']);
    assert.deepEqual(keys.get('FINGERPOST_STORE_URL')?.path, ['store', 'url']);
    assert.equal(keys.has('FINGERPOST_AUTH_ISSUERS'), false);
  });
});

describe('durations', () => {
  it('parses seconds and units', () => {
    assert.equal(parseDuration(600), 600_000);
    assert.equal(parseDuration('600'), 600_000);
    assert.equal(parseDuration('10m'), 600_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('ten'), undefined);
    assert.equal(parseDuration('-1'), undefined);
    assert.equal(formatDuration(600_000), '10m');
    assert.equal(formatDuration(1500), '1500ms');
  });
});
