// One store contract, run against SQLite and PostgreSQL (ARCHITECTURE.md "Core ideas" 7).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin, APP_PASSWORD_REVOKED, CREDENTIALS_CHANGED } from '../../../src/admin/accounts.ts';
import { verifyPassword } from '../../../src/directory/password-hash.ts';
import { isFingerpostError } from '../../../src/core/errors.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { BLOB_GRACE_MS, releaseBlob, sweepBlobs } from '../../../src/store/blob-gc.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { eventsAfter, latestEventId, pollEvents, publishEvent } from '../../../src/store/events.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';
import pg from 'pg';
import { sql } from 'kysely';
import { PG_URL } from '../../helpers/peers.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`store contract (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dir: string;
    let url = '';
    let cleanup: () => Promise<void> = async () => {};
    let directory: SqlDirectory;
    let admin: AccountAdmin;

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fp-store-'));
      if (dialect === 'postgres') {
        const tmp = await tempPgDatabase();
        url = tmp.url;
        cleanup = tmp.drop;
      }
      db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      directory = new SqlDirectory(db);
      admin = new AccountAdmin(db, directory);
    });

    after(async () => {
      await db.close();
      await cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    it('runs migrations idempotently', async () => {
      const again = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      await again.close();
      const tables = await db.kysely.introspection.getTables();
      for (const t of [
        'domains',
        'accounts',
        'aliases',
        'app_passwords',
        'mailboxes',
        'messages',
        'mailbox_messages',
        'changes',
        'events',
      ]) {
        assert.ok(
          tables.some((x) => x.name === t),
          `table ${t} exists`,
        );
      }
    });

    it('adds, lists and refuses duplicate domains', async () => {
      const d = await admin.addDomain('Example.TEST');
      assert.equal(d.name, 'example.test');
      await assert.rejects(admin.addDomain('example.test'), (e) => isFingerpostError(e, 'already_exists'));
      await assert.rejects(admin.addDomain('not a domain'), (e) => isFingerpostError(e, 'invalid_argument'));
      assert.deepEqual(
        (await admin.listDomains()).map((x) => x.name),
        ['example.test'],
      );
    });

    it('creates accounts with hashed passwords and special-use mailboxes', async () => {
      const { account, generatedPassword } = await admin.addUser({ address: 'Alice@Example.test', displayName: 'Alice' });
      assert.equal(account.address, 'alice@example.test');
      assert.equal(account.localPart, 'Alice');
      assert.ok(generatedPassword && generatedPassword.length >= 16);
      assert.match(account.passwordHash!, /^\$argon2id\$/);
      assert.equal(await verifyPassword(account.passwordHash, generatedPassword), true);
      assert.equal(await verifyPassword(account.passwordHash, 'wrong password'), false);
      const boxes = await db.kysely
        .selectFrom('mailboxes')
        .select(['name', 'role'])
        .where('account_id', '=', account.id)
        .orderBy('sort_order')
        .execute();
      assert.deepEqual(
        boxes.map((b) => b.role),
        ['inbox', 'drafts', 'sent', 'archive', 'junk', 'trash'],
      );
      await assert.rejects(admin.addUser({ address: 'alice@example.test' }), (e) => isFingerpostError(e, 'already_exists'));
      await assert.rejects(admin.addUser({ address: 'bob@unknown.test' }), (e) => isFingerpostError(e, 'unknown_domain'));
      await assert.rejects(admin.addUser({ address: 'carol@example.test', password: 'short' }), (e) =>
        isFingerpostError(e, 'invalid_argument'),
      );
      assert.equal(await directory.findByAddress('carol@example.test'), undefined, 'nothing half-written');
    });

    it('resolves aliases and refuses taken addresses', async () => {
      await admin.addAlias('postmaster@example.test', 'alice@example.test');
      assert.equal((await directory.findByAddress('POSTMASTER@example.test'))?.address, 'alice@example.test');
      await assert.rejects(admin.addAlias('alice@example.test', 'alice@example.test'), (e) => isFingerpostError(e, 'already_exists'));
      await assert.rejects(admin.addAlias('x@other.test', 'alice@example.test'), (e) => isFingerpostError(e, 'unknown_domain'));
      const account = await directory.findByAddress('alice@example.test');
      assert.deepEqual(await directory.addressesOf(account!.id), ['alice@example.test', 'postmaster@example.test']);
      await admin.removeAlias('postmaster@example.test');
      assert.equal(await directory.findByAddress('postmaster@example.test'), undefined);
    });

    it('delivers postmaster@ a served domain to an admin when no account or alias claims it (RFC 5321 §4.5.1)', async () => {
      assert.equal(await directory.findRecipient('postmaster@example.test'), undefined, 'no admin yet');
      await admin.addDomain('other.test');
      await admin.addUser({ address: 'root@other.test', password: 'root-password-1', isAdmin: true });
      assert.equal((await directory.findRecipient('Postmaster@example.test'))?.address, 'root@other.test', 'the server admin');
      await admin.addUser({ address: 'boss@example.test', password: 'boss-password-1', isAdmin: true });
      assert.equal((await directory.findRecipient('postmaster@example.test'))?.address, 'boss@example.test', "the domain's own admin");
      assert.equal((await directory.findRecipient('alice@example.test'))?.address, 'alice@example.test');
      assert.equal(await directory.findRecipient('postmaster@unserved.test'), undefined);
      assert.equal(await directory.findRecipient('nobody@example.test'), undefined);
      assert.equal(await directory.findByAddress('postmaster@example.test'), undefined, 'not an address to sign in with');
      await admin.addAlias('postmaster@example.test', 'alice@example.test');
      assert.equal((await directory.findRecipient('postmaster@example.test'))?.address, 'alice@example.test', 'an alias wins');
      await admin.removeAlias('postmaster@example.test');
      await admin.removeUser('boss@example.test');
      await admin.removeUser('root@other.test');
      await admin.removeDomain('other.test');
    });

    it('keeps only a hash of app passwords and publishes their revocation', async () => {
      const since = await latestEventId(db);
      const { info, secret } = await admin.createAppPassword({
        address: 'alice@example.test',
        name: 'phone',
        protocols: ['imap', 'smtp'],
        expiresAt: null,
      });
      assert.deepEqual(info.protocols, ['imap', 'smtp']);
      const found = await directory.findAppPasswordBySecret(secret);
      assert.equal(found?.id, info.id);
      assert.equal(await directory.findAppPasswordBySecret(`${secret}x`), undefined);
      const stored = await db.kysely.selectFrom('app_passwords').selectAll().execute();
      assert.ok(stored.every((r) => !r.secret_hash.includes(secret)));
      await assert.rejects(
        admin.createAppPassword({ address: 'alice@example.test', name: 'x', protocols: ['ftp'], expiresAt: null }),
        (e) => isFingerpostError(e, 'invalid_argument'),
      );
      await directory.touchAppPassword(info.id);
      const revoked = await admin.revokeAppPassword('alice@example.test', 'phone');
      assert.ok(revoked.revokedAt);
      const listed = await admin.listAppPasswords('alice@example.test');
      assert.ok(listed[0]!.lastUsedAt && listed[0]!.revokedAt);
      const events = await eventsAfter(db, since);
      assert.deepEqual(
        events.map((e) => e.kind),
        [APP_PASSWORD_REVOKED],
      );
      assert.equal(events[0]!.payload.appPasswordId, info.id);
    });

    it('changes passwords and disables accounts, announcing both', async () => {
      const since = await latestEventId(db);
      const before = await directory.findByAddress('alice@example.test');
      await new Promise((r) => setTimeout(r, 5));
      const { generatedPassword } = await admin.setPassword('alice@example.test');
      const after1 = await directory.findByAddress('alice@example.test');
      assert.ok(after1!.credentialsChangedAt > before!.credentialsChangedAt);
      assert.equal(await verifyPassword(after1!.passwordHash, generatedPassword!), true);
      await admin.setDisabled('alice@example.test', true);
      assert.equal((await directory.findByAddress('alice@example.test'))!.disabled, true);
      const kinds = (await eventsAfter(db, since)).map((e) => e.kind);
      assert.deepEqual(kinds, [CREDENTIALS_CHANGED, CREDENTIALS_CHANGED]);
    });

    it('delivers events to pollers', async () => {
      const seen: string[] = [];
      const stop = await pollEvents(
        db,
        20,
        (e) => seen.push(e.kind),
        () => {},
      );
      await publishEvent(db, 'test_event', { n: 1 });
      for (let i = 0; i < 100 && !seen.length; i++) await new Promise((r) => setTimeout(r, 20));
      stop();
      assert.deepEqual(seen, ['test_event']);
    });

    if (dialect === 'postgres')
      it("hears another node's events at once through LISTEN/NOTIFY, and listens again after the connection drops", async () => {
        const node2 = await openDb({ url, sqlitePath: '' });
        const seen: string[] = [];
        // Ten minutes between polls: only a NOTIFY can deliver within the test.
        const stop = await pollEvents(
          db,
          600_000,
          (e) => seen.push(e.kind),
          () => {},
        );
        const publishUntilSeen = async (kind: string) => {
          for (let i = 0; i < 100 && !seen.includes(kind); i++) {
            // Repeated while the LISTEN connection is (re)opening: a NOTIFY before it is not heard.
            await publishEvent(node2, kind, {});
            for (let j = 0; j < 10 && !seen.includes(kind); j++) await new Promise((r) => setTimeout(r, 20));
          }
        };
        try {
          await publishUntilSeen('from_node2');
          assert.ok(seen.includes('from_node2'));
          const killer = new pg.Client({ connectionString: PG_URL });
          await killer.connect();
          const ended = await killer.query(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and query like 'LISTEN%'",
            [new URL(url).pathname.slice(1)],
          );
          await killer.end();
          assert.equal(ended.rowCount, 1, 'one LISTEN connection');
          await publishUntilSeen('after_reconnect');
          assert.ok(seen.includes('after_reconnect'));
        } finally {
          stop();
          await node2.close();
        }
      });

    it('removes accounts and then their domain', async () => {
      await assert.rejects(admin.removeDomain('example.test'), (e) => isFingerpostError(e, 'conflict'));
      await admin.removeUser('alice@example.test');
      await assert.rejects(admin.removeUser('alice@example.test'), (e) => isFingerpostError(e, 'not_found'));
      const boxes = await db.kysely.selectFrom('mailboxes').select('id').execute();
      assert.equal(boxes.length, 0, 'mailboxes go with the account');
      await admin.removeDomain('example.test');
      assert.equal((await admin.listDomains()).length, 0);
    });

    it('stores blobs content-addressed and durably', async () => {
      const blobs = new FsBlobStore(path.join(dir, 'blobs'));
      const data = Buffer.from('Subject: hi\r\n\r\nhello\r\n');
      const id = await blobs.put(data);
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.equal(await blobs.put(data), id, 'same bytes, same id');
      assert.deepEqual(await blobs.get(id), data);
      assert.equal((await blobs.range(id, 0, 7)).toString(), 'Subject');
      assert.equal(await blobs.has(id), true);
      const leftovers = (await readdir(path.join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4)))).filter((f) => f.startsWith('.tmp'));
      assert.deepEqual(leftovers, []);
      await blobs.delete(id);
      await assert.rejects(blobs.get(id), (e) => isFingerpostError(e, 'not_found'));
      assert.throws(
        () => blobs.stream('../../etc/passwd'),
        (e) => isFingerpostError(e, 'invalid_argument'),
      );
    });

    if (dialect === 'postgres')
      it('survives PostgreSQL ending its idle connections (restart, failover) and reconnects', async () => {
        await sql`select 1`.execute(db.kysely);
        const other = new pg.Client({ connectionString: PG_URL });
        await other.connect();
        const ended = await other.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [
          new URL(url).pathname.slice(1),
        ]);
        await other.end();
        assert.ok(ended.rowCount! >= 1);
        // Unheard, the pool's 'error' event for the ended idle client ended the whole process.
        await new Promise((r) => setTimeout(r, 300));
        assert.deepEqual((await sql<{ x: number }>`select 1 as x`.execute(db.kysely)).rows, [{ x: 1 }]);
      });

    if (dialect === 'postgres')
      it('survives PostgreSQL ending a connection in the middle of a transaction: the transaction fails, the process lives', async () => {
        const dbName = new URL(url).pathname.slice(1);
        await assert.rejects(
          db.kysely.transaction().execute(async (trx) => {
            const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
            const other = new pg.Client({ connectionString: PG_URL });
            await other.connect();
            await other.query('select pg_terminate_backend($1) from pg_stat_activity where datname = $2', [rows[0]!.pid, dbName]);
            await other.end();
            // Between two statements: the checked-out client heard the end as an 'error' event no one
            // listened to, and the process died here.
            await new Promise((r) => setTimeout(r, 300));
            await sql`select 1`.execute(trx);
          }),
        );
        assert.deepEqual((await sql<{ x: number }>`select 1 as x`.execute(db.kysely)).rows, [{ x: 1 }]);
      });

    it('collects only unreferenced blobs older than the grace window', async () => {
      const blobs = new FsBlobStore(path.join(dir, 'gc-blobs'));
      const orphan = await blobs.put(Buffer.from('nobody points at me'));
      const later = Date.now() + BLOB_GRACE_MS + 1000;
      assert.equal(await releaseBlob(db, blobs, orphan), false, 'a fresh blob is kept: its row may be on the way');
      assert.equal(await releaseBlob(db, blobs, orphan, later), true);
      assert.equal(await blobs.has(orphan), false);
      const again = await blobs.put(Buffer.from('stored twice'));
      const t0 = (await blobs.writtenAt(again))!;
      await new Promise((r) => setTimeout(r, 20));
      await blobs.put(Buffer.from('stored twice'));
      assert.ok((await blobs.writtenAt(again))! > t0, 're-storing refreshes the grace window');
      assert.deepEqual(await Array.fromAsync(blobs.ids()), [again]);
      await db.kysely.insertInto('domains').values({ name: 'gc.test', created_at: 0, settings: '{}' }).execute();
      const domain = (await db.kysely.selectFrom('domains').select('id').where('name', '=', 'gc.test').executeTakeFirstOrThrow()).id;
      const acct = await db.kysely
        .insertInto('accounts')
        .values({
          domain_id: domain,
          local_part: 'gc',
          address: 'gc@gc.test',
          display_name: '',
          password_hash: null,
          disabled: 0,
          is_admin: 0,
          created_at: 0,
          credentials_changed_at: 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db.kysely
        .insertInto('messages')
        .values({
          account_id: acct.id,
          blob_id: again,
          size: 12,
          received_at: 0,
          thread_id: 0,
          message_id_header: null,
          subject: '',
          sent_at: null,
          from_addr: '',
          to_addr: '',
          keywords: '',
          meta: '{}',
          modseq: 1,
          created_at: 0,
        })
        .execute();
      assert.equal(await sweepBlobs(db, blobs, later), 0, 'a blob a message points at stays');
      await db.kysely.deleteFrom('messages').where('blob_id', '=', again).execute();
      assert.equal(await sweepBlobs(db, blobs, later), 1);
    });
  });
}
