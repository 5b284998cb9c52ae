// NOTIFY (RFC 5465): after NOTIFY SET a session hears, without asking, of messages arriving in
// and leaving other mailboxes (STATUS), of flag changes with FlagChange, of mailboxes created,
// renamed and deleted (LIST, OLDNAME) and of subscriptions; the selected mailbox's EXISTS, FETCH
// (with MessageNew's fetch attributes) and EXPUNGE are pushed (SELECTED-DELAYED holds expunges for
// a command). Bad input is BAD or NO [BADEVENT]. By hand, with Python imaplib, and on two nodes
// of one PostgreSQL, where the events cross through the store.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { commandSkip, peerSkip, pgAvailable } from '../helpers/peers.ts';
import { tempPgDatabase } from '../helpers/pg.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-password-1';
const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

async function cmd(c: LineClient, tag: string, text: string): Promise<string[]> {
  c.write(`${tag} ${text}\r\n`);
  return c.until(new RegExp(`^${tag} (OK|NO|BAD)`));
}

const MESSAGE = Buffer.from('From: bob@example.test\r\nSubject: hello\r\n\r\nhi\r\n');

async function signIn(t: TestServer): Promise<LineClient> {
  const c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
  await c.line();
  await cmd(c, 'l', `LOGIN ${ALICE} ${PASSWORD}`);
  return c;
}

