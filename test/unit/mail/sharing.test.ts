// The grant model behind IMAP ACL (RFC 4314) and JMAP Sharing (RFC 9670) on SQLite and PostgreSQL:
// rights are kept canonical, only the `a` right changes them, only accounts of the owner's domain
// receive them, every change is logged in the owner's account (Mailbox) and the grantee's
// (ShareNotification) and announced to both, and grants go with their mailbox.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { isFingerpostError } from '../../../src/core/errors.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { mimeParser } from '../../../src/mail/mime/parse.ts';
import type { ShareAccount } from '../../../src/mail/sharing/grants.ts';
import { effectiveRights, negativeOf } from '../../../src/mail/sharing/identifiers.ts';
import { ALL_RIGHTS, parseRights, rightsFromJmap, showRights } from '../../../src/mail/sharing/rights.ts';
import { MailStore } from '../../../src/mail/store.ts';
import type { MailChange } from '../../../src/mail/types.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

describe('rights letters (RFC 4314 §2.1)', () => {
  it('parses canonically, maps obsolete c and d, refuses unknown letters', () => {
    assert.equal(parseRights('rl'), 'lr');
    assert.equal(parseRights('lrlr'), 'lr');
    assert.equal(parseRights('c'), 'k');
    assert.equal(parseRights('d'), 'xte');
    assert.equal(parseRights('lrz'), null);
    assert.equal(parseRights(''), '');
    assert.equal(showRights('lrk'), 'lrkc');
    assert.equal(showRights('lrt'), 'lrtd');
    assert.equal(showRights(ALL_RIGHTS), 'lrswipkxteacd');
  });
  it('maps JMAP MailboxRights to letters (RFC 8621 §2), keeping p and a', () => {
    assert.equal(rightsFromJmap({ mayReadItems: true, maySetSeen: true, maySubmit: true }, 'pa'), 'lrspa');
    assert.equal(rightsFromJmap({ mayRemoveItems: true, mayDelete: true }), 'xte');
    assert.equal(rightsFromJmap({ mayFly: true }), null);
    assert.equal(rightsFromJmap({ mayReadItems: 1 }), null);
    assert.equal(rightsFromJmap([]), null);
  });

  it('anyone and negative entries (RFC 4314 §2): own and anyone rights, less -anyone and -address', () => {
    const entries = [
      { identifier: 'anyone', rights: 'lrs' },
      { identifier: '-anyone', rights: 's' },
      { identifier: '-bob@example.test', rights: 'r' },
    ];
    assert.equal(effectiveRights('w', 'Bob@Example.test', entries), 'lw');
    assert.equal(effectiveRights('', 'carol@example.test', entries), 'lr');
    assert.equal(effectiveRights('sw', 'carol@example.test', [{ identifier: '-anyone', rights: 'w' }]), 's');
    assert.equal(effectiveRights('lr', 'dan@example.test', []), 'lr');
    assert.equal(negativeOf('-anyone'), 'anyone');
    assert.equal(negativeOf('-ANYONE'), 'anyone');
    assert.equal(negativeOf('-bob@example.test'), 'bob@example.test');
    assert.equal(negativeOf('bob@example.test'), null);
    assert.equal(negativeOf('-'), null);
  });
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`sharing store (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dir: string;
    let drop = async () => {};
    let store: MailStore;
    const who: Record<string, ShareAccount> = {};
    const seen: Record<string, MailChange[]> = { alice: [], bob: [] };

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fp-sharing-'));
      let url = '';
      if (dialect === 'postgres') ({ url, drop } = await tempPgDatabase());
      db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      const admin = new AccountAdmin(db, new SqlDirectory(db));
      await admin.addDomain('example.test');
      await admin.addDomain('other.test');
      store = new MailStore(db, new FsBlobStore(path.join(dir, 'blobs')), mimeParser);
      for (const [name, address] of [
        ['alice', 'alice@example.test'],
        ['bob', 'bob@example.test'],
        ['carol', 'carol@other.test'],
      ] as const) {
        const { account } = await admin.addUser({ address, password: 'a long password' });
        who[name] = (await store.sharing.account(account.id))!;
      }
      store.watch(who['alice']!.id, (c) => seen['alice']!.push(c));
      store.watch(who['bob']!.id, (c) => seen['bob']!.push(c));
    });
    after(async () => {
      await db.close();
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('grants, logs and announces in both accounts; only the a right may change them', async () => {
      const alice = who['alice']!;
      const bob = who['bob']!;
      const team = await store.createMailbox(alice.id, 'Team');
      assert.equal(await store.sharing.rightsOf(alice.id, team), ALL_RIGHTS);
      assert.equal(await store.sharing.rightsOf(bob.id, team), '');
      const before = await store.typeState(alice.id, 'Mailbox');
      await store.sharing.setRights(alice, team, bob, 'lr');
      assert.equal(await store.sharing.rightsOf(bob.id, team), 'lr');
      assert.ok((await store.typeState(alice.id, 'Mailbox')) > before);
      assert.ok(seen['alice']!.some((c) => c.types.includes('Mailbox')));
      assert.ok(seen['bob']!.some((c) => c.types.includes('ShareNotification')));
      const [note] = await store.sharing.notifications.list(bob.id);
      assert.equal(note?.name, 'Team');
      assert.equal(note?.oldRights, null);
      assert.equal(note?.newRights?.mayReadItems, true);
      assert.deepEqual(
        (await store.sharing.sharedWith(bob.id)).map((s) => [s.owner.address, s.mailbox.name, s.rights]),
        [['alice@example.test', 'Team', 'lr']],
      );
      await assert.rejects(store.sharing.setRights(bob, team, bob, ALL_RIGHTS), (e) => isFingerpostError(e, 'forbidden'));
      await assert.rejects(store.sharing.setRights(alice, team, who['carol']!, 'lr'), (e) => isFingerpostError(e, 'invalid_argument'));
      await assert.rejects(store.sharing.setRights(alice, team, alice, 'l'), (e) => isFingerpostError(e, 'invalid_argument'));
      await store.sharing.setRights(alice, team, bob, 'lra');
      await store.sharing.setRights(bob, team, bob, 'lrsa');
      assert.equal(await store.sharing.rightsOf(bob.id, team), 'lrsa', 'a grantee with a may change the ACL');
    });

    it('a grant goes with its mailbox; destroyed notifications are logged', async () => {
      const alice = who['alice']!;
      const bob = who['bob']!;
      await store.deleteMailbox(alice.id, 'Team');
      assert.deepEqual(await store.sharing.sharedWith(bob.id), []);
      assert.deepEqual(await store.sharing.ownersSharingWith(bob.id), []);
      const notes = await store.sharing.notifications.list(bob.id);
      const state = await store.typeState(bob.id, 'ShareNotification');
      assert.deepEqual(await store.sharing.notifications.destroy(bob.id, [notes[0]!.id, 999_999]), [notes[0]!.id]);
      const changes = await store.changesSince(bob.id, 'ShareNotification', state);
      assert.deepEqual(changes.destroyed, [notes[0]!.id]);
      assert.deepEqual(
        await store.sharing.notifications.destroy(alice.id, [notes[1]!.id]),
        [],
        "another account's notification is not touched",
      );
    });
  });
}
