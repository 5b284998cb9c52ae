// IMAP with imapflow (npm), a client nobody here wrote: OAUTHBEARER with a token from
// `fingerpost admin token issue`, PLAIN, an app password; append, fetch, search, flags, move,
// IDLE notifications between two sessions, and CONDSTORE / QRESYNC resynchronisation.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { issueToken } from '../helpers/idp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-password-1';

function message(subject: string, body = 'Hello there.', extra: string[] = []): string {
  return [
    'From: Bob Example <bob@example.test>',
    `To: Alice <${ALICE}>`,
    `Subject: ${subject}`,
    'Date: Mon, 02 Nov 2026 09:00:00 +0000',
    `Message-ID: <${subject.replace(/\W+/g, '-')}@example.test>`,
    ...extra,
    '',
    body,
    '',
  ].join('\r\n');
}

const multipart = [
  'From: Carol <carol@example.test>',
  `To: ${ALICE}`,
  'Subject: =?UTF-8?Q?Rechnung_f=C3=BCr_M=C3=A4rz?=',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Die Rechnung f=C3=BCr M=C3=A4rz, mit Kiwi-Smoothie.',
  '--b1',
  'Content-Type: application/octet-stream; name="data.bin"',
  'Content-Disposition: attachment; filename="data.bin"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from([0, 1, 2, 3, 255, 0, 7]).toString('base64'),
  '--b1--',
  '',
].join('\r\n');

