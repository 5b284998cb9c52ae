// The mail store contract shared by IMAP, POP3, JMAP and SMTP, on SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AccountAdmin } from '../../../src/admin/accounts.ts';
import { isFingerpostError } from '../../../src/core/errors.ts';
import { SqlDirectory } from '../../../src/directory/sql.ts';
import { mimeParser } from '../../../src/mail/mime/parse.ts';
import { MAX_MAILBOX_DEPTH, MAX_MAILBOX_SEGMENT, MailStore } from '../../../src/mail/store.ts';
import type { Mailbox, MailChange } from '../../../src/mail/types.ts';
import { FsBlobStore } from '../../../src/store/blobs.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

function message(opts: { subject: string; id: string; inReplyTo?: string; body?: string; from?: string }): Buffer {
  const lines = [
    `From: ${opts.from ?? 'Alice <alice@example.test>'}`,
    'To: bob@example.test',
    `Subject: ${opts.subject}`,
    'Date: Mon, 02 Nov 2026 09:00:00 +0000',
    `Message-ID: <${opts.id}>`,
    ...(opts.inReplyTo ? [`In-Reply-To: <${opts.inReplyTo}>`, `References: <${opts.inReplyTo}>`] : []),
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ?? 'Hello there.',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`mail store (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dir: string;
    let drop = async () => {};
    let store: MailStore;
    let url = '';
    let blobs: FsBlobStore;
    let account: number;
    let inbox: number;
    const changes: MailChange[] = [];

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fp-mail-'));
      if (dialect === 'postgres') ({ url, drop } = await tempPgDatabase());
      db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      const admin = new AccountAdmin(db, new SqlDirectory(db));
      await admin.addDomain('example.test');
      account = (await admin.addUser({ address: 'bob@example.test', password: 'a long password' })).account.id;
      blobs = new FsBlobStore(path.join(dir, 'blobs'));
      store = new MailStore(db, blobs, mimeParser);
      inbox = (await store.getMailbox(account, 'inbox'))!.id;
      store.watch(account, (c) => changes.push(c));
    });
    after(async () => {
      await db.close();
      await drop();
      await rm(dir, { recursive: true, force: true });
    });

    it('appends with increasing UIDs and MODSEQs, logs the change and notifies after commit', async () => {
      const before = await store.accountModseq(account);
      const a = await store.append(account, inbox, message({ subject: 'First', id: 'm1@example.test' }), { keywords: ['$Seen'] });
      const b = await store.deliver(account, message({ subject: 'Second', id: 'm2@example.test', body: 'Quarterly numbers inside' }));
      assert.equal(a.uid, 1);
      assert.equal(b.uid, 2);
      assert.ok(a.modseq > before);
      const entries = await store.listEntries(inbox);
      assert.deepEqual(
        entries.map((e) => [e.uid, e.keywords]),
        [
          [1, ['$seen']],
          [2, []],
        ],
      );
      const box = (await store.getMailboxById(account, inbox))!;
      assert.equal(box.uidNext, 3);
      assert.equal(box.highestModseq, await store.accountModseq(account));
      const [msg] = await store.getMessages(account, [a.messageId]);
      assert.equal(msg!.meta.subject, 'First');
      assert.equal(msg!.meta.envelope.subject, 'First');
      assert.equal((await store.readRaw(msg!)).toString().includes('Hello there.'), true);
      assert.ok(changes.some((c) => c.mailboxIds.includes(inbox) && c.types.includes('Email')));
      const counts = await store.mailboxCounts(inbox);
      assert.equal(counts.messages, 2);
      assert.equal(counts.unseen, 1);
    });

    it('threads replies by References / In-Reply-To', async () => {
      const r = await store.deliver(account, message({ subject: 'Re: First', id: 'm3@example.test', inReplyTo: 'm1@example.test' }));
      const firstId = (await store.listEntries(inbox))[0]!.messageId;
      const [f, reply] = await store.getMessages(account, [firstId, r.messageId]);
      assert.equal(reply!.threadId, f!.threadId);
      const other = (await store.listEntries(inbox))[1]!.messageId;
      assert.notEqual((await store.getMessages(account, [other]))[0]!.threadId, f!.threadId, 'unrelated messages get their own thread');
      assert.deepEqual(await store.threadMessages(account, f!.threadId), [firstId, r.messageId]);
    });

    it('stores flags with UNCHANGEDSINCE and only bumps MODSEQ on a real change', async () => {
      const m0 = await store.accountModseq(account);
      const same = await store.storeKeywords(account, inbox, [1], 'add', ['$seen']);
      assert.equal(same.updated.length, 0, 'no change, no new MODSEQ');
      assert.equal(await store.accountModseq(account), m0);
      const r = await store.storeKeywords(account, inbox, [1, 2], 'add', ['$Flagged']);
      assert.deepEqual(
        r.updated.map((u) => [u.uid, u.keywords]),
        [
          [1, ['$flagged', '$seen']],
          [2, ['$flagged']],
        ],
      );
      const stale = await store.storeKeywords(account, inbox, [1, 2], 'remove', ['$flagged'], { unchangedSince: m0 });
      assert.deepEqual(stale.failed, [1, 2]);
      const fresh = await store.storeKeywords(account, inbox, [2], 'set', ['$draft'], { unchangedSince: r.modseq });
      assert.deepEqual(
        fresh.updated.map((u) => u.keywords),
        [['$draft']],
      );
      await assert.rejects(store.storeKeywords(account, inbox, [1], 'add', ['bad(kw']), (e) => isFingerpostError(e, 'invalid_argument'));
      const changed = await store.mailboxChanges(inbox, r.modseq);
      assert.deepEqual(
        changed.changed.map((c) => c.uid),
        [2],
      );
    });

    it('copies as new messages with their own flags, and moves with vanished UIDs in the source', async () => {
      const archive = (await store.mailboxByRole(account, 'archive'))!.id;
      const copied = await store.copy(account, inbox, [1], archive);
      assert.deepEqual(copied.pairs, [[1, 1]]);
      await store.storeKeywords(account, archive, [1], 'add', ['$answered']);
      assert.deepEqual((await store.listEntries(inbox))[0]!.keywords, ['$flagged', '$seen'], 'the original keeps its flags');
      const before = await store.accountModseq(account);
      const moved = await store.move(account, inbox, [2], archive);
      assert.deepEqual(moved.pairs, [[2, 2]]);
      assert.deepEqual(
        (await store.listEntries(inbox)).map((e) => e.uid),
        [1, 3],
      );
      const ch = await store.mailboxChanges(inbox, before);
      assert.deepEqual(ch.expunged, [2]);
      const email = await store.changesSince(account, 'Email', before);
      assert.equal(email.updated.length, 1, 'a move updates the Email (mailboxIds)');
    });

    it('expunges only \\Deleted messages and destroys messages left in no mailbox', async () => {
      const before = await store.accountModseq(account);
      const entries = await store.listEntries(inbox);
      await store.storeKeywords(account, inbox, [3], 'add', ['$deleted']);
      const gone = await store.expunge(account, inbox, { onlyDeleted: true });
      assert.deepEqual(gone, [3]);
      assert.deepEqual(
        (await store.listEntries(inbox)).map((e) => e.uid),
        [1],
      );
      const emails = await store.changesSince(account, 'Email', before);
      assert.deepEqual(emails.destroyed, [entries.find((e) => e.uid === 3)!.messageId]);
      assert.deepEqual(await store.getMessages(account, emails.destroyed), []);
    });

    it('creates, renames and deletes mailboxes with their hierarchy', async () => {
      await store.createMailbox(account, 'Projects/2026/Q4');
      const names = (await store.listMailboxes(account)).map((m) => m.name);
      assert.ok(names.includes('Projects') && names.includes('Projects/2026') && names.includes('Projects/2026/Q4'));
      await assert.rejects(store.createMailbox(account, 'Projects'), (e) => isFingerpostError(e, 'already_exists'));
      await assert.rejects(store.createMailbox(account, 'bad*name'), (e) => isFingerpostError(e, 'invalid_argument'));
      await store.renameMailbox(account, 'Projects', 'Work/Projects');
      const after = (await store.listMailboxes(account)).map((m) => m.name);
      assert.ok(after.includes('Work') && after.includes('Work/Projects/2026/Q4') && !after.includes('Projects'));
      await assert.rejects(store.deleteMailbox(account, 'Work/Projects'), (e) => isFingerpostError(e, 'invalid_argument'));
      await store.deleteMailbox(account, 'Work/Projects/2026/Q4');
      await assert.rejects(store.deleteMailbox(account, 'INBOX'), (e) => isFingerpostError(e, 'invalid_argument'));
      const mb = await store.changesSince(account, 'Mailbox', 0);
      assert.equal(mb.destroyed.length, 0, 'created and destroyed since 0 collapses to nothing');
    });

    it('keeps every mailbox within the depth and name size JMAP announces, whichever protocol asks', async () => {
      const deep = Array.from({ length: MAX_MAILBOX_DEPTH }, (_, i) => `d${i}`).join('/');
      await store.createMailbox(account, deep);
      const tooDeep = (e: unknown) => isFingerpostError(e, 'invalid_argument') && /levels deep/.test((e as Error).message);
      await assert.rejects(store.createMailbox(account, `${deep}/one-more`), tooDeep);
      // Moving the tree under another level would push its deepest child past the limit.
      await assert.rejects(store.renameMailbox(account, 'd0', 'x/d0'), tooDeep);
      await assert.rejects(store.renameMailbox(account, 'INBOX', `${deep}/inbox`), tooDeep);
      assert.ok(
        (await store.listMailboxes(account)).every((m) => m.name.split('/').length <= MAX_MAILBOX_DEPTH && !m.name.startsWith('x')),
      );
      await store.renameMailbox(account, 'd0/d1', 'd1');
      await store.createMailbox(account, 'é'.repeat(MAX_MAILBOX_SEGMENT / 2));
      await assert.rejects(store.createMailbox(account, `a/${'é'.repeat(MAX_MAILBOX_SEGMENT / 2)}x`), (e) =>
        isFingerpostError(e, 'invalid_argument'),
      );
    });

    it('UIDVALIDITY never repeats for a name: re-created in the same second, with the clock set back, after a restart, from two nodes at once', async () => {
      const frozen = Date.parse('2026-12-01T10:00:00Z');
      const clocked = new MailStore(db, blobs, mimeParser, () => frozen);
      const first = await clocked.createMailbox(account, 'Again');
      const a = await clocked.append(account, first.id, message({ subject: 'One', id: 'uv1@example.test' }));
      await clocked.deleteMailbox(account, 'Again');
      const second = await clocked.createMailbox(account, 'Again');
      const b = await clocked.append(account, second.id, message({ subject: 'Two', id: 'uv2@example.test' }));
      // RFC 9051 §2.3.1.1: (UIDVALIDITY, UID) never names another message of a mailbox with that name.
      assert.equal(b.uid, a.uid);
      assert.ok(b.uidValidity > a.uidValidity, `${b.uidValidity} > ${a.uidValidity}`);
      const backwards = new MailStore(db, blobs, mimeParser, () => frozen - 365 * 86_400_000);
      const third = await backwards.createMailbox(account, 'Again/Child');
      assert.ok(third.uidValidity > second.uidValidity, 'a clock set back does not go back');
      // RENAME gives the moved mailboxes new values too: a name never sees an older one again.
      await clocked.renameMailbox(account, 'Again', 'Renamed');
      const renamed = await clocked.listMailboxes(account);
      const top = renamed.find((m) => m.name === 'Renamed')!;
      assert.ok(top.uidValidity > third.uidValidity);
      assert.ok(renamed.find((m) => m.name === 'Renamed/Child')!.uidValidity > third.uidValidity);
      // A second node (or a restart) on the same database continues the sequence.
      const other = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      try {
        const node2 = new MailStore(other, blobs, mimeParser, () => frozen);
        const before = Math.max(...(await store.listMailboxes(account)).map((m) => m.uidValidity));
        // PostgreSQL nodes write at the same time; SQLite is one file a process opens once, so the
        // second handle (the admin CLI, a restarted server) takes turns with the first.
        const create = (i: number) => (i % 2 ? clocked : node2).createMailbox(account, `Node/${i}`);
        const made =
          dialect === 'postgres'
            ? await Promise.all(Array.from({ length: 12 }, (_, i) => create(i)))
            : await Array.from({ length: 12 }, (_, i) => i).reduce(
                async (acc, i) => [...(await acc), await create(i)],
                Promise.resolve([] as Mailbox[]),
              );
        const values = made.map((m) => m.uidValidity);
        assert.equal(new Set(values).size, values.length, `distinct: ${values.join(' ')}`);
        assert.ok(values.every((v) => v > before && v <= 0xffffffff));
        const all = (await store.listMailboxes(account)).map((m) => m.uidValidity);
        assert.equal(new Set(all).size, all.length, 'no two mailboxes share a UIDVALIDITY');
      } finally {
        await other.close();
      }
    });

    it('keeps subscriptions as a list of names: create does not subscribe, delete keeps the name, rename subscribes the new name and keeps the old', async () => {
      assert.deepEqual(await store.listSubscriptions(account), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
      const plain = await store.createMailbox(account, 'Subs/Plain');
      assert.equal(plain.subscribed, false);
      const jmapStyle = await store.createMailbox(account, 'Subs/Jmap', { subscribed: true });
      assert.equal(jmapStyle.subscribed, true);
      assert.equal((await store.getMailbox(account, 'Subs'))!.subscribed, false, 'a parent made on the way is not subscribed');
      const before = await store.typeState(account, 'Mailbox');
      assert.equal(await store.setSubscribed(account, 'Subs/Plain', true), true);
      assert.equal(await store.setSubscribed(account, 'Subs/Plain', true), false, 'already subscribed');
      assert.ok((await store.typeState(account, 'Mailbox')) > before, 'JMAP sees isSubscribed change');
      await store.deleteMailbox(account, 'Subs/Plain');
      assert.ok((await store.listSubscriptions(account)).includes('Subs/Plain'), 'DELETE keeps the subscription');
      assert.equal((await store.createMailbox(account, 'Subs/Plain')).subscribed, true, 'the name is still subscribed');
      await store.renameMailbox(account, 'Subs', 'Moved');
      const names = await store.listSubscriptions(account);
      assert.ok(names.includes('Moved/Plain') && names.includes('Moved/Jmap'), 'the new names are subscribed');
      // The server never removes a name from the list on its own (RFC 9051 §6.3.9).
      assert.ok(names.includes('Subs/Plain') && names.includes('Subs/Jmap'), 'the old names stay subscribed');
      const moved = (await store.getMailbox(account, 'Moved/Jmap'))!;
      await store.updateMailbox(account, moved.id, { subscribed: false });
      assert.equal((await store.getMailboxById(account, moved.id))!.subscribed, false);
      assert.equal(await store.setSubscribed(account, 'Never/There', false), false);
    });

    it('remembers the first capitalised spelling of a keyword; keywords stay lower-case for comparison', async () => {
      const a = await store.append(account, inbox, message({ subject: 'Kw', id: 'kw1@example.test' }), {
        keywords: ['$Forwarded', '$Seen'],
      });
      await store.storeKeywords(account, inbox, [a.uid], 'add', ['Project-X', 'plain']);
      await store.storeKeywords(account, inbox, [a.uid], 'add', ['PROJECT-X', '$FORWARDED']);
      const entry = (await store.listEntries(inbox)).find((e) => e.uid === a.uid)!;
      assert.deepEqual(entry.keywords, ['$forwarded', '$seen', 'plain', 'project-x']);
      const names = await store.keywordNames(account);
      assert.equal(names.get('$forwarded'), '$Forwarded');
      assert.equal(names.get('project-x'), 'Project-X');
      assert.equal(names.has('plain'), false);
      assert.equal(names.has('$seen'), false, 'system flags have their IMAP names');
    });

    it('gives each new message to exactly one claimer of \\Recent, also from two nodes at once', async () => {
      const box = await store.createMailbox(account, 'Recent/Claims');
      for (let i = 0; i < 6; i++) await store.append(account, box.id, message({ subject: `r${i}`, id: `r${i}@example.test` }));
      assert.equal(await store.unclaimedRecent(box.id, (await store.getMailboxById(account, box.id))!.firstRecentUid), 6);
      assert.deepEqual(await store.claimRecent(box.id, 3), { from: 1, to: 3 });
      assert.equal(await store.claimRecent(box.id, 3), null, 'already claimed');
      const other = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      try {
        const node2 = new MailStore(other, blobs, mimeParser);
        const claims =
          dialect === 'postgres'
            ? await Promise.all([4, 5, 6, 7, 7, 7].map((limit, i) => (i % 2 ? store : node2).claimRecent(box.id, limit)))
            : [await store.claimRecent(box.id, 5), await node2.claimRecent(box.id, 7), await store.claimRecent(box.id, 7)];
        const owned = claims.flatMap((c) => (c ? Array.from({ length: c.to - c.from }, (_, k) => c.from + k) : []));
        assert.deepEqual(
          owned.sort((a, b) => a - b),
          [3, 4, 5, 6],
          'every UID claimed once',
        );
      } finally {
        await other.close();
      }
      assert.equal(await store.unclaimedRecent(box.id, (await store.getMailboxById(account, box.id))!.firstRecentUid), 0);
    });

    it('records when a message was saved into each mailbox: append, copy and move each set their own (RFC 8514)', async () => {
      let now = Date.parse('2026-03-01T10:00:00Z');
      const clocked = new MailStore(db, blobs, mimeParser, () => now);
      const a = await clocked.createMailbox(account, 'Saved/A');
      const b = await clocked.createMailbox(account, 'Saved/B');
      const first = await clocked.append(account, a.id, message({ subject: 's1', id: 's1@example.test' }), { receivedAt: 0 });
      assert.deepEqual([...(await store.savedDates(a.id, [first.uid]))], [[first.uid, now]]);
      now += 86_400_000;
      const copied = await clocked.copy(account, a.id, [first.uid], b.id);
      assert.deepEqual([...(await store.savedDates(b.id, [copied.pairs[0]![1]]))], [[copied.pairs[0]![1], now]]);
      now += 86_400_000;
      const moved = await clocked.move(account, a.id, [first.uid], b.id);
      assert.deepEqual([...(await store.savedDates(b.id, [moved.pairs[0]![1]]))], [[moved.pairs[0]![1], now]]);
    });

    it('renaming INBOX moves its messages and keeps INBOX', async () => {
      await store.deliver(account, message({ subject: 'Keep me', id: 'm4@example.test' }));
      const count = (await store.listEntries(inbox)).length;
      await store.renameMailbox(account, 'INBOX', 'Old Inbox');
      assert.equal((await store.listEntries(inbox)).length, 0);
      const old = (await store.getMailbox(account, 'Old Inbox'))!;
      assert.equal((await store.listEntries(old.id)).length, count);
    });

    it('finds text in headers and bodies, case-insensitively', async () => {
      const hits = await store.textMatches(account, 'QUARTERLY', 'body');
      assert.equal(hits.size, 1);
      assert.equal((await store.textMatches(account, 'quarterly', 'headers')).size, 0);
      assert.equal((await store.textMatches(account, 'keep me', 'headers')).size, 1);
      assert.equal((await store.textMatches(account, '100%_', 'both')).size, 0, 'wildcards are literal');
    });

    it('reports JMAP changes with created+destroyed collapsed and maxChanges honoured', async () => {
      const s0 = await store.typeState(account, 'Email');
      const tmp = await store.deliver(account, message({ subject: 'Temp', id: 'm5@example.test' }));
      await store.destroyMessages(account, [tmp.messageId]);
      const kept = await store.deliver(account, message({ subject: 'Kept', id: 'm6@example.test' }));
      await store.setKeywords(account, kept.messageId, ['$seen']);
      const c = await store.changesSince(account, 'Email', s0);
      assert.deepEqual(c.created, [kept.messageId]);
      assert.deepEqual(c.destroyed, []);
      assert.equal(c.newState, await store.typeState(account, 'Email'));
      const paged = await store.changesSince(account, 'Email', s0, 1);
      assert.equal(paged.hasMoreChanges, true);
      const archive = (await store.mailboxByRole(account, 'archive'))!.id;
      await store.setMailboxes(account, kept.messageId, [inbox, archive]);
      const ids = await store.mailboxIdsOf([kept.messageId]);
      assert.deepEqual(ids.get(kept.messageId)!.sort(), [inbox, archive].sort());
      await assert.rejects(store.setMailboxes(account, kept.messageId, []), (e) => isFingerpostError(e, 'invalid_argument'));
    });
  });
}