describe('IMAP NOTIFY', () => {
  let t: TestServer;
  let a: LineClient;
  let b: LineClient;
  let accountId: number;
  let work: number;
  let inbox: number;

  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    const { account } = await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    accountId = account.id;
    work = (await t.services.mail.createMailbox(account.id, 'Work')).id;
    inbox = (await t.services.mail.getMailbox(account.id, 'INBOX'))!.id;
    a = await signIn(t);
    b = await signIn(t);
  });
  after(async () => {
    a.close();
    b.close();
    await t.close();
  });

  test('CAPABILITY offers NOTIFY', async () => {
    assert.ok((await cmd(a, 'c', 'CAPABILITY'))[0]!.split(' ').includes('NOTIFY'));
  });

  test('SET STATUS: the mailboxes at once, then a delivery and an expunge elsewhere as STATUS, unasked', async () => {
    const r = await cmd(a, 'n1', 'NOTIFY SET STATUS (PERSONAL (MessageNew MessageExpunge))');
    assert.ok(r.includes('* STATUS Work (MESSAGES 0 UIDNEXT 1 UNSEEN 0)'), r.join('\n'));
    assert.ok(r.includes('* STATUS INBOX (MESSAGES 0 UIDNEXT 1 UNSEEN 0)'));
    assert.equal(r.at(-1), 'n1 OK NOTIFY completed');
    await t.services.mail.append(accountId, work, MESSAGE);
    assert.equal(await a.line(), '* STATUS Work (MESSAGES 1 UIDNEXT 2 UNSEEN 1)');
    // A flag change is not a message event without FlagChange; the next event shows only the delivery.
    await cmd(b, 'b1', 'SELECT Work');
    await cmd(b, 'b2', 'STORE 1 +FLAGS (\\Seen)');
    await t.services.mail.append(accountId, work, MESSAGE);
    assert.equal(await a.line(), '* STATUS Work (MESSAGES 2 UIDNEXT 3 UNSEEN 1)');
    await cmd(b, 'b3', 'STORE 1 +FLAGS (\\Deleted)');
    await cmd(b, 'b4', 'EXPUNGE');
    assert.equal(await a.line(), '* STATUS Work (MESSAGES 1 UIDNEXT 3 UNSEEN 1)');
  });

  test('FlagChange: a flag change elsewhere is a STATUS too', async () => {
    await cmd(a, 'n2', 'NOTIFY SET (MAILBOXES Work (MessageNew MessageExpunge FlagChange))');
    await cmd(b, 'b5', 'STORE 1 +FLAGS (\\Seen)');
    assert.equal(await a.line(), '* STATUS Work (MESSAGES 1 UIDNEXT 3 UNSEEN 0)');
    // INBOX is not in the filter: nothing about it.
    await t.services.mail.append(accountId, inbox, MESSAGE);
    await cmd(b, 'b6', 'STORE 1 -FLAGS (\\Seen)');
    assert.equal(await a.line(), '* STATUS Work (MESSAGES 1 UIDNEXT 3 UNSEEN 1)');
  });

  test('MailboxName and SubscriptionChange: LIST for created, renamed (OLDNAME), deleted and (un)subscribed', async () => {
    await cmd(a, 'n3', 'NOTIFY SET (PERSONAL (MailboxName SubscriptionChange))');
    await cmd(b, 'b7', 'CREATE Projects');
    assert.equal(await a.line(), '* LIST () "/" Projects');
    await cmd(b, 'b8', 'RENAME Projects Plans');
    assert.equal(await a.line(), '* LIST () "/" Plans ("OLDNAME" (Projects))');
    await cmd(b, 'b9', 'SUBSCRIBE Plans');
    assert.equal(await a.line(), '* LIST (\\Subscribed) "/" Plans');
    await cmd(b, 'b10', 'UNSUBSCRIBE Plans');
    assert.equal(await a.line(), '* LIST () "/" Plans');
    await cmd(b, 'b11', 'DELETE Plans');
    assert.equal(await a.line(), '* LIST (\\NonExistent) "/" Plans');
  });

  test('SELECTED: EXISTS with the fetch attributes and EXPUNGE pushed; no STATUS for the selected mailbox', async () => {
    await cmd(a, 's1', 'SELECT Work');
    await cmd(a, 'n4', 'NOTIFY SET (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (PERSONAL (MessageNew MessageExpunge))');
    await t.services.mail.append(accountId, work, MESSAGE, { keywords: ['$work'] });
    // The new keyword is announced first (RFC 9051 §7.3.5); this IMAP4rev1 session owns it as \\Recent.
    assert.deepEqual(await a.until(/FETCH/), [
      '* FLAGS (\\Seen \\Answered \\Flagged \\Draft \\Deleted $work)',
      '* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Draft \\Deleted $work \\*)] Flags permitted',
      '* 2 EXISTS',
      '* 1 RECENT',
      '* 2 FETCH (UID 3 FLAGS (\\Recent $work))',
    ]);
    await cmd(b, 'b12', 'STORE 1 +FLAGS (\\Deleted)');
    assert.equal(await a.line(), '* 1 FETCH (UID 2 FLAGS (\\Deleted))');
    await cmd(b, 'b13', 'EXPUNGE');
    assert.equal(await a.line(), '* 1 EXPUNGE');
    // Another mailbox still reports by STATUS.
    await t.services.mail.append(accountId, inbox, MESSAGE);
    assert.equal(await a.line(), '* STATUS INBOX (MESSAGES 2 UIDNEXT 3 UNSEEN 2)');
  });

  test('SELECTED-DELAYED: an expunge waits for a command that may carry it', async () => {
    await cmd(a, 'n5', 'NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge)) (PERSONAL (MailboxName))');
    await cmd(b, 'b14', 'STORE 1 +FLAGS (\\Deleted)');
    await cmd(b, 'b15', 'EXPUNGE');
    // A later event shows the expunge was not pushed before it.
    await cmd(b, 'b16', 'CREATE Later');
    const pushed = await a.until(/^\* LIST /);
    assert.ok(!pushed.some((l) => l.includes('EXPUNGE')), pushed.join('\n'));
    assert.ok((await cmd(a, 'z1', 'NOOP')).includes('* 1 EXPUNGE'));
  });

  test('bad input: BAD for the rules RFC 5465 sets, NO [BADEVENT] for an event not reported; NONE stops it', async () => {
    for (const [tag, text] of [
      ['e1', 'NOTIFY SET (PERSONAL (MessageNew))'],
      ['e2', 'NOTIFY SET (PERSONAL (MessageExpunge))'],
      ['e3', 'NOTIFY SET (PERSONAL (FlagChange))'],
      ['e4', 'NOTIFY SET (PERSONAL (MessageNew (FLAGS) MessageExpunge))'],
      ['e5', 'NOTIFY SET (NOWHERE (MessageNew MessageExpunge))'],
      ['e6', 'NOTIFY BOGUS'],
      ['e7', 'NOTIFY SET'],
      ['e8', 'NOTIFY SET (MAILBOXES (MessageNew MessageExpunge))'],
    ] as const)
      assert.match((await cmd(a, tag, text)).at(-1)!, new RegExp(`^${tag} BAD `), text);
    assert.equal(
      (await cmd(a, 'e9', 'NOTIFY SET (PERSONAL (AnnotationChange))')).at(-1),
      'e9 NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)] Event not supported',
    );
    assert.equal((await cmd(a, 'e10', 'NOTIFY NONE')).at(-1), 'e10 OK NOTIFY completed');
    await cmd(b, 'b17', 'CREATE Quiet');
    await t.services.mail.append(accountId, inbox, MESSAGE);
    const lines = await cmd(a, 'z2', 'NOOP');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('* LIST') || l.startsWith('* STATUS')),
      [],
    );
  });

  test('MailboxMetadataChange and ServerMetadataChange: another session’s SETMETADATA goes out as METADATA naming the entries (RFC 5465 §5.9, §5.10)', async () => {
    const caps = (await cmd(a, 'm0', 'CAPABILITY'))[0]!.split(' ');
    assert.ok(caps.includes('METADATA') && caps.includes('NOTIFY'));
    assert.equal(
      (await cmd(a, 'm1', 'NOTIFY SET (MAILBOXES Work (MailboxMetadataChange)) (PERSONAL (ServerMetadataChange))')).at(-1),
      'm1 OK NOTIFY completed',
    );
    const highest = async (tag: string) => Number(/HIGHESTMODSEQ (\d+)/.exec((await cmd(b, tag, 'STATUS Work (HIGHESTMODSEQ)'))[0]!)![1]);
    const before = await highest('b19');
    assert.match((await cmd(b, 'b20', 'SETMETADATA Work (/private/comment "work things" /shared/colour "blue")')).at(-1)!, /^b20 OK/);
    assert.deepEqual(await a.until(/^\* METADATA /), ['* METADATA Work /private/comment /shared/colour']);
    // A mailbox annotation changed is a change of the mailbox for QRESYNC (RFC 7162 §3.2).
    assert.ok((await highest('b19b')) > before);
    assert.match((await cmd(b, 'b21', 'SETMETADATA "" (/private/vendor/x "1")')).at(-1)!, /^b21 OK/);
    assert.deepEqual(await a.until(/^\* METADATA /), ['* METADATA "" /private/vendor/x']);
    // Removing an entry is a change too; INBOX is outside the MAILBOXES filter, so it is not told.
    assert.match((await cmd(b, 'b22', 'SETMETADATA INBOX (/private/comment "inbox")')).at(-1)!, /^b22 OK/);
    assert.match((await cmd(b, 'b23', 'SETMETADATA Work (/shared/colour NIL)')).at(-1)!, /^b23 OK/);
    assert.deepEqual(await a.until(/^\* METADATA /), ['* METADATA Work /shared/colour']);
    // This session's own change is reported like any other.
    const own = await cmd(a, 'm2', 'SETMETADATA Work (/private/comment NIL)');
    const noop = own.some((l) => l === '* METADATA Work /private/comment') ? own : [...own, ...(await cmd(a, 'm3', 'NOOP'))];
    assert.ok(noop.includes('* METADATA Work /private/comment'), noop.join('\n'));
    assert.ok(!noop.some((l) => l.startsWith('* METADATA INBOX')));
    assert.equal((await cmd(a, 'm4', 'NOTIFY NONE')).at(-1), 'm4 OK NOTIFY completed');
  });

  test('Python imaplib: NOTIFY SET STATUS, then another connection’s APPEND seen at the next NOOP', {
    skip: commandSkip('python3', 'python3'),
  }, async () => {
    const script = `
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile=os.environ['CA'])
def connect():
    m = imaplib.IMAP4_SSL('localhost', int(os.environ['PORT']), ssl_context=ctx)
    m.login(os.environ['USER_NAME'], os.environ['PASSWORD'])
    return m
m, other = connect(), connect()
print('notify', m.xatom('NOTIFY', 'SET STATUS (MAILBOXES Work (MessageNew MessageExpunge))')[0])
print('initial', m.response('STATUS')[1][0].decode())
other.append('Work', None, None, b'Subject: from python\\r\\n\\r\\nhi\\r\\n')
m.noop()
print('after', m.response('STATUS')[1][-1].decode())
m.logout(); other.logout()
`;
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn('python3', ['-c', script], {
        env: { ...process.env, CA: t.caFile, PORT: String(t.ports.imaps), USER_NAME: ALICE, PASSWORD },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out, err }));
    });
    assert.equal(r.code, 0, r.err);
    const [notify, initial, afterLine] = r.out.trim().split('\n');
    assert.equal(notify, 'notify OK');
    const count = Number(/MESSAGES (\d+)/.exec(initial!)![1]);
    assert.match(initial!, /^initial Work \(MESSAGES \d+ UIDNEXT \d+ UNSEEN \d+\)$/);
    assert.match(afterLine!, new RegExp(`^after Work \\(MESSAGES ${count + 1} `));
  });
});

