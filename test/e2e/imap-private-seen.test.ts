// Per-user \Seen on a shared mailbox (RFC 4314 §4 "s") with imapflow: alice shares Team
// with bob; bob's reading and his \Seen STOREs are his own — FETCH FLAGS, SEARCH SEEN/UNSEEN,
// STATUS UNSEEN and CONDSTORE MODSEQ follow them for bob, his other (IDLE) session hears of
// them, and alice's \Seen, counts and sessions are untouched; keywords stay shared.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { type FlagsEvent, ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASSWORD = 'private seen password';
const TEAM = `Other Users/${ALICE}/Team`;

function message(subject: string): string {
  return `From: ${ALICE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@seen.test>\r\n\r\nbody of ${subject}\r\n`;
}

describe('per-user \\Seen on a shared mailbox, with imapflow', () => {
  let t: TestServer;
  const clients: ImapFlow[] = [];

  async function connect(user: string): Promise<ImapFlow> {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: t.ports.imaps,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user, pass: PASSWORD },
      logger: process.env['DEBUG_IMAP'] ? console : false,
    });
    await c.connect();
    clients.push(c);
    return c;
  }

  async function unseen(c: ImapFlow, path: string): Promise<number | undefined> {
    const status = await c.status(path, { unseen: true });
    return status ? status.unseen : undefined;
  }

  before(async () => {
    t = await startTestServer();
    for (const address of [ALICE, BOB]) await t.services.accounts.addUser({ address, password: PASSWORD });
    // SETACL over the wire (imapflow has no ACL commands).
    const raw = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
    await raw.line();
    raw.write(
      `a LOGIN ${ALICE} "${PASSWORD}"\r\nb CREATE Team\r\nc SETACL Team ${BOB} lrswt\r\nd CREATE Team2\r\ne SETACL Team2 ${BOB} lrswi\r\n`,
    );
    assert.match((await raw.until(/^e (OK|NO|BAD)/)).at(-1)!, /^e OK/);
    raw.socket.destroy();
    const alice = await connect(ALICE);
    for (const n of [1, 2, 3]) await alice.append('Team', message(`m${n}`), n === 3 ? ['\\Seen'] : []);
    await alice.logout();
  });
  after(async () => {
    for (const c of clients) c.close();
    await t.close();
  });

  it('bob reads and sets his own \\Seen; alice keeps hers; keywords are shared', async () => {
    const alice = await connect(ALICE);
    const bob = await connect(BOB);
    const bobIdle = await connect(BOB);
    assert.equal(await unseen(bob, TEAM), 3, "alice's \\Seen on m3 is not bob's");
    assert.equal(await unseen(alice, 'Team'), 2);

    await alice.mailboxOpen('Team');
    const aliceFlags: FlagsEvent[] = [];
    alice.on('flags', (e) => aliceFlags.push(e));
    await bobIdle.mailboxOpen(TEAM);
    await bob.mailboxOpen(TEAM);

    const before = await bob.fetchAll('1:*', { flags: true, uid: true });
    assert.deepEqual(
      before.map((m) => [...m.flags!].filter((f) => f !== '\\Recent')),
      [[], [], []],
    );
    const modseqBefore = before.reduce((m, x) => (x.modseq! > m ? x.modseq! : m), 0n);

    // bob's other session is in IDLE and hears of his change (RFC 2177), as a FETCH with \Seen.
    const heard = once(bobIdle, 'flags') as Promise<[FlagsEvent]>;
    const idling = bobIdle.idle();
    assert.equal(await bob.messageFlagsAdd('1', ['\\Seen', '$Work']), true);
    const [event] = await heard;
    assert.equal(event.seq, 1);
    assert.ok(event.flags.has('\\Seen') && event.flags.has('$Work'), [...event.flags].join(' '));
    await bobIdle.noop();
    await idling;

    // His SEARCH, FETCH, STATUS and CONDSTORE state follow his own \Seen.
    assert.deepEqual(await bob.search({ seen: true }), [1]);
    assert.deepEqual(await bob.search({ seen: false }), [2, 3]);
    const [m1] = await bob.fetchAll('1', { flags: true });
    assert.ok(m1!.flags!.has('\\Seen'));
    assert.ok(m1!.modseq! > modseqBefore, 'his \\Seen raised the MODSEQ (RFC 7162 §3.1.1)');
    const changed = await bob.fetchAll('1:*', { flags: true }, { changedSince: modseqBefore });
    assert.deepEqual(
      changed.map((m) => m.seq),
      [1],
    );
    assert.equal(await unseen(bob, TEAM), 2);

    // A FLAGS replacement by bob changes his \Seen, never alice's.
    assert.equal(await bob.messageFlagsSet('3', ['\\Answered', '\\Seen']), true);
    assert.deepEqual(await bob.search({ seen: false }), [2]);

    // alice: the shared keyword and \Answered arrive, bob's \Seen does not.
    await alice.noop();
    assert.ok(
      aliceFlags.every((e) => !(e.seq === 1 && e.flags.has('\\Seen'))),
      JSON.stringify(aliceFlags.map((e) => [e.seq, [...e.flags]])),
    );
    const mine = await alice.fetchAll('1:*', { flags: true });
    assert.deepEqual(
      mine.map((m) => [...m.flags!].filter((f) => f !== '\\Recent').sort()),
      [['$Work'], [], ['\\Answered', '\\Seen']],
    );
    assert.deepEqual(await alice.search({ seen: false }), [1, 2]);
    await alice.mailboxClose();
    assert.equal(await unseen(alice, 'Team'), 2);

    // A body fetch by bob (not PEEK) sets his \Seen only (RFC 9051 §6.4.5).
    const raw = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
    await raw.line();
    raw.write(`a LOGIN ${BOB} "${PASSWORD}"\r\nb SELECT "${TEAM}"\r\nc FETCH 2 BODY[TEXT]\r\n`);
    const fetched = await raw.until(/^c (OK|NO|BAD)/);
    assert.match(fetched.join('\n'), /FLAGS \([^)]*\\Seen/);
    raw.socket.destroy();
    assert.equal(await unseen(bob, TEAM), 0);
    assert.equal(await unseen(alice, 'Team'), 2);

    // bob's COPY within alice's account: the copy carries his \Seen for him and hers for her.
    assert.ok(await bob.messageCopy('1', `Other Users/${ALICE}/Team2`));
    assert.equal(await unseen(bob, `Other Users/${ALICE}/Team2`), 0);
    assert.equal(await unseen(alice, 'Team2'), 1);
    // APPEND with \Seen by bob: read for him, unread for alice.
    assert.ok(await bob.append(`Other Users/${ALICE}/Team2`, message('from bob'), ['\\Seen']));
    assert.equal(await unseen(bob, `Other Users/${ALICE}/Team2`), 0);
    assert.equal(await unseen(alice, 'Team2'), 2);
  });
});
