// The LDAP directory against a real slapd (Debian `slapd`, test/helpers/slapd.ts) and a real
// store: lookups by mail and alias, provisioning, password checks by bind, filter injection, the
// cache and what its time means, accounts disabled or removed in LDAP, failover, LDAP down or
// frozen, recovery, and a mixed setup with SQL domains through the auth core.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, beforeEach, describe, test } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { AuthService } from '../../../src/auth/service.ts';
import type { AuthContext, AuthOutcome } from '../../../src/auth/types.ts';
import type { DirectoryAccount } from '../../../src/directory/directory.ts';
import { anyEquals, escapeFilterValue } from '../../../src/directory/ldap/filter.ts';
import { LdapDirectory } from '../../../src/directory/ldap/ldap.ts';
import type { LdapOptions } from '../../../src/directory/ldap/options.ts';
import { RoutedDirectory } from '../../../src/directory/routed.ts';
import { CREDENTIALS_CHANGED } from '../../../src/store/events.ts';
import { FakeClock } from '../../helpers/clock.ts';
import { freePorts } from '../../helpers/ports.ts';
import { slapdSkip, startSlapd, type TestSlapd } from '../../helpers/slapd.ts';
import { type AuthFixture, authFixture } from '../auth/fixture.ts';
import { IssuerFixture } from '../auth/issuer-fixture.ts';

const CTX: AuthContext = { protocol: 'imap', listener: 'imaps', remote: '192.0.2.10', tls: true };

test('filter values are escaped as RFC 4515 §3 says', () => {
  assert.equal(escapeFilterValue('a*b(c)d\\e\0'), 'a\\2ab\\28c\\29d\\5ce\\00');
  assert.equal(escapeFilterValue('jörg@example.org'), 'j\\c3\\b6rg@example.org');
  assert.equal(escapeFilterValue('*)(uid=*'), '\\2a\\29\\28uid=\\2a');
  assert.equal(anyEquals(['mail'], 'x*'), '(mail=x\\2a)');
  assert.equal(anyEquals(['mail', 'mailAlternateAddress'], 'x'), '(|(mail=x)(mailAlternateAddress=x))');
});

