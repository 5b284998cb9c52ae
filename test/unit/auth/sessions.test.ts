// The live-session registry, its store mirror, the events that end sessions and the client bans
// every node shares, on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  APP_PASSWORD_REVOKED as ADMIN_APP_PASSWORD_REVOKED,
  CREDENTIALS_CHANGED as ADMIN_CREDENTIALS_CHANGED,
} from '../../../src/admin/accounts.ts';
import { AuthService } from '../../../src/auth/service.ts';
import { listStoredSessions, publishSessionRevocation, SessionMirror } from '../../../src/auth/session-store.ts';
import { APP_PASSWORD_REVOKED, CREDENTIALS_CHANGED, SOURCE_BANNED } from '../../../src/auth/session-sync.ts';
import { SessionRegistry } from '../../../src/auth/sessions.ts';
import type { AuthContext, AuthResult, EndReason } from '../../../src/auth/types.ts';
import type { DirectoryAccount } from '../../../src/directory/directory.ts';
import { eventsAfter, latestEventId } from '../../../src/store/events.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { type AuthFixture, authFixture } from './fixture.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const CTX: AuthContext = { protocol: 'imap', listener: 'imaps', remote: '192.0.2.40', tls: true };

function fakeAccount(id: number): DirectoryAccount {
  return {
    id,
    address: `u${id}@example.test`,
    localPart: `u${id}`,
    domain: 'example.test',
    domainId: 1,
    displayName: '',
    disabled: false,
    isAdmin: false,
    passwordHash: null,
    credentialsChangedAt: 0,
    createdAt: 0,
  };
}
const result = (id: number, extra: Partial<AuthResult> = {}): AuthResult => ({
  ok: true,
  account: fakeAccount(id),
  method: 'password',
  scopes: [],
  ...extra,
});

