// `fingerpost admin token|keys|client` on a data directory (no server running): output shapes
// scripts rely on, and bad arguments answered with a message and exit code 2 (1 for unknown users).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { runCli } from '../helpers/server.ts';

// Each command is a fresh process (2–7 s on a loaded machine), hence the suite's own timeout.
describe('fingerpost admin token|keys|client', { timeout: 300_000 }, () => {
  let data: string;
  const env = {
    FINGERPOST_SERVER_HOSTNAME: 'mail.example.test',
    FINGERPOST_HTTP_PUBLIC_URL: 'https://mail.example.test',
    FINGERPOST_LOG_LEVEL: 'silent',
  };
  const cli = (args: string[], input?: string) => runCli([...args, '--data', data], { env, ...(input ? { input } : {}) });

  before(async () => {
    data = await mkdtemp(path.join(os.tmpdir(), 'fp-idp-cli-'));
    assert.equal((await cli(['admin', 'domain', 'add', 'example.test'])).code, 0);
    assert.equal((await cli(['admin', 'user', 'add', 'henry@example.test', '--password-stdin'], 'henry password 123\n')).code, 0);
  });

  after(async () => {
    await rm(data, { recursive: true, force: true });
  });

  it('token issue prints an RFC 9068 token on the last stdout line, for every service by default', async () => {
    const r = await cli(['admin', 'token', 'issue', 'Henry@Example.test', '--ttl', '10m']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const token = lines.at(-1)!;
    assert.equal(decodeProtectedHeader(token).typ, 'at+jwt');
    const claims = decodeJwt(token);
    assert.equal(claims.iss, 'https://mail.example.test/oidc');
    assert.equal(claims.sub, 'henry@example.test');
    assert.deepEqual(claims.aud, [
      'imap://mail.example.test',
      'pop3://mail.example.test',
      'smtp://mail.example.test',
      'https://mail.example.test/jmap/session',
      'https://mail.example.test/calendar',
    ]);
    assert.equal(claims.exp! - claims.iat!, 600);
    assert.match(r.stderr, /jti /, 'details go to stderr');
    assert.doesNotMatch(r.stderr, new RegExp(token.slice(-20)), 'the token is not repeated on stderr');
  });

  it('token issue narrows audience and scope when asked', async () => {
    const r = await cli([
      'admin',
      'token',
      'issue',
      'henry@example.test',
      '--resource',
      'imap://mail.example.test',
      '--scope',
      'urn:ietf:params:oauth:scope:mail',
      '--ttl',
      '600',
    ]);
    const claims = decodeJwt(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(claims.aud, 'imap://mail.example.test');
    assert.equal(claims.scope, 'urn:ietf:params:oauth:scope:mail');
  });

  it('refuses bad arguments with a message and exit code 2, an unknown user with 1', async () => {
    for (const args of [
      ['--ttl', '40d'],
      ['--resource', 'not a uri'],
    ]) {
      const r = await cli(['admin', 'token', 'issue', 'henry@example.test', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^fingerpost: /m);
      assert.equal(r.stdout, '', 'no token on failure');
    }
    const unknown = await cli(['admin', 'token', 'issue', 'nobody@example.test']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no account nobody@example.test/);
  });

  it('log lines go to stderr: with log.level info, token issue and revoke print only their output on stdout', async () => {
    const loud = { ...env, FINGERPOST_LOG_LEVEL: 'info' };
    const issued = await runCli(['admin', 'token', 'issue', 'henry@example.test', '--ttl', '10m', '--data', data], { env: loud });
    assert.equal(issued.code, 0, issued.stderr);
    const token = issued.stdout.trim();
    assert.equal(token.split('\n').length, 1, 'stdout is the token alone');
    const jti = String(decodeJwt(token).jti);
    const revoked = await runCli(['admin', 'token', 'revoke', '--data', data, '--', jti], { env: loud });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `revoked ${jti}\n`);
    assert.match(revoked.stderr, /"event":"idp_revoked"/, 'the log line is on stderr');
  });

  it('keys rotate keeps the previous key published; keys list shows which one signs', async () => {
    const r = await cli(['admin', 'keys', 'rotate']);
    assert.equal(r.code, 0, r.stderr);
    const list = await cli(['admin', 'keys', 'list']);
    const rows = list.stdout.trim().split('\n').slice(1);
    assert.equal(rows.length, 2);
    assert.match(rows[0]!, /RS256\s+\S+\s+signing$/);
    assert.match(rows[1]!, /retired /);
  });

  it('client add|list|remove, with the provider validating the metadata', async () => {
    const bad = await cli(['admin', 'client', 'add', 'Webmail', '--redirect-uri', 'not a url']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /invalid client/);
    const add = await cli([
      'admin',
      'client',
      'add',
      'Webmail',
      '--client-id',
      'webmail',
      '--redirect-uri',
      'https://webmail.example.test/cb',
    ]);
    assert.equal(add.code, 0, add.stderr);
    assert.match(add.stdout, /client secret: \S{40,}/);
    const pub = await cli([
      'admin',
      'client',
      'add',
      'Desktop Mail',
      '--client-id',
      'desktop',
      '--public',
      '--redirect-uri',
      'http://127.0.0.1/cb',
    ]);
    assert.doesNotMatch(pub.stdout, /secret/);
    const list = await cli(['admin', 'client', 'list']);
    assert.match(list.stdout, /webmail\s+Webmail\s+confidential\s+admin/);
    assert.match(list.stdout, /desktop\s+Desktop Mail\s+public\s+admin/);
    assert.equal((await cli(['admin', 'client', 'remove', 'webmail'])).code, 0);
    assert.equal((await cli(['admin', 'client', 'remove', 'webmail'])).code, 1, 'it is gone');
  });
});