describe('IMAP NOTIFY on two nodes of one PostgreSQL', { skip: pgSkip }, () => {
  let n1: TestServer;
  let n2: TestServer;
  let drop = async () => {};

  before(async () => {
    const tmp = await tempPgDatabase();
    drop = tmp.drop;
    const overrides = { store: { url: tmp.url } };
    n1 = await startTestServer({ overrides });
    n2 = await startTestServer({ overrides });
    await n1.services.accounts.addUser({ address: ALICE, password: PASSWORD });
  });
  after(async () => {
    await n1?.close();
    await n2?.close();
    await drop();
  });

  test('a mailbox created and a message stored through node B reach a NOTIFY session on node A', async () => {
    const a = await signIn(n1);
    const b = await signIn(n2);
    try {
      await cmd(a, 'n', 'NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxName))');
      await cmd(b, 'c', 'CREATE Remote');
      assert.equal(await a.line(15_000), '* LIST () "/" Remote');
      const r = await cmd(b, 'a', 'APPEND Remote {4+}\r\nx\r\n\r\n');
      assert.match(r.at(-1)!, /^a OK/);
      assert.equal(await a.line(15_000), '* STATUS Remote (MESSAGES 1 UIDNEXT 2 UNSEEN 1)');
    } finally {
      a.close();
      b.close();
    }
  });
});