describe('IMAP with imapflow', () => {
  let t: TestServer;
  const clients: ImapFlow[] = [];

  const connect = async (auth: ImapFlowOptions['auth'], extra: Partial<ImapFlowOptions> = {}): Promise<ImapFlow> => {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: t.ports.imaps,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth,
      logger: false,
      ...extra,
    });
    c.on('error', () => {});
    await c.connect();
    clients.push(c);
    return c;
  };

  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
  });
  after(async () => {
    for (const c of clients) await c.logout().catch(() => c.close());
    await t.close();
  });

  test('OAUTHBEARER with a token from `fingerpost admin token issue`', async () => {
    const accessToken = await issueToken(t, ALICE, { resource: 'imap://localhost' });
    // OAUTHBEARER carries host=; it must name this server (RFC 7628 §3.2), so connect by name.
    const c = await connect({ user: ALICE, accessToken }, { host: 'localhost' });
    assert.ok(c.authenticated);
    assert.ok(c.capabilities.has('IDLE'));
    const boxes = await c.list();
    const byUse = Object.fromEntries(boxes.map((b) => [b.specialUse ?? b.path, b.path]));
    assert.equal(byUse['\\Inbox'], 'INBOX');
    assert.equal(byUse['\\Sent'], 'Sent');
    assert.equal(byUse['\\Trash'], 'Trash');
    await c.logout();
  });

  test('a token for another audience is refused', async () => {
    const accessToken = await issueToken(t, ALICE, { resource: 'pop3://localhost' });
    await assert.rejects(
      connect({ user: ALICE, accessToken }, { host: 'localhost' }),
      (err: Error & { authenticationFailed?: boolean }) => {
        return err.authenticationFailed === true || /auth/i.test(err.message);
      },
    );
  });

  test('PLAIN and an app password', async () => {
    const plain = await connect({ user: ALICE, pass: PASSWORD, loginMethod: 'AUTH=PLAIN' });
    assert.ok(plain.authenticated);
    await plain.logout();
    const { secret } = await t.services.accounts.createAppPassword({ address: ALICE, name: 'phone', protocols: ['imap'], expiresAt: null });
    const app = await connect({ user: ALICE, pass: secret });
    assert.ok(app.authenticated);
    await app.logout();
    await assert.rejects(connect({ user: ALICE, pass: 'wrong password' }));
  });

  test('append, fetch (envelope, structure, parts, binary), search, flags, move', async () => {
    const c = await connect({ user: ALICE, pass: PASSWORD });
    await c.mailboxCreate('Work/Projects');
    const appended = await c.append('INBOX', message('First note'), ['\\Seen']);
    assert.ok(appended && (appended.uid ?? 0) > 0);
    await c.append('INBOX', multipart, ['$Label1']);
    await c.append('INBOX', message('Kiwi news', 'A plain body about kiwis.'));
    const lock = await c.getMailboxLock('INBOX');
    try {
      const all = [];
      for await (const m of c.fetch('1:*', { uid: true, flags: true, envelope: true, bodyStructure: true, size: true, internalDate: true }))
        all.push(m);
      assert.equal(all.length, 3);
      assert.equal(all[0]!.envelope!.subject, 'First note');
      assert.equal(all[0]!.envelope!.from![0]!.address, 'bob@example.test');
      assert.deepEqual([...all[0]!.flags!], ['\\Seen']);
      assert.equal(all[1]!.envelope!.subject, 'Rechnung für März');
      // Keywords keep the spelling the client wrote (RFC 9051 §2.3.2; compared case-insensitively).
      assert.deepEqual([...all[1]!.flags!], ['$Label1']);
      assert.equal(all[1]!.bodyStructure!.type, 'multipart/mixed');
      assert.equal(all[1]!.bodyStructure!.childNodes![1]!.disposition, 'attachment');
      assert.equal(all[1]!.size, Buffer.byteLength(multipart));

      const src = await c.fetchOne(String(all[0]!.seq), { source: true });
      assert.equal(src && src.source!.toString(), message('First note'));
      // A part, decoded by the server (BINARY) and by imapflow (BODY + transfer decoding).
      const bin = await c.download(String(all[1]!.uid), '2', { uid: true });
      const chunks: Buffer[] = [];
      for await (const chunk of bin.content!) chunks.push(chunk as Buffer);
      assert.deepEqual([...Buffer.concat(chunks)], [0, 1, 2, 3, 255, 0, 7]);
      const text = await c.download(String(all[1]!.uid), '1', { uid: true });
      let body = '';
      for await (const chunk of text.content!) body += chunk.toString();
      assert.match(body, /Rechnung für März/);

      assert.deepEqual(await c.search({ body: 'kiwi' }), [2, 3]);
      assert.deepEqual(await c.search({ subject: 'kiwi' }), [3]);
      assert.deepEqual(await c.search({ seen: false }), [2, 3]);
      assert.deepEqual(await c.search({ from: 'carol' }), [2]);
      assert.deepEqual(await c.search({ keyword: '$label1' }), [2]);
      assert.deepEqual(await c.search({ larger: 400 }), [2]);
      assert.deepEqual(await c.search({ uid: `${all[2]!.uid}` }, { uid: true }), [all[2]!.uid]);

      assert.ok(await c.messageFlagsAdd('3', ['\\Flagged', '$Important']));
      await c.messageFlagsRemove('1', ['\\Seen']);
      const flags = await c.fetchOne('1:3', { flags: true });
      assert.ok(flags);
      const after = [];
      for await (const m of c.fetch('1:3', { flags: true })) after.push([...m.flags!].sort());
      assert.deepEqual(after, [[], ['$Label1'], ['$Important', '\\Flagged']]);

      const moved = await c.messageMove('2', 'Work/Projects');
      assert.ok(moved !== false && moved.uidMap?.size === 1);
      assert.ok(c.mailbox !== false);
      assert.equal(c.mailbox.exists, 2);
    } finally {
      lock.release();
    }
    const status = await c.status('Work/Projects', { messages: true, unseen: true, uidNext: true });
    assert.ok(status);
    assert.equal(status.messages, 1);
    assert.equal(status.unseen, 1);
    await c.logout();
  });

  test('IDLE: a second session sees new mail, flag changes and expunges as they happen', async () => {
    // imapflow enters IDLE by itself once it has been quiet for autoIdleDelay.
    const watcher = await connect({ user: ALICE, pass: PASSWORD }, { autoIdleDelay: 100 } as Partial<ImapFlowOptions>);
    const actor = await connect({ user: ALICE, pass: PASSWORD });
    await watcher.mailboxOpen('INBOX');
    const before = watcher.mailbox ? watcher.mailbox.exists : 0;
    const exists = once(watcher, 'exists');
    await actor.append('INBOX', message('Pushed while idling'));
    const [info] = (await exists) as [{ count: number; prevCount: number }];
    assert.equal(info.count, before + 1);

    await actor.mailboxOpen('INBOX');
    const flagsEvent = once(watcher, 'flags');
    await actor.messageFlagsAdd(String(info.count), ['\\Seen']);
    const [f] = (await flagsEvent) as [{ seq: number; flags: Set<string> }];
    assert.equal(f.seq, info.count);
    assert.ok(f.flags.has('\\Seen'));

    const expunge = once(watcher, 'expunge');
    await actor.messageDelete(String(info.count));
    const [e] = (await expunge) as [{ seq?: number; uid?: number }];
    assert.ok(e.seq === info.count || typeof e.uid === 'number');
    await watcher.logout();
    await actor.logout();
  });

  test('CONDSTORE: CHANGEDSINCE returns only what changed; QRESYNC resynchronises flags and vanished UIDs', async () => {
    const a = await connect({ user: ALICE, pass: PASSWORD }, { qresync: true });
    await a.mailboxCreate('Sync');
    for (const s of ['one', 'two', 'three', 'four']) await a.append('Sync', message(`sync ${s}`));
    const opened = await a.mailboxOpen('Sync');
    const uidValidity = opened.uidValidity;
    const modseq = opened.highestModseq!;
    assert.ok(typeof modseq === 'bigint' && modseq > 0n);
    const uids: number[] = [];
    for await (const m of a.fetch('1:*', { uid: true })) uids.push(m.uid);
    await a.logout();

    // Another session changes the mailbox while the first is away.
    const b = await connect({ user: ALICE, pass: PASSWORD });
    await b.mailboxOpen('Sync');
    await b.messageFlagsAdd({ uid: `${uids[1]}` }, ['\\Flagged'], { uid: true });
    await b.messageDelete({ uid: `${uids[3]}` }, { uid: true });
    const changed = [];
    for await (const m of b.fetch('1:*', { uid: true, flags: true }, { changedSince: modseq })) changed.push(m.uid);
    assert.deepEqual(changed, [uids[1]]);
    await b.logout();

    const c = await connect({ user: ALICE, pass: PASSWORD }, { qresync: true });
    const vanished: number[] = [];
    const flagged: number[] = [];
    c.on('expunge', (e: { uid?: number; vanished?: boolean }) => {
      if (e.uid) vanished.push(e.uid);
    });
    c.on('flags', (f: { uid?: number }) => {
      if (f.uid) flagged.push(f.uid);
    });
    const reopened = await c.mailboxOpen('Sync', { uidValidity, changedSince: modseq } as never);
    assert.ok(reopened.highestModseq! > modseq);
    assert.deepEqual(vanished, [uids[3]]);
    assert.deepEqual(flagged, [uids[1]]);
    await c.logout();
  });

  test('keywords keep their spelling and a new one reaches PERMANENTFLAGS; with QRESYNC flag updates carry UIDs; MOVE within the mailbox', async () => {
    const a = await connect({ user: ALICE, pass: PASSWORD }, { qresync: true });
    const b = await connect({ user: ALICE, pass: PASSWORD });
    await a.mailboxCreate('Kw');
    for (const s of ['one', 'two']) await a.append('Kw', message(`kw ${s}`));
    await a.mailboxOpen('Kw');
    await b.mailboxOpen('Kw');
    const updates: Array<{ seq: number; uid?: number; flags: Set<string> }> = [];
    a.on('flags', (f: { seq: number; uid?: number; flags: Set<string> }) => updates.push(f));
    await b.messageFlagsAdd('1', ['$Forwarded', 'Project-X']);
    await a.noop();
    assert.equal(updates.length, 1);
    assert.equal(updates[0]!.uid, 1, 'QRESYNC: the unsolicited FETCH names the UID');
    assert.deepEqual([...updates[0]!.flags].sort(), ['$Forwarded', 'Project-X']);
    // A plain (sequence-number) STORE by the QRESYNC session is answered with UIDs too.
    await a.messageFlagsAdd('2', ['project-x']);
    const flags = [];
    for await (const m of a.fetch('1:2', { uid: true, flags: true })) flags.push([m.uid, [...m.flags!].sort()]);
    assert.deepEqual(flags, [
      [1, ['$Forwarded', 'Project-X']],
      [2, ['Project-X']],
    ]);
    const reopened = await b.mailboxOpen('Kw');
    assert.ok(reopened.permanentFlags?.has('$Forwarded') && reopened.flags.has('Project-X'));
    const moved = await a.messageMove({ uid: '1' }, 'Kw', { uid: true });
    assert.ok(moved !== false);
    assert.equal(moved.uidMap?.get(1), 3);
    assert.deepEqual(await a.search({ all: true }, { uid: true }), [2, 3]);
    await a.logout();
    await b.logout();
  });

  test('OBJECTID: imapflow reads MAILBOXID from CREATE and SELECT, and EMAILID/THREADID from FETCH', async () => {
    const c = await connect({ user: ALICE, pass: PASSWORD });
    const created = await c.mailboxCreate('Oid');
    assert.match(String(created.mailboxId), /^M\d+$/);
    await c.append('Oid', message('object id'));
    const opened = await c.mailboxOpen('Oid');
    assert.equal(opened.mailboxId, created.mailboxId);
    const m = await c.fetchOne('1', { emailId: true, threadId: true });
    assert.ok(m);
    assert.match(String(m.emailId), /^E\d+$/);
    assert.match(String(m.threadId), /^T\d+$/);
    assert.deepEqual(await c.search({ emailId: m.emailId } as never), [1]);
    await c.logout();
  });
});