describe('LDAP directory (slapd)', { skip: slapdSkip() }, () => {
  let slapd: TestSlapd;
  let fx: AuthFixture;
  let clock: FakeClock;
  let synced: Array<{ account: DirectoryAccount; created: boolean }>;
  let ldap: LdapDirectory;
  let directory: RoutedDirectory;
  let auth: AuthService;

  const options = (over: Partial<LdapOptions> = {}): LdapOptions => ({
    name: 'corp',
    domains: ['example.org'],
    urls: [slapd.ldapsUrl],
    startTls: false,
    ca: readFileSync(slapd.caFile, 'utf8'),
    bindDn: slapd.bindDn,
    bindPassword: slapd.bindPassword,
    baseDn: `ou=people,${slapd.suffix}`,
    userFilter: '(objectClass=inetOrgPerson)',
    mailAttribute: 'mail',
    aliasAttributes: ['mailAlternateAddress'],
    nameAttribute: 'cn',
    quotaAttribute: 'mailQuota',
    statusAttribute: 'accountStatus',
    disabledValues: ['disabled'],
    adminGroupDn: `cn=mailadmins,ou=groups,${slapd.suffix}`,
    groupMemberAttribute: 'member',
    poolSize: 2,
    timeoutMs: 1_500,
    retryMs: 10_000,
    cacheTtlMs: 60_000,
    cacheSize: 100,
    ...over,
  });

  const open = async (over: Partial<LdapOptions> = {}) => {
    await ldap?.close();
    ldap = new LdapDirectory({
      options: options(over),
      sql: fx.directory,
      db: fx.db,
      now: () => clock.now(),
      onSync: async (account, created) => {
        synced.push({ account, created });
      },
    });
    directory = new RoutedDirectory(fx.directory, [ldap]);
    await directory.ensureDomains();
    auth = new AuthService({ config: fx.config(), directory, logger: fx.logger, db: fx.db, now: () => clock.now() });
  };

  const signIn = (username: string, password: string, ctx: AuthContext = CTX): Promise<AuthOutcome> =>
    auth.authenticate({ kind: 'password', username, password, mechanism: 'PLAIN' }, ctx);

  before(async () => {
    slapd = await startSlapd();
  });
  after(async () => {
    await ldap?.close();
    await slapd?.close();
  });
  beforeEach(async () => {
    await fx?.close();
    fx = await authFixture();
    clock = new FakeClock(Date.now());
    synced = [];
    await open();
  });
  after(() => fx?.close());

  test('finds an account by mail and by alias, provisions it once, maps name, quota and the admin group', async () => {
    const alice = await directory.findByAddress('Alice@Example.org');
    assert.ok(alice);
    assert.equal(alice.address, 'alice@example.org');
    assert.equal(alice.displayName, 'Alice Liddell');
    assert.equal(alice.isAdmin, true);
    assert.equal(alice.quota, 1_048_576);
    assert.equal(alice.passwordHash, null);
    const byAlias = await directory.findByAddress('a.liddell@example.org');
    assert.equal(byAlias?.id, alice.id);
    assert.deepEqual(await directory.addressesOf(alice.id), ['alice@example.org', 'a.liddell@example.org']);
    assert.deepEqual(
      synced.map((s) => [s.account.address, s.created]),
      [['alice@example.org', true]],
      'created once, and the alias lookup was answered from the cache',
    );
    const bob = await directory.findByAddress('bob@example.org');
    assert.equal(bob?.isAdmin, false);
    assert.equal(bob?.quota, null);
    assert.equal(await directory.findByAddress('nobody@example.org'), undefined);
    assert.ok(await directory.findDomain('example.org'), 'the LDAP domain has its row in the store');
  });

  test('passwords are checked by binding as the entry: right, wrong, empty, unknown, disabled', async () => {
    const ok = await signIn('alice@example.org', 'alice-password-1');
    assert.equal(ok.ok, true);
    assert.equal(ok.ok && ok.account.address, 'alice@example.org');
    assert.equal(ok.ok && ok.method, 'password');
    for (const [user, pass] of [
      ['alice@example.org', 'wrong-password'],
      ['alice@example.org', ''],
      ['nobody@example.org', 'alice-password-1'],
    ] as const) {
      const r = await signIn(user, pass);
      assert.equal(!r.ok && r.code, 'invalid_credentials', `${user} / ${pass ? 'a password' : 'empty'}`);
    }
    const carol = await signIn('carol@example.org', 'carol-password-1');
    assert.equal(!carol.ok && carol.code, 'authorization_failed', 'accountStatus: disabled');
  });

  test('a user name cannot add filter syntax to the search (LDAP injection)', async () => {
    for (const name of ['a*@example.org', '*@example.org', 'alice@example.org)(mail=*', '*)(|(mail=*@example.org', 'alice@example.org\0']) {
      const r = await signIn(name, 'alice-password-1');
      assert.equal(!r.ok && r.code, 'invalid_credentials', name);
      assert.equal(await directory.findByAddress(name), undefined, name);
    }
  });

  test('mixed setup: SQL domains keep their accounts and admin; LDAP domains refuse SQL changes; app passwords work for LDAP accounts', async () => {
    const sqlUser = await signIn('alice@example.test', 'correct horse');
    assert.equal(sqlUser.ok && sqlUser.account.address, 'alice@example.test');
    const admin = new AccountAdmin(fx.db, directory);
    await assert.rejects(admin.addUser({ address: 'dave@example.org', password: 'long-enough-1' }), /come from the LDAP directory corp/);
    await assert.rejects(admin.setPassword('bob@example.org', 'long-enough-1'), /come from the LDAP directory corp/);
    await admin.addUser({ address: 'dave@example.test', password: 'long-enough-1' });
    const { secret } = await admin.createAppPassword({ address: 'bob@example.org', name: 'phone', protocols: ['imap'], expiresAt: null });
    const app = await signIn('bob@example.org', secret);
    assert.equal(app.ok && app.method, 'app_password');
    const smtp = await signIn('bob@example.org', secret, { ...CTX, protocol: 'submission', listener: 'submissions' });
    assert.equal(!smtp.ok && smtp.code, 'authorization_failed', 'the app password is for IMAP only');
  });

  test("an external issuer's token names an LDAP account by its email claim; a token for a removed address names nobody", async () => {
    const issuer = await new IssuerFixture().start();
    try {
      const withIssuer = new AuthService({
        config: fx.config({ server: { hostname: 'mail.example.test' }, auth: { issuers: [{ issuer: issuer.issuer }] } }),
        directory,
        logger: fx.logger,
      });
      const token = (email: string) => issuer.sign({ email, aud: 'imap://mail.example.test', scope: 'urn:ietf:params:oauth:scope:mail' });
      const ok = await withIssuer.authenticate(
        { kind: 'bearer', token: await token('a.liddell@example.org'), mechanism: 'OAUTHBEARER' },
        CTX,
      );
      assert.equal(ok.ok && ok.account.address, 'alice@example.org', 'the alias in the claim finds the entry');
      const none = await withIssuer.authenticate({ kind: 'bearer', token: await token('zed@example.org'), mechanism: 'OAUTHBEARER' }, CTX);
      assert.equal(!none.ok && none.tokenError, 'The access token names no account here');
    } finally {
      await issuer.close();
    }
  });

  test('changes in LDAP are seen once the cache time has passed; removed entries disable the account, its mail kept until purged', async () => {
    const bob = await directory.findByAddress('bob@example.org');
    assert.ok(bob);
    slapd.modify(`dn: uid=bob,ou=people,${slapd.suffix}\nchangetype: modify\nreplace: cn\ncn: Robert Builder\n`);
    assert.equal((await directory.findByAddress('bob@example.org'))?.displayName, 'Bob Builder', 'still cached');
    clock.sleep(60_001);
    assert.equal((await directory.findByAddress('bob@example.org'))?.displayName, 'Robert Builder');

    // A live session of bob, then bob is removed from LDAP.
    const ended: string[] = [];
    const signed = await signIn('bob@example.org', 'bob-password-1');
    assert.ok(signed.ok);
    auth.register(signed, CTX, (reason) => ended.push(reason));
    const admin = new AccountAdmin(fx.db, directory);
    await assert.rejects(admin.removeUser('bob@example.org'), /still in the LDAP directory/);
    slapd.modify(`dn: uid=bob,ou=people,${slapd.suffix}\nchangetype: delete\n`);
    try {
      assert.equal(await auth.recheckAccounts(), 0, 'within the cache time nothing changes');
      assert.deepEqual(ended, []);
      clock.sleep(60_001);
      assert.equal(await auth.recheckAccounts(), 1);
      assert.deepEqual(ended, ['account_disabled']);
      const shadow = await fx.directory.getAccount(bob.id);
      assert.equal(shadow?.disabled, true, 'the shadow row (and its mail) is kept, disabled');
      const events = await fx.db.kysely.selectFrom('events').select(['kind', 'payload']).where('kind', '=', CREDENTIALS_CHANGED).execute();
      assert.ok(
        events.some((e) => JSON.parse(e.payload).accountId === bob.id),
        'other nodes hear of it',
      );
      const again = await signIn('bob@example.org', 'bob-password-1');
      assert.equal(!again.ok && again.code, 'invalid_credentials');
      await admin.removeUser('bob@example.org');
      assert.equal(await fx.directory.getAccount(bob.id), undefined, 'purged by the admin command');
    } finally {
      slapd.modify(
        `dn: uid=bob,ou=people,${slapd.suffix}\nchangetype: add\nobjectClass: inetOrgPerson\nobjectClass: fingerpostMailUser\nuid: bob\ncn: Bob Builder\nsn: Builder\nmail: bob@example.org\naccountStatus: active\nuserPassword: bob-password-1\n`,
      );
    }
  });

  test('an account disabled in LDAP loses its live sessions within the cache time, and comes back when enabled', async () => {
    const ended: string[] = [];
    const signed = await signIn('bob@example.org', 'bob-password-1');
    assert.ok(signed.ok);
    auth.register(signed, CTX, (reason) => ended.push(reason));
    slapd.modify(`dn: uid=bob,ou=people,${slapd.suffix}\nchangetype: modify\nreplace: accountStatus\naccountStatus: disabled\n`);
    try {
      clock.sleep(60_001);
      assert.equal(await auth.recheckAccounts(), 1);
      assert.deepEqual(ended, ['account_disabled']);
      const refused = await signIn('bob@example.org', 'bob-password-1');
      assert.equal(!refused.ok && refused.code, 'authorization_failed');
    } finally {
      slapd.modify(`dn: uid=bob,ou=people,${slapd.suffix}\nchangetype: modify\nreplace: accountStatus\naccountStatus: active\n`);
    }
    clock.sleep(60_001);
    assert.equal((await signIn('bob@example.org', 'bob-password-1')).ok, true);
  });

  test('StartTLS with a certificate check; a server whose certificate is not trusted is not used', async () => {
    await open({ urls: [slapd.url], startTls: true });
    assert.equal((await signIn('alice@example.org', 'alice-password-1')).ok, true);
    await open({ ca: '' });
    const r = await signIn('alice@example.org', 'alice-password-1');
    assert.equal(!r.ok && r.code, 'temporary', 'the local CA is not trusted without ca_file');
  });

  test('a pooled connection the server closed is replaced, not reopened unbound (StartTLS and LDAPS)', async () => {
    for (const over of [{ urls: [slapd.url], startTls: true }, {}]) {
      await open(over);
      assert.equal((await signIn('alice@example.org', 'alice-password-1')).ok, true);
      await slapd.stop();
      await slapd.start();
      clock.sleep(60_001);
      const bob = await directory.findByAddress('bob@example.org');
      assert.equal(bob?.address, 'bob@example.org', 'found with the service account, not as anonymous (who may read nothing)');
      assert.equal(bob?.disabled, false);
    }
  });

  test('fails over to the next server when the first refuses connections', async () => {
    const [dead] = (await freePorts(1)) as [number];
    await open({ urls: [`ldaps://localhost:${dead}`, slapd.ldapsUrl] });
    assert.equal((await signIn('alice@example.org', 'alice-password-1')).ok, true);
  });

  test('LDAP down or frozen: sign-in fails at once with a temporary error, open sessions keep working, recovery without restart', async () => {
    const signed = await signIn('alice@example.org', 'alice-password-1');
    assert.ok(signed.ok);
    const ended: string[] = [];
    auth.register(signed, CTX, (reason) => ended.push(reason));
    clock.sleep(60_001);
    await slapd.stop();
    try {
      const down = await signIn('bob@example.org', 'bob-password-1');
      assert.equal(!down.ok && down.code, 'temporary');
      assert.equal(await auth.recheckAccounts(), 0, 'sessions are not ended because LDAP cannot answer');
      assert.equal((await directory.getAccount(signed.account.id))?.address, 'alice@example.org', 'the shadow answers for open sessions');
      // Every server is now skipped for retry_after: the next attempt does not wait at all.
      const skipped = await signIn('bob@example.org', 'bob-password-1');
      assert.equal(!skipped.ok && skipped.code, 'temporary');
    } finally {
      await slapd.start();
    }
    const still = await signIn('bob@example.org', 'bob-password-1');
    assert.equal(!still.ok && still.code, 'temporary', 'still skipped until retry_after passes');
    clock.sleep(10_001);
    assert.equal((await signIn('bob@example.org', 'bob-password-1')).ok, true, 'recovered without a restart');

    clock.sleep(60_001);
    slapd.pause();
    try {
      const frozen = await signIn('carol@example.org', 'carol-password-1');
      assert.equal(!frozen.ok && frozen.code, 'temporary', 'a server that accepts but never answers times out');
    } finally {
      slapd.resume();
    }
    assert.deepEqual(ended, []);
  });
});
