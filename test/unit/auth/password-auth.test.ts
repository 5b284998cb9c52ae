// AuthService.authenticate for passwords and app passwords, and listener policy (issue 3 step 2).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listenerPolicy } from '../../../src/auth/policy.ts';
import { AuthService } from '../../../src/auth/service.ts';
import type { AuthContext, AuthOutcome, Credentials } from '../../../src/auth/types.ts';
import { type AuthFixture, authFixture } from './fixture.ts';

const IMAPS: AuthContext = { protocol: 'imap', listener: 'imaps', remote: '192.0.2.10', tls: true, localPort: 993 };
const pw = (username: string, password: string, extra: Partial<Credentials & { kind: 'password' }> = {}): Credentials => ({
  kind: 'password',
  username,
  password,
  mechanism: 'PLAIN',
  ...extra,
});

function code(o: AuthOutcome): string {
  return o.ok ? `ok:${o.method}` : o.code;
}

describe('password and app-password authentication', () => {
  let f: AuthFixture;
  let auth: AuthService;
  before(async () => {
    f = await authFixture();
    auth = new AuthService({ config: f.config(), directory: f.directory, logger: f.logger });
  });
  after(() => f.close());

  it('accepts the right password and returns the account', async () => {
    const o = await auth.authenticate(pw('alice@example.test', 'correct horse'), IMAPS);
    assert.ok(o.ok);
    assert.equal(o.account.address, 'alice@example.test');
    assert.equal(o.method, 'password');
    assert.deepEqual(o.scopes, []);
  });

  it('is case-insensitive in the address', async () => {
    assert.equal(code(await auth.authenticate(pw('Alice@Example.TEST', 'correct horse'), IMAPS)), 'ok:password');
  });

  it('gives the same answer for a wrong password, an unknown user and a user without a domain', async () => {
    const wrong = await auth.authenticate(pw('alice@example.test', 'wrong horse'), IMAPS);
    const unknown = await auth.authenticate(pw('nobody@example.test', 'correct horse'), IMAPS);
    const bare = await auth.authenticate(pw('alice', 'correct horse'), IMAPS);
    assert.deepEqual(wrong, unknown);
    assert.deepEqual(wrong, bare);
    assert.equal(code(wrong), 'invalid_credentials');
  });

  it('refuses any credential on a connection without TLS', async () => {
    const o = await auth.authenticate(pw('alice@example.test', 'correct horse'), { ...IMAPS, listener: 'imap', tls: false });
    assert.equal(code(o), 'policy');
    assert.match(!o.ok ? o.publicReason : '', /TLS/);
  });

  it('refuses an authzid naming someone else, accepts the own one', async () => {
    assert.equal(
      code(await auth.authenticate(pw('alice@example.test', 'correct horse', { authzid: 'bob@example.test' }), IMAPS)),
      'authorization_failed',
    );
    assert.equal(
      code(await auth.authenticate(pw('alice@example.test', 'correct horse', { authzid: 'alice@example.test' }), IMAPS)),
      'ok:password',
    );
  });

  it('reports a disabled account only after the password was proven', async () => {
    await f.accounts.addUser({ address: 'carol@example.test', password: 'carol password' });
    await f.accounts.setDisabled('carol@example.test', true);
    assert.equal(code(await auth.authenticate(pw('carol@example.test', 'wrong password'), IMAPS)), 'invalid_credentials');
    assert.equal(code(await auth.authenticate(pw('carol@example.test', 'carol password'), IMAPS)), 'authorization_failed');
  });

  it('stops accepting an old password after a change (verified-password cache invalidated)', async () => {
    await f.accounts.addUser({ address: 'dave@example.test', password: 'first password' });
    assert.equal(code(await auth.authenticate(pw('dave@example.test', 'first password'), IMAPS)), 'ok:password');
    // clock moves on so credentials_changed_at differs
    await new Promise((r) => setTimeout(r, 5));
    await f.accounts.setPassword('dave@example.test', 'second password');
    assert.equal(code(await auth.authenticate(pw('dave@example.test', 'first password'), IMAPS)), 'invalid_credentials');
    assert.equal(code(await auth.authenticate(pw('dave@example.test', 'second password'), IMAPS)), 'ok:password');
  });

  describe("the embedded provider's sign-in form (mechanism FORM)", () => {
    const FORM_CTX: AuthContext = { protocol: 'http', listener: 'https', remote: '192.0.2.30', tls: true };
    const form = (username: string, password: string) => pw(username, password, { mechanism: 'FORM' });

    it('takes the account password, never an app password, and gives one answer for every failure', async () => {
      assert.equal(code(await auth.authenticate(form('alice@example.test', 'correct horse'), FORM_CTX)), 'ok:password');
      const { secret } = await f.accounts.createAppPassword({
        address: 'alice@example.test',
        name: 'web',
        protocols: ['http'],
        expiresAt: null,
      });
      assert.equal(code(await auth.authenticate(pw('alice@example.test', secret, { mechanism: 'BASIC' }), FORM_CTX)), 'ok:app_password');
      const app = await auth.authenticate(form('alice@example.test', secret), FORM_CTX);
      assert.deepEqual(app, await auth.authenticate(form('nobody@example.test', 'correct horse'), FORM_CTX));
      assert.equal(code(app), 'invalid_credentials');
    });

    it('is not turned off by auth.plain (which governs the protocols), and only exists on HTTP', async () => {
      const oauthOnly = new AuthService({ config: f.config({ auth: { plain: false } }), directory: f.directory, logger: f.logger });
      assert.equal(
        code(await oauthOnly.authenticate(pw('alice@example.test', 'correct horse', { mechanism: 'BASIC' }), FORM_CTX)),
        'policy',
      );
      assert.equal(code(await oauthOnly.authenticate(form('alice@example.test', 'correct horse'), FORM_CTX)), 'ok:password');
      assert.equal(code(await auth.authenticate(form('alice@example.test', 'correct horse'), IMAPS)), 'policy');
    });
  });

  describe('app passwords', () => {
    it('work on the protocols they were created for, with credentialId and last use recorded', async () => {
      const { info, secret } = await f.accounts.createAppPassword({
        address: 'alice@example.test',
        name: 'phone',
        protocols: ['imap'],
        expiresAt: null,
      });
      const o = await auth.authenticate(pw('alice@example.test', secret), IMAPS);
      assert.ok(o.ok);
      assert.equal(o.method, 'app_password');
      assert.equal(o.credentialId, String(info.id));
      // touch is fire-and-forget; give it a moment
      for (let i = 0; i < 50 && !(await f.accounts.listAppPasswords('alice@example.test')).find((p) => p.id === info.id)?.lastUsedAt; i++)
        await new Promise((r) => setTimeout(r, 10));
      const used = (await f.accounts.listAppPasswords('alice@example.test')).find((p) => p.id === info.id);
      assert.ok(used?.lastUsedAt);
      assert.equal(used.lastUsedAddress, IMAPS.remote, 'where it was used from');
      assert.equal(used.lastUsedProtocol, 'imap');
      const smtp = await auth.authenticate(pw('alice@example.test', secret), { ...IMAPS, protocol: 'submission', listener: 'submissions' });
      assert.equal(code(smtp), 'authorization_failed');
    });

    it('smtp covers both smtp and submission', async () => {
      const { secret } = await f.accounts.createAppPassword({
        address: 'alice@example.test',
        name: 'mailer',
        protocols: ['smtp'],
        expiresAt: null,
      });
      assert.equal(
        code(await auth.authenticate(pw('alice@example.test', secret), { ...IMAPS, protocol: 'submission', listener: 'submission' })),
        'ok:app_password',
      );
      assert.equal(
        code(await auth.authenticate(pw('alice@example.test', secret), { ...IMAPS, protocol: 'smtp', listener: 'smtp' })),
        'ok:app_password',
      );
      assert.equal(code(await auth.authenticate(pw('alice@example.test', secret), IMAPS)), 'authorization_failed');
    });

    it('only for their own account', async () => {
      const { secret } = await f.accounts.createAppPassword({
        address: 'alice@example.test',
        name: 'x',
        protocols: ['imap'],
        expiresAt: null,
      });
      assert.equal(code(await auth.authenticate(pw('bob@example.test', secret), IMAPS)), 'invalid_credentials');
    });

    it('stop working when revoked or expired', async () => {
      const a = await f.accounts.createAppPassword({ address: 'alice@example.test', name: 'laptop', protocols: ['imap'], expiresAt: null });
      await f.accounts.revokeAppPassword('alice@example.test', String(a.info.id));
      assert.equal(code(await auth.authenticate(pw('alice@example.test', a.secret), IMAPS)), 'invalid_credentials');
      const b = await f.accounts.createAppPassword({
        address: 'alice@example.test',
        name: 'old',
        protocols: ['imap'],
        expiresAt: Date.now() - 1000,
      });
      assert.equal(code(await auth.authenticate(pw('alice@example.test', b.secret), IMAPS)), 'invalid_credentials');
      const c = await f.accounts.createAppPassword({
        address: 'alice@example.test',
        name: 'new',
        protocols: ['imap'],
        expiresAt: Date.now() + 3_600_000,
      });
      const o = await auth.authenticate(pw('alice@example.test', c.secret), IMAPS);
      assert.ok(o.ok && o.expiresAt === c.info.expiresAt);
    });
  });

  it('writes one audit line per attempt without the secret', async () => {
    const before = f.logLines.length;
    await auth.authenticate(pw('alice@example.test', 'a-very-secret-guess'), IMAPS);
    const lines = f.logLines.slice(before).filter((l) => l.event === 'auth');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.result, 'invalid_credentials');
    assert.equal(lines[0]!.user, 'alice@example.test');
    assert.equal(lines[0]!.remote, '192.0.2.10');
    assert.equal(lines[0]!.mechanism, 'PLAIN');
    assert.ok(!JSON.stringify(f.logLines).includes('a-very-secret-guess'));
  });
});

