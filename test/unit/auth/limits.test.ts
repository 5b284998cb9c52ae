// Abuse protection (docs/authentication.md "Abuse protection"): counters per source, per source
// and account, per account and per device; doubling delays, temporary bans, password-spraying
// detection, shared by every protocol; an owner is never locked out by failures from elsewhere.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { FailureLimits, sourceKey } from '../../../src/auth/limits/failures.ts';
import { AuthService } from '../../../src/auth/service.ts';
import type { AuthContext, AuthOutcome, Credentials } from '../../../src/auth/types.ts';
import { type AuthFixture, authFixture } from './fixture.ts';

const OPTIONS = {
  ipFailures: 10,
  sprayAccounts: 4,
  accountFailures: 3,
  delayAfter: 2,
  maxDelayMs: 4000,
  windowMs: 60_000,
  banMs: 300_000,
  exempt: ['198.51.100.0/24'],
};

describe('failure limits', () => {
  let clock = 1_000_000;
  const now = () => clock;

  it('keys IPv6 sources by /64 and IPv4 by address', () => {
    assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:0db8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(sourceKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(sourceKey('192.0.2.1'), '192.0.2.1');
  });

  it('delays failures from a source with doubling waits after delay_after, up to max_delay', () => {
    const l = new FailureLimits({ ...OPTIONS, now });
    const delays = Array.from({ length: 8 }, () => l.failure('192.0.2.1', 'a@x.test').delayMs);
    assert.deepEqual(delays, [0, 0, 250, 500, 1000, 2000, 4000, 4000]);
  });

  it('bans a source after ip_failures within the window, then lets it in after the ban', () => {
    const l = new FailureLimits({ ...OPTIONS, now });
    let banned: string | undefined;
    for (let i = 0; i < 10; i++) banned = l.failure('192.0.2.2', 'same@x.test').banned ?? banned;
    assert.equal(banned, 'ip_failures');
    const gate = l.check('192.0.2.2', 'other@x.test');
    assert.equal(gate.allowed, false);
    assert.equal(!gate.allowed && gate.retryAfterMs, 300_000);
    assert.equal(l.bannedCount(), 1);
    assert.equal(l.check('192.0.2.3', 'same@x.test').allowed, true, 'other sources are not banned');
    clock += 300_001;
    assert.equal(l.check('192.0.2.2', 'other@x.test').allowed, true);
  });

  it('forgets failures outside the window', () => {
    const l = new FailureLimits({ ...OPTIONS, now });
    for (let i = 0; i < 9; i++) l.failure('192.0.2.4', 'a@x.test');
    clock += 60_001;
    assert.equal(l.failure('192.0.2.4', 'a@x.test').banned, undefined);
  });

  it('detects password spraying: one source failing on many accounts', () => {
    const l = new FailureLimits({ ...OPTIONS, now });
    const results = ['u1', 'u2', 'u3', 'u4'].map((u) => l.failure('192.0.2.5', `${u}@x.test`).banned);
    assert.deepEqual(results, [undefined, undefined, undefined, 'spray']);
    assert.equal(l.check('192.0.2.5', 'u9@x.test').allowed, false);
  });

  it('treats addresses in one IPv6 /64 as one source', () => {
    const l = new FailureLimits({ ...OPTIONS, now });
    for (let i = 1; i <= 10; i++) l.failure(`2001:db8:7:7::${i.toString(16)}`, 'a@x.test');
    assert.equal(l.check('2001:db8:7:7:ffff::1', 'a@x.test').allowed, false);
    assert.equal(l.check('2001:db8:7:8::1', 'a@x.test').allowed, true);
  });

  it('never refuses or slows an address that has not failed, while an account is attacked from many addresses', () => {
    const l = new FailureLimits({ ...OPTIONS, now });
    // accountAttack defaults to 2 × accountFailures = 6; ten addresses fail once each.
    const effects = Array.from({ length: 10 }, (_, i) => l.failure(`203.0.113.${i}`, 'victim@x.test'));
    assert.deepEqual(
      effects.map((e) => e.accountUnderAttack ?? false),
      [false, false, false, false, false, true, false, false, false, false],
      'the attack is announced once',
    );
    assert.deepEqual(l.check('203.0.113.200', 'victim@x.test'), { allowed: true, delayMs: 0, pass: 'clean' }, 'a fresh address');
    assert.equal(l.accountsUnderAttack(), 1);
    const attacker = l.check('203.0.113.3', 'victim@x.test');
    assert.ok(!attacker.allowed && attacker.limit === 'account_attack', 'an address that failed on it may not try again');
    assert.equal(!attacker.allowed && attacker.retryAfterMs, 60_000);
    assert.ok(l.check('203.0.113.3', 'other@x.test').allowed, 'other accounts are not affected');
    clock += 60_001;
    assert.ok(l.check('203.0.113.3', 'victim@x.test').allowed, 'after the window');
    assert.equal(l.accountsUnderAttack(), 0);
  });

  it('refuses one address for one account after account_failures, until those failures leave the window', () => {
    const l = new FailureLimits({ ...OPTIONS, ipFailures: 100, sprayAccounts: 50, now });
    for (let i = 0; i < 3; i++) {
      assert.ok(l.check('192.0.2.30', 'a@x.test').allowed);
      l.failure('192.0.2.30', 'a@x.test');
      clock += 1000;
    }
    const gate = l.check('192.0.2.30', 'a@x.test');
    assert.ok(!gate.allowed && gate.limit === 'account_source');
    assert.equal(!gate.allowed && gate.retryAfterMs, 60_000 - 3000, 'until the oldest of the three leaves the window');
    assert.ok(l.check('192.0.2.30', 'b@x.test').allowed, 'the address may still try other accounts');
    assert.ok(l.check('192.0.2.31', 'a@x.test').allowed, 'other addresses may still try the account');
    clock += 60_000 - 3000 + 1;
    assert.ok(l.check('192.0.2.30', 'a@x.test').allowed);
  });

  it('lets an address that signed in to the account before through its own typos and an attack on the account', () => {
    const l = new FailureLimits({ ...OPTIONS, ipFailures: 100, now });
    l.success('192.0.2.40', 'owner@x.test');
    for (let i = 0; i < 6; i++) l.failure('192.0.2.40', 'owner@x.test');
    for (let i = 0; i < 6; i++) l.failure(`198.18.0.${i}`, 'owner@x.test');
    assert.deepEqual(l.check('192.0.2.40', 'owner@x.test'), { allowed: true, delayMs: 0, pass: 'known_source' });
    const stranger = l.check('198.18.0.1', 'owner@x.test');
    assert.ok(!stranger.allowed && stranger.limit === 'account_attack');
    clock += 31 * 86_400_000;
    l.failure('192.0.2.40', 'owner@x.test');
    assert.equal(l.check('192.0.2.40', 'owner@x.test').allowed, true, 'one failure after it is forgotten (known_for, 30 days)');
  });

  it('lets a verified device through even from a banned address, until the device itself fails account_failures times', () => {
    const l = new FailureLimits({ ...OPTIONS, now });
    for (let i = 0; i < 10; i++) l.failure('192.0.2.41', `u${i % 3}@x.test`);
    assert.equal(l.check('192.0.2.41', 'owner@x.test').allowed, false, 'banned');
    const withDevice = { ip: '192.0.2.41', account: 'owner@x.test', device: 'dev-1' };
    assert.deepEqual(l.check(withDevice), { allowed: true, delayMs: 0, pass: 'known_device' });
    assert.equal(l.check({ ...withDevice, account: 'someone@x.test' }).allowed, true, 'the caller verified the device for the account');
    for (let i = 0; i < 3; i++) l.failure(withDevice);
    const stolen = l.check(withDevice);
    assert.ok(!stolen.allowed && stolen.limit === 'source_ban', 'a device that keeps failing is an address like any other');
    l.success({ ...withDevice, ip: '192.0.2.99' });
    assert.equal(l.check(withDevice).allowed, true, "a success clears the device's failures");
  });

  it("a success forgets the address's failures on the account, but neither lifts a ban nor ends an attack", () => {
    const l = new FailureLimits({ ...OPTIONS, now });
    for (let i = 0; i < 2; i++) l.failure('192.0.2.42', 'x@x.test');
    l.success('192.0.2.42', 'x@x.test');
    assert.equal(l.check('192.0.2.42', 'x@x.test').allowed, true);
    for (let i = 0; i < 10; i++) l.failure('192.0.2.43', `${i}@x.test`);
    l.success('192.0.2.43', 'x@x.test');
    assert.equal(l.check('192.0.2.43', 'y@x.test').allowed, false);
  });

  it('never delays or bans exempt sources', () => {
    const l = new FailureLimits({ ...OPTIONS, now });
    for (let i = 0; i < 50; i++) assert.deepEqual(l.failure('198.51.100.7', `u${i}@x.test`), { delayMs: 0 });
    assert.deepEqual(l.check('198.51.100.7', 'u1@x.test'), { allowed: true, delayMs: 0, pass: 'clean' });
  });

  it('stays bounded in memory', () => {
    const l = new FailureLimits({ ...OPTIONS, now, maxEntries: 100 });
    for (let i = 0; i < 1000; i++) l.failure(`10.0.${i >> 8}.${i & 255}`, `u${i}@x.test`);
    // the newest sources are still tracked
    for (let i = 0; i < 9; i++) l.failure('10.0.3.231', 'z@x.test');
    assert.equal(l.check('10.0.3.231', 'z@x.test').allowed, false);
  });
});

describe('limits in the auth core', () => {
  let f: AuthFixture;
  let auth: AuthService;
  const ctx = (remote: string, protocol: AuthContext['protocol'] = 'imap'): AuthContext => ({
    protocol,
    listener: protocol === 'imap' ? 'imaps' : protocol === 'pop3' ? 'pop3s' : 'submissions',
    remote,
    tls: true,
  });
  const pw = (u: string, p: string): Credentials => ({ kind: 'password', username: u, password: p, mechanism: 'PLAIN' });
  const code = (o: AuthOutcome) => (o.ok ? 'ok' : o.code);

  before(async () => {
    f = await authFixture();
    auth = new AuthService({
      config: f.config({
        auth: { limits: { ip_failures: 4, spray_accounts: 3, delay_after: 10, max_delay: '1ms', ban: '10m', exempt: [] } },
      }),
      directory: f.directory,
      logger: f.logger,
    });
  });
  after(() => f.close());

  it('bans a source across protocols and answers rate_limited even for the right password', async () => {
    await auth.authenticate(pw('alice@example.test', 'x1'), ctx('192.0.2.50', 'imap'));
    await auth.authenticate(pw('alice@example.test', 'x2'), ctx('192.0.2.50', 'pop3'));
    await auth.authenticate(pw('alice@example.test', 'x3'), ctx('192.0.2.50', 'submission'));
    await auth.authenticate(pw('alice@example.test', 'x4'), ctx('192.0.2.50', 'imap'));
    const o = await auth.authenticate(pw('alice@example.test', 'correct horse'), ctx('192.0.2.50', 'pop3'));
    assert.equal(!o.ok && o.code, 'rate_limited');
    assert.ok(!o.ok && o.retryAfterMs! > 500_000);
    assert.ok((await auth.authenticate(pw('alice@example.test', 'correct horse'), ctx('192.0.2.51'))).ok, 'another source still signs in');
    const ban = f.logLines.find((l) => l.event === 'auth_ban');
    assert.equal(ban?.remote, '192.0.2.50');
    assert.equal(ban?.reason, 'ip_failures');
  });

  it("shares the ban with the embedded provider's sign-in form, whose failures count too", async () => {
    const form = (u: string, p: string): Credentials => ({ kind: 'password', username: u, password: p, mechanism: 'FORM' });
    const web: AuthContext = { protocol: 'http', listener: 'https', remote: '192.0.2.55', tls: true };
    await auth.authenticate(form('alice@example.test', 'x1'), web);
    await auth.authenticate(form('alice@example.test', 'x2'), web);
    await auth.authenticate(pw('alice@example.test', 'x3'), ctx('192.0.2.55', 'imap'));
    await auth.authenticate(pw('alice@example.test', 'x4'), ctx('192.0.2.55', 'pop3'));
    assert.equal(code(await auth.authenticate(form('alice@example.test', 'correct horse'), web)), 'rate_limited');
    assert.equal(code(await auth.authenticate(pw('alice@example.test', 'correct horse'), ctx('192.0.2.55'))), 'rate_limited');
    assert.ok(
      f.logLines.some((l) => l.event === 'auth' && l.mechanism === 'FORM' && l.remote === '192.0.2.55'),
      'audited',
    );
  });

  it('bans a sprayer trying one password on many accounts', async () => {
    for (const u of ['alice', 'bob', 'carol']) await auth.authenticate(pw(`${u}@example.test`, 'Summer2026!'), ctx('192.0.2.60'));
    const o = await auth.authenticate(pw('dave@example.test', 'Summer2026!'), ctx('192.0.2.60'));
    assert.equal(!o.ok && o.code, 'rate_limited');
    assert.ok(f.logLines.some((l) => l.event === 'auth_ban' && l.reason === 'spray'));
  });

  it('does not count the empty-token probe or policy refusals', async () => {
    for (let i = 0; i < 6; i++) {
      await auth.authenticate({ kind: 'bearer', token: '', mechanism: 'OAUTHBEARER' }, ctx('192.0.2.70'));
      await auth.authenticate(pw('alice@example.test', 'correct horse'), { ...ctx('192.0.2.70'), tls: false });
    }
    assert.ok((await auth.authenticate(pw('alice@example.test', 'correct horse'), ctx('192.0.2.70'))).ok);
  });

  it('one rule on every protocol: failures from ten addresses never refuse or slow the right password from an eleventh', async () => {
    const protocols: Array<[string, AuthContext['protocol'], 'PLAIN' | 'USER' | 'LOGIN' | 'BASIC' | 'FORM']> = [
      ['10', 'imap', 'PLAIN'],
      ['11', 'pop3', 'USER'],
      ['12', 'submission', 'LOGIN'],
      ['13', 'http', 'BASIC'],
      ['14', 'http', 'FORM'],
    ];
    for (const [net, protocol, mechanism] of protocols) {
      const owner = `owner${net}@example.test`;
      await f.accounts.addUser({ address: owner, password: 'the right one' });
      const cred = (password: string): Credentials => ({ kind: 'password', username: owner, password, mechanism });
      const at = (host: number): AuthContext => ({
        ...ctx(`198.51.${net}.${host}`, protocol),
        ...(protocol === 'http' ? { listener: 'https' } : {}),
      });
      for (let i = 1; i <= 10; i++) assert.equal(code(await auth.authenticate(cred(`guess ${i}`), at(i))), 'invalid_credentials');
      const gate = auth.limits.check({ ip: `198.51.${net}.100`, account: owner });
      assert.deepEqual(gate, { allowed: true, delayMs: 0, pass: 'clean' }, `${protocol} ${mechanism}: neither refused nor slowed`);
      assert.equal(code(await auth.authenticate(cred('the right one'), at(100))), 'ok', `${protocol} ${mechanism}`);
      // …while an address that guessed is refused for this account, even with the right password.
      assert.equal(code(await auth.authenticate(cred('the right one'), at(3))), 'rate_limited', `${protocol} ${mechanism}`);
    }
    assert.ok(f.logLines.some((l) => l.event === 'auth_account_attack' && l.user === 'owner10@example.test'));
  });

  it('exports Prometheus metrics', async () => {
    const registry = new Registry();
    auth.registerMetrics(registry);
    auth.registerMetrics(registry); // idempotent
    const text = await registry.metrics();
    assert.match(text, /fingerpost_auth_attempts_total\{protocol="imap",mechanism="PLAIN",result="invalid_credentials"\} \d+/);
    assert.match(text, /fingerpost_auth_attempts_total\{protocol="pop3",mechanism="PLAIN",result="rate_limited"\} 1/);
    assert.match(text, /fingerpost_auth_bans_total\{reason="spray"\} 1/);
    assert.match(text, /fingerpost_auth_banned_sources 3/);
    assert.match(text, /fingerpost_auth_attempts_total\{protocol="http",mechanism="FORM",result="rate_limited"\} 2/);
    assert.match(text, /fingerpost_auth_limited_total\{limit="source_ban"\} \d+/);
    assert.match(text, /fingerpost_auth_limited_total\{limit="account_attack"\} 5/);
    assert.match(text, /fingerpost_auth_account_attacks_total 5/);
    assert.match(text, /fingerpost_auth_accounts_under_attack 5/);
  });
});