describe('session registry', () => {
  it('registers, lists, ends by match with the protocol goodbye, and unregisters', () => {
    const r = new SessionRegistry({ endOnExpiry: true });
    const ended: Array<[string, EndReason]> = [];
    const a = r.register(result(1), CTX, (why) => ended.push(['a', why]));
    const b = r.register(result(1, { method: 'app_password', credentialId: '7' }), CTX, (why) => ended.push(['b', why]));
    const c = r.register(result(2), { ...CTX, protocol: 'pop3' }, (why) => ended.push(['c', why]));
    assert.equal(r.size, 3);
    assert.equal(a.session.address, 'u1@example.test');
    assert.equal(c.session.protocol, 'pop3');
    assert.equal(r.end({ method: 'app_password', credentialId: '7' }, 'revoked'), 1);
    assert.deepEqual(ended, [['b', 'revoked']]);
    assert.equal(r.end({ accountId: 1 }, 'account_disabled'), 1);
    c.unregister();
    c.unregister();
    assert.equal(r.size, 0);
    assert.deepEqual(ended, [
      ['b', 'revoked'],
      ['a', 'account_disabled'],
    ]);
    b.unregister(); // after being ended: harmless
  });

  it('ends a session when its credential expires, only when configured', async () => {
    const ended: string[] = [];
    const on = new SessionRegistry({ endOnExpiry: true });
    const off = new SessionRegistry({ endOnExpiry: false });
    on.register(result(1, { expiresAt: Date.now() + 30 }), CTX, (why) => ended.push(`on:${why}`));
    off.register(result(1, { expiresAt: Date.now() + 30 }), CTX, (why) => ended.push(`off:${why}`));
    on.register(result(1, { expiresAt: Date.now() - 1 }), CTX, (why) => ended.push(`past:${why}`));
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(ended.sort(), ['on:expired', 'past:expired']);
    assert.equal(off.size, 1);
  });

  it('keeps ending other sessions when one goodbye throws', () => {
    const r = new SessionRegistry({ endOnExpiry: false });
    let second = false;
    r.register(result(1), CTX, () => {
      throw new Error('socket gone');
    });
    r.register(result(1), CTX, () => {
      second = true;
    });
    assert.equal(r.end({ accountId: 1 }, 'admin'), 2);
    assert.ok(second);
  });

  it('uses the same event names as the account administration', () => {
    assert.equal(CREDENTIALS_CHANGED, ADMIN_CREDENTIALS_CHANGED);
    assert.equal(APP_PASSWORD_REVOKED, ADMIN_APP_PASSWORD_REVOKED);
  });
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`live sessions through the store (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let f: AuthFixture;
    let auth: AuthService;
    let alice: DirectoryAccount;

    before(async () => {
      f = await authFixture(dialect);
      auth = new AuthService({ config: f.config(), directory: f.directory, logger: f.logger, db: f.db });
      await auth.start();
      alice = (await f.directory.findByAddress('alice@example.test'))!;
    });
    after(async () => {
      await auth.stop();
      await f.close();
    });

    /** Applies every event published since `from` right away instead of waiting for the poll. */
    async function applyEvents(from: number): Promise<void> {
      for (const e of await eventsAfter(f.db, from)) await auth.sync!.handle(e);
    }

    it('mirrors sessions into the store, batching short ones away', async () => {
      const mirror = new SessionMirror(f.db, 'n-test');
      const r = new SessionRegistry({ endOnExpiry: false, onStart: (s) => mirror.started(s), onStop: (s) => mirror.stopped(s) });
      const long = r.register(result(alice.id, { expiresAt: Date.now() + 60_000 }), CTX, () => {});
      const short = r.register(result(alice.id), CTX, () => {});
      short.unregister();
      await mirror.flush();
      const rows = (await listStoredSessions(f.db)).filter((s) => s.node === 'n-test');
      assert.deepEqual(
        rows.map((s) => s.id),
        [long.session.id],
      );
      assert.equal(rows[0]!.expiresAt, long.session.expiresAt);
      assert.equal(rows[0]!.accountId, alice.id);
      long.unregister();
      await mirror.flush();
      assert.equal((await listStoredSessions(f.db)).filter((s) => s.node === 'n-test').length, 0);
      r.register(result(alice.id), CTX, () => {});
      await mirror.flush();
      await mirror.heartbeat();
      assert.equal((await listStoredSessions(f.db, { accountId: alice.id })).filter((s) => s.node === 'n-test').length, 1);
      assert.equal((await listStoredSessions(f.db, { now: Date.now() + 91_000 })).length, 0, 'rows of silent nodes are stale');
      await mirror.clear();
      assert.equal((await listStoredSessions(f.db)).filter((s) => s.node === 'n-test').length, 0);
    });

    it('a revoked app password ends the sessions that used it, and only those', async () => {
      const { info, secret } = await f.accounts.createAppPassword({
        address: 'alice@example.test',
        name: 'phone',
        protocols: ['imap'],
        expiresAt: null,
      });
      const login = await auth.authenticate(
        { kind: 'password', username: 'alice@example.test', password: secret, mechanism: 'PLAIN' },
        CTX,
      );
      assert.ok(login.ok);
      const ended: EndReason[] = [];
      const viaApp = auth.register(login, CTX, (why) => ended.push(why));
      const pw = await auth.authenticate(
        { kind: 'password', username: 'alice@example.test', password: 'correct horse', mechanism: 'PLAIN' },
        CTX,
      );
      assert.ok(pw.ok);
      const viaPassword = auth.register(pw, CTX, (why) => ended.push(why));
      await auth.flushSessions();
      assert.equal((await listStoredSessions(f.db, { accountId: alice.id })).length, 2);
      const from = await latestEventId(f.db);
      await f.accounts.revokeAppPassword('alice@example.test', String(info.id));
      await applyEvents(from);
      assert.deepEqual(ended, ['revoked']);
      assert.equal(auth.sessions.list().length, 1);
      await auth.flushSessions();
      assert.deepEqual(
        (await listStoredSessions(f.db, { accountId: alice.id })).map((s) => s.id),
        [viaPassword.session.id],
      );
      viaApp.unregister();
      viaPassword.unregister();
    });

    it('a password change ends password sessions started before it, not app-password or token ones', async () => {
      await f.accounts.addUser({ address: 'gina@example.test', password: 'gina password' });
      const gina = (await f.directory.findByAddress('gina@example.test'))!;
      const ended: string[] = [];
      auth.register(result(gina.id), CTX, (why) => ended.push(`password:${why}`));
      auth.register(result(gina.id, { method: 'app_password', credentialId: '99' }), CTX, (why) => ended.push(`app:${why}`));
      auth.register(result(gina.id, { method: 'bearer', credentialId: 'j' }), CTX, (why) => ended.push(`bearer:${why}`));
      await new Promise((r) => setTimeout(r, 3));
      const from = await latestEventId(f.db);
      await f.accounts.setPassword('gina@example.test', 'gina new password');
      await applyEvents(from);
      assert.deepEqual(ended, ['password:credentials_changed']);
      const from2 = await latestEventId(f.db);
      await f.accounts.setDisabled('gina@example.test', true);
      await applyEvents(from2);
      assert.deepEqual(ended.sort(), ['app:account_disabled', 'bearer:account_disabled', 'password:credentials_changed']);
    });

    it('admin revocations by session id, account and token jti', async () => {
      const ended: string[] = [];
      const one = auth.register(result(alice.id), CTX, () => ended.push('one'));
      auth.register(result(alice.id), CTX, () => ended.push('two'));
      auth.register(
        result(alice.id, { method: 'bearer', issuer: 'https://idp.test', credentialId: 'jti-9', expiresAt: Date.now() + 60_000 }),
        CTX,
        () => ended.push('token'),
      );
      let from = await latestEventId(f.db);
      await publishSessionRevocation(f.db, { sessionId: one.session.id });
      await applyEvents(from);
      assert.deepEqual(ended, ['one']);
      from = await latestEventId(f.db);
      await publishSessionRevocation(f.db, { issuer: 'https://idp.test', jti: 'jti-9', until: Date.now() + 60_000 });
      await applyEvents(from);
      assert.deepEqual(ended, ['one', 'token']);
      assert.ok(auth.revocations.isRevoked('https://idp.test', { jti: 'jti-9' }), 'the token stays refused');
      from = await latestEventId(f.db);
      await publishSessionRevocation(f.db, { accountId: alice.id });
      await applyEvents(from);
      assert.deepEqual(ended, ['one', 'token', 'two']);
    });

    it('ignores malformed and foreign events', async () => {
      for (const payload of [{}, { accountId: 'x' }, { sessionId: 3 }, { appPasswordId: null }])
        for (const kind of [CREDENTIALS_CHANGED, APP_PASSWORD_REVOKED, 'session_revoked', 'new_mail'])
          assert.equal(await auth.sync!.handle({ id: 0, kind, payload, createdAt: 0 }), 0);
    });

    it('a client banned on one node is refused by every node, before any failure there', async () => {
      const limits = { ip_failures: 3, delay_after: 100, exempt: [] };
      const nodeA = new AuthService({ config: f.config({ auth: { limits } }), directory: f.directory, logger: f.logger, db: f.db });
      const nodeB = new AuthService({ config: f.config({ auth: { limits } }), directory: f.directory, logger: f.logger, db: f.db });
      const from = await latestEventId(f.db);
      const attacker: AuthContext = { ...CTX, remote: '2001:db8:7:7::1' };
      const wrong = { kind: 'password', username: 'alice@example.test', password: 'wrong', mechanism: 'PLAIN' } as const;
      const right = { ...wrong, password: 'correct horse' };
      assert.equal((await nodeB.authenticate(right, attacker)).ok, true, 'node B lets the address in before the ban');
      for (let i = 0; i < 3; i++) assert.equal((await nodeA.authenticate(wrong, attacker)).ok, false);
      const refusedA = await nodeA.authenticate(right, attacker);
      assert.equal(refusedA.ok, false);
      assert.equal(!refusedA.ok && refusedA.code, 'rate_limited', 'node A banned the address');
      const bans = (await eventsAfter(f.db, from)).filter((e) => e.kind === SOURCE_BANNED);
      assert.equal(bans.length, 1, 'the ban is published once');
      assert.equal(bans[0]!.payload.ip, '2001:db8:7:7::1');
      // Node B applies the events as its poller would (src/store/events.ts pollEvents).
      await nodeB.start();
      for (const e of await eventsAfter(f.db, from)) await nodeB.sync!.handle(e);
      const refusedB = await nodeB.authenticate(right, { ...attacker, remote: '2001:db8:7:7::99' });
      assert.equal(!refusedB.ok && refusedB.code, 'rate_limited', 'node B refuses the same /64 without a failure of its own');
      assert.equal((await nodeB.authenticate(right, { ...attacker, remote: '2001:db8:8::1' })).ok, true, 'other networks are not affected');
      await nodeB.stop();
    });

    it('the poller applies events published by another process', async () => {
      const ended: string[] = [];
      const reg = auth.register(result(alice.id), CTX, (why) => ended.push(why));
      await publishSessionRevocation(f.db, { sessionId: reg.session.id });
      for (let i = 0; i < 100 && !ended.length; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(ended, ['admin']);
    });
  });
}