describe('listener policy', () => {
  let f: AuthFixture;
  before(async () => {
    f = await authFixture();
  });
  after(() => f.close());

  it('offers nothing before TLS and passwords plus OAuth after', () => {
    const p = listenerPolicy(f.config(), 'imap', () => true);
    assert.deepEqual(p.mechanisms(false), []);
    assert.deepEqual(p.mechanisms(true), ['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2']);
  });
  it('offers no OAuth mechanisms while no issuer is trusted', () => {
    const p = listenerPolicy(f.config(), 'imap', () => false);
    assert.deepEqual(p.mechanisms(true), ['PLAIN', 'LOGIN']);
    assert.equal(p.oauth, false);
  });
  it('applies per-protocol overrides to both listeners of a protocol', () => {
    const c = f.config({ imap: { auth_plain: false }, submission: { auth_oauth: false }, auth: { oauth: true } });
    assert.deepEqual(listenerPolicy(c, 'imaps', () => true).mechanisms(true), ['OAUTHBEARER', 'XOAUTH2']);
    assert.deepEqual(listenerPolicy(c, 'submissions', () => true).mechanisms(true), ['PLAIN', 'LOGIN']);
    assert.deepEqual(listenerPolicy(c, 'pop3s', () => true).mechanisms(true), ['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2']);
  });
  it('auth.plain = false turns passwords off everywhere unless overridden', () => {
    const c = f.config({ auth: { plain: false }, pop3: { auth_plain: true } });
    assert.equal(listenerPolicy(c, 'imaps', () => true).plain, false);
    assert.equal(listenerPolicy(c, 'https', () => true).plain, false);
    assert.equal(listenerPolicy(c, 'pop3', () => true).plain, true);
  });
  it('requires auth for relay on submission by default and always on the MX', () => {
    assert.equal(listenerPolicy(f.config(), 'submission', () => true).requireAuthForRelay, true);
    const open = f.config({ submission: { require_auth_for_relay: false } });
    assert.equal(listenerPolicy(open, 'submissions', () => true).requireAuthForRelay, false);
    assert.equal(listenerPolicy(open, 'smtp', () => true).requireAuthForRelay, true);
  });
  it('refuses passwords on a listener where they are off', async () => {
    const c = f.config({ imap: { auth_plain: false } });
    const auth = new AuthService({ config: c, directory: f.directory, logger: f.logger });
    const o = await auth.authenticate(pw('alice@example.test', 'correct horse'), IMAPS);
    assert.equal(code(o), 'policy');
  });
});
