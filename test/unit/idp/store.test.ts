// The embedded provider's storage (oidc-provider adapter, signing keys, issued-token ledger,
// secrets, admin tokens), run against SQLite and PostgreSQL like every store contract.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { isFingerpostError } from '../../../src/core/errors.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { PRUNE_GRACE_MS, SqlAdapter } from '../../../src/idp/adapter.ts';
import { ADMIN_CLIENT_ID, issueAdminToken } from '../../../src/idp/admin-token.ts';
import { IssuedTokens } from '../../../src/idp/issued-tokens.ts';
import { IdpKeys, providerJwks, publicJwks } from '../../../src/idp/keys.ts';
import { idpSecret } from '../../../src/idp/secrets.ts';
import type { Db } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { openTestDb } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');
const ISSUER = 'https://mail.example.test/oidc';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`idp storage (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dispose: () => Promise<void> = async () => {};
    let directory: SqlDirectory;
    let now = 1_800_000_000_000;
    const clock = () => now;

    before(async () => {
      ({ db, dispose } = await openTestDb(dialect, 'fp-idp-'));
      directory = new SqlDirectory(db);
      const admin = new AccountAdmin(db, directory);
      await admin.addDomain('example.test');
      await admin.addUser({ address: 'Dave@Example.test', password: 'dave password 1' });
      await admin.addUser({ address: 'eve@example.test', password: 'eve password 12' });
      await admin.setDisabled('eve@example.test', true);
    });

    after(async () => {
      await dispose();
    });

    describe('oidc-provider adapter', () => {
      it('stores, finds, consumes and destroys entries per model', async () => {
        const codes = new SqlAdapter(db, 'AuthorizationCode', clock);
        const grants = new SqlAdapter(db, 'Grant', clock);
        await codes.upsert('c1', { accountId: 'a', grantId: 'g1', exp: now / 1000 + 60 }, 60);
        await grants.upsert('c1', { accountId: 'other' }, 60);
        assert.equal((await codes.find('c1'))?.accountId, 'a');
        assert.equal((await grants.find('c1'))?.accountId, 'other', 'the same id in another model is another entry');
        assert.equal((await codes.find('c1'))?.consumed, undefined);
        await codes.consume('c1');
        assert.equal((await codes.find('c1'))?.consumed, Math.floor(now / 1000), 'consumed carries epoch seconds');
        await codes.upsert('c1', { accountId: 'b', grantId: 'g1' }, 60);
        assert.equal((await codes.find('c1'))?.accountId, 'b', 'upsert replaces');
        await codes.destroy('c1');
        assert.equal(await codes.find('c1'), undefined);
        assert.equal((await grants.find('c1'))?.accountId, 'other');
      });

      it('finds by uid and by user code', async () => {
        const sessions = new SqlAdapter(db, 'Session', clock);
        const devices = new SqlAdapter(db, 'DeviceCode', clock);
        await sessions.upsert('s1', { uid: 'u-1', accountId: 'x' }, 600);
        await devices.upsert('d1', { userCode: 'BCDFGHJK', grantId: 'g9' }, 600);
        assert.equal((await sessions.findByUid('u-1'))?.accountId, 'x');
        assert.equal((await devices.findByUserCode('BCDFGHJK'))?.grantId, 'g9');
        assert.equal(await sessions.findByUserCode('BCDFGHJK'), undefined);
        assert.equal(await devices.findByUid('u-1'), undefined);
      });

      it('revokes by grant within one model only', async () => {
        const rts = new SqlAdapter(db, 'RefreshToken', clock);
        const codes = new SqlAdapter(db, 'AuthorizationCode', clock);
        await rts.upsert('r1', { grantId: 'gX' }, 600);
        await rts.upsert('r2', { grantId: 'gX' }, 600);
        await rts.upsert('r3', { grantId: 'gY' }, 600);
        await codes.upsert('k1', { grantId: 'gX' }, 600);
        await rts.revokeByGrantId('gX');
        assert.equal(await rts.find('r1'), undefined);
        assert.equal(await rts.find('r2'), undefined);
        assert.ok(await rts.find('r3'));
        assert.ok(await codes.find('k1'));
      });

      it('keeps expired entries for a grace period (precise errors), then prunes them', async () => {
        const devices = new SqlAdapter(db, 'DeviceCode', clock);
        const clients = new SqlAdapter(db, 'Client', clock);
        await devices.upsert('old', { userCode: 'XX' }, 10);
        await clients.upsert('forever', { client_id: 'forever' });
        now += 11_000;
        assert.ok(await devices.find('old'), 'just expired: still returned, oidc-provider reports expired_token');
        now += PRUNE_GRACE_MS;
        assert.equal(await devices.find('old'), undefined);
        assert.ok((await SqlAdapter.prune(db, now)) >= 1);
        assert.ok(await clients.find('forever'), 'entries without expiry stay');
      });
    });

    describe('signing keys', () => {
      it('creates a key on first use, rotates, and keeps the retired key published until its tokens expire', async () => {
        const keys = new IdpKeys(db, { retentionMs: 3_600_000, now: clock });
        const first = await keys.load();
        assert.equal(first.published.length, 1);
        assert.equal(first.current.alg, 'RS256');
        assert.equal((await keys.load()).current.kid, first.current.kid, 'stable across loads');

        const { kid, retired } = await keys.rotate();
        assert.deepEqual(retired, [first.current.kid]);
        const second = await keys.load();
        assert.equal(second.current.kid, kid);
        assert.deepEqual(
          second.published.map((k) => k.kid),
          [kid, first.current.kid],
        );
        assert.notEqual(second.version, first.version);

        const pub = publicJwks(second);
        for (const k of pub.keys) for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(k[secret as 'd'], undefined);
        const forProvider = providerJwks(second).keys;
        assert.equal(forProvider[0]!.key_ops, undefined, 'the current key signs');
        assert.deepEqual(forProvider[1]!.key_ops, ['verify'], 'a retired key only verifies');

        now += 3_600_001;
        assert.deepEqual(await keys.prune(), [first.current.kid]);
        assert.deepEqual(
          (await keys.load()).published.map((k) => k.kid),
          [kid],
        );
      });

      it('keeps a retired key while a long-lived admin token it signed is valid', async () => {
        const keys = new IdpKeys(db, { retentionMs: 60_000, now: clock });
        const before = await keys.load();
        await keys.noteTokenExpiry(before.current.kid, now + 86_400_000);
        await keys.rotate();
        now += 120_000;
        assert.deepEqual(await keys.prune(), []);
        assert.equal((await keys.load()).published.length, 2);
        now += 86_400_000;
        assert.deepEqual(await keys.prune(), [before.current.kid]);
      });
    });

    describe('issued-token ledger', () => {
      it('revokes by grant, client and jti, and forgets expired tokens', async () => {
        const tokens = new IssuedTokens(db, clock);
        const base = { sid: null, account: 'dave@example.test', issuedAt: now, expiresAt: now + 3_600_000 };
        await tokens.record({ ...base, jti: 'j1', grantId: 'g1', clientId: 'c1' });
        await tokens.record({ ...base, jti: 'j2', grantId: 'g1', clientId: 'c1' });
        await tokens.record({ ...base, jti: 'j3', grantId: 'g2', clientId: 'c2' });
        await tokens.record({ ...base, jti: 'j4', grantId: null, clientId: 'c2', expiresAt: now - 1 });
        assert.deepEqual((await tokens.revokeGrant('g1')).jtis.toSorted(), ['j1', 'j2']);
        assert.equal(await tokens.isRevoked('j1'), true);
        assert.equal(await tokens.isRevoked('j3'), false);
        assert.equal(await tokens.isRevoked('unknown'), false);
        assert.deepEqual((await tokens.revokeClient('c2')).jtis, ['j3'], 'expired tokens need no revocation');
        assert.deepEqual((await tokens.revokeToken('j3')).jtis, ['j3']);
        assert.equal(await tokens.prune(), 1);
        assert.equal(await tokens.find('j4'), undefined);
        assert.equal((await tokens.find('j1'))?.revokedAt, now);
      });
    });

    it('creates a secret once and returns the same one to every caller', async () => {
      const [a, b] = await Promise.all([idpSecret(db, 'test-secret'), idpSecret(db, 'test-secret')]);
      assert.equal(a, b);
      assert.equal(Buffer.from(a, 'base64url').length, 32);
      assert.notEqual(await idpSecret(db, 'other-secret'), a);
    });

    describe('admin tokens', () => {
      const deps = () => ({
        issuer: ISSUER,
        keys: new IdpKeys(db, { retentionMs: 60_000, now: clock }),
        tokens: new IssuedTokens(db, clock),
        directory,
      });

      it('signs an RFC 9068 token verifiable with the published keys, and records it', async () => {
        const d = deps();
        const t = await issueAdminToken(
          d,
          {
            address: 'DAVE@example.test',
            resources: ['imap://mail.example.test'],
            scopes: ['urn:ietf:params:oauth:scope:mail'],
            ttlMs: 600_000,
          },
          now,
        );
        assert.equal(decodeProtectedHeader(t.token).typ, 'at+jwt');
        const { payload } = await jwtVerify(t.token, createLocalJWKSet(publicJwks(await d.keys.load())), {
          issuer: ISSUER,
          audience: 'imap://mail.example.test',
          currentDate: new Date(now),
          typ: 'at+jwt',
        });
        assert.equal(payload.sub, 'dave@example.test');
        assert.equal(payload.email, 'dave@example.test');
        assert.equal(payload.client_id, ADMIN_CLIENT_ID);
        assert.equal(payload.scope, 'urn:ietf:params:oauth:scope:mail');
        assert.equal(payload.exp! - payload.iat!, 600);
        assert.equal(payload.jti, t.jti);
        assert.equal((await d.tokens.find(t.jti))?.account, 'dave@example.test');
        const multi = await issueAdminToken(
          d,
          { address: 'dave@example.test', resources: ['imap://a', 'smtp://a'], scopes: [], ttlMs: 1000 },
          now,
        );
        assert.deepEqual(multi.audience, ['imap://a', 'smtp://a']);
      });

      it('refuses unknown and disabled accounts, bad lifetimes, resources and scopes', async () => {
        const d = deps();
        const ok = { address: 'dave@example.test', resources: ['imap://x'], scopes: ['mail'], ttlMs: 60_000 };
        const cases: Array<[Partial<typeof ok>, string]> = [
          [{ address: 'nobody@example.test' }, 'not_found'],
          [{ address: 'eve@example.test' }, 'invalid_argument'],
          [{ ttlMs: 0 }, 'invalid_argument'],
          [{ ttlMs: 31 * 86_400_000 }, 'invalid_argument'],
          [{ resources: [] }, 'invalid_argument'],
          [{ resources: ['not a uri'] }, 'invalid_argument'],
          [{ resources: ['https://x/#frag'] }, 'invalid_argument'],
          [{ scopes: ['bad"scope'] }, 'invalid_argument'],
        ];
        for (const [change, code] of cases) {
          await assert.rejects(
            issueAdminToken(d, { ...ok, ...change }, now),
            (err) => isFingerpostError(err, code as 'not_found'),
            JSON.stringify(change),
          );
        }
      });
    });
  });
}
