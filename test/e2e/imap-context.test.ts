// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 §4): SEARCH/SORT RETURN (UPDATE) keeps a result live;
// changes made by another connection reach it as ESEARCH ADDTO/REMOVEFROM, REMOVEFROM comes before
// the EXPUNGE of a message in it, sorted results carry positions, PARTIAL (RFC 9394) combines with
// UPDATE, CANCELUPDATE stops a result, NOUPDATE refuses one too many. By hand and with Python imaplib.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-password-1';

async function cmd(c: LineClient, tag: string, text: string): Promise<string[]> {
  c.write(`${tag} ${text}\r\n`);
  return c.until(new RegExp(`^${tag} (OK|NO|BAD)`));
}

function message(day: number, subject: string): Buffer {
  return Buffer.from(
    [`From: bob@example.test`, `To: ${ALICE}`, `Date: ${day} Jan 2026 10:00:00 +0000`, `Subject: ${subject}`, '', 'body', ''].join('\r\n'),
  );
}

describe('IMAP CONTEXT=SEARCH and CONTEXT=SORT', () => {
  let t: TestServer;
  let a: LineClient;
  let b: LineClient;
  let accountId: number;
  let boxId: number;

  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    const { account } = await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    accountId = account.id;
    const box = await t.services.mail.createMailbox(account.id, 'Ctx');
    boxId = box.id;
    // Dates: UID 1 on the 5th, 2 on the 1st, 3 on the 3rd, 4 on the 2nd, 5 on the 4th.
    for (const [day, subject] of [
      [5, 'one'],
      [1, 'two'],
      [3, 'three'],
      [2, 'four'],
      [4, 'five'],
    ] as const)
      await t.services.mail.append(account.id, box.id, message(day, subject));
    a = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
    b = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
    for (const c of [a, b]) {
      await c.line();
      await cmd(c, 'l', `LOGIN ${ALICE} ${PASSWORD}`);
      await cmd(c, 's', 'SELECT Ctx');
    }
  });
  after(async () => {
    a.close();
    b.close();
    await t.close();
  });

  test('CAPABILITY offers CONTEXT=SEARCH and CONTEXT=SORT', async () => {
    const caps = (await cmd(a, 'c', 'CAPABILITY'))[0]!.split(' ');
    assert.ok(caps.includes('CONTEXT=SEARCH') && caps.includes('CONTEXT=SORT') && caps.includes('ESORT'));
  });

  test('UID SEARCH RETURN (UPDATE): another session’s STORE and a delivery become REMOVEFROM and ADDTO', async () => {
    assert.deepEqual(await cmd(a, 'u1', 'UID SEARCH RETURN (UPDATE) UNSEEN'), [
      '* ESEARCH (TAG "u1") UID ALL 1:5',
      'u1 OK UID SEARCH completed',
    ]);
    await cmd(b, 'b1', 'UID STORE 2 +FLAGS.SILENT (\\Seen)');
    const seen = await cmd(a, 'n1', 'NOOP');
    assert.ok(seen.includes('* ESEARCH (TAG "u1") UID REMOVEFROM (0 2)'), seen.join('\n'));
    await t.services.mail.append(accountId, boxId, message(6, 'six'));
    const arrived = await cmd(a, 'n2', 'NOOP');
    const exists = arrived.indexOf('* 6 EXISTS');
    const addto = arrived.indexOf('* ESEARCH (TAG "u1") UID ADDTO (0 6)');
    assert.ok(exists >= 0 && addto > exists, arrived.join('\n'));
    // A change that does not move a message in or out of the result says nothing about it.
    await cmd(b, 'b2', 'UID STORE 3 +FLAGS.SILENT ($Work)');
    assert.ok(!(await cmd(a, 'n3', 'NOOP')).some((l) => l.includes('"u1"')));
    // The session's own STORE updates its results too.
    const own = await cmd(a, 'o1', 'UID STORE 6 +FLAGS.SILENT (\\Seen)');
    assert.ok(own.includes('* ESEARCH (TAG "u1") UID REMOVEFROM (0 6)'), own.join('\n'));
    assert.deepEqual(await cmd(a, 'x1', 'CANCELUPDATE "u1"'), ['x1 OK CANCELUPDATE completed']);
    await cmd(b, 'b3', 'UID STORE 2,6 -FLAGS.SILENT (\\Seen)');
    assert.ok(!(await cmd(a, 'n4', 'NOOP')).some((l) => l.includes('ESEARCH')));
  });

  test('SORT RETURN (UPDATE): positions in the sorted result, by sequence number', async () => {
    // UNSEEN by DATE: 2 (1st), 4 (2nd), 3 (3rd), 5 (4th), 1 (5th), 6 (6th).
    assert.equal((await cmd(a, 's1', 'SORT RETURN (UPDATE) (DATE) UTF-8 UNSEEN'))[0], '* ESEARCH (TAG "s1") ALL 2,4,3,5,1,6');
    await cmd(b, 'b4', 'STORE 4 +FLAGS.SILENT (\\Seen)');
    assert.ok((await cmd(a, 'n5', 'NOOP')).includes('* ESEARCH (TAG "s1") REMOVEFROM (2 4)'));
    // Dated the 2nd at noon: after 2, before 3 (now second in the result).
    await t.services.mail.append(
      accountId,
      boxId,
      Buffer.from(`From: c@example.test\r\nDate: 2 Jan 2026 12:00:00 +0000\r\nSubject: seven\r\n\r\nx\r\n`),
    );
    const lines = await cmd(a, 'n6', 'NOOP');
    assert.ok(lines.includes('* 7 EXISTS') && lines.includes('* ESEARCH (TAG "s1") ADDTO (2 7)'), lines.join('\n'));
    // Two leave at once: each position counts what is left after the ones before.
    await cmd(b, 'b5', 'STORE 2,3 +FLAGS.SILENT (\\Seen)');
    assert.ok((await cmd(a, 'n7', 'NOOP')).includes('* ESEARCH (TAG "s1") REMOVEFROM (1 2 2 3)'));
    await cmd(a, 'x2', 'CANCELUPDATE "s1"');
  });

  test('an expunged message leaves the result before its EXPUNGE; PARTIAL combines with UPDATE', async () => {
    assert.equal((await cmd(a, 'p1', 'UID SEARCH RETURN (PARTIAL 1:2 UPDATE) ALL'))[0], '* ESEARCH (TAG "p1") UID PARTIAL (1:2 1:2)');
    await cmd(b, 'b6', 'UID STORE 5 +FLAGS.SILENT (\\Deleted)');
    await cmd(b, 'b7', 'EXPUNGE');
    const lines = await cmd(a, 'n8', 'NOOP');
    const removefrom = lines.indexOf('* ESEARCH (TAG "p1") UID REMOVEFROM (0 5)');
    const expunge = lines.indexOf('* 5 EXPUNGE');
    assert.ok(removefrom >= 0 && expunge > removefrom, lines.join('\n'));
    // The session's own EXPUNGE too.
    await cmd(a, 'd1', 'UID STORE 1 +FLAGS.SILENT (\\Deleted)');
    const own = await cmd(a, 'e1', 'EXPUNGE');
    const r = own.indexOf('* ESEARCH (TAG "p1") UID REMOVEFROM (0 1)');
    assert.ok(r >= 0 && own.indexOf('* 1 EXPUNGE') > r, own.join('\n'));
    await cmd(a, 'x3', 'CANCELUPDATE "p1"');
  });

  test('bad input: unknown or missing tags are BAD; one result too many is NOUPDATE; the session goes on', async () => {
    assert.match((await cmd(a, 'k1', 'CANCELUPDATE "nothing"')).at(-1)!, /^k1 BAD /);
    assert.match((await cmd(a, 'k2', 'CANCELUPDATE')).at(-1)!, /^k2 BAD /);
    assert.match((await cmd(a, 'k3', 'CANCELUPDATE nothing')).at(-1)!, /^k3 BAD /);
    assert.match((await cmd(a, 'k4', 'SEARCH RETURN (UPDATE BOGUS) ALL')).at(-1)!, /^k4 BAD /);
    for (let i = 0; i < 8; i++) assert.match((await cmd(a, `m${i}`, 'SEARCH RETURN (COUNT UPDATE) ALL')).at(-1)!, /OK SEARCH completed$/);
    assert.match((await cmd(a, 'm8', 'SEARCH RETURN (COUNT UPDATE) ALL')).at(-1)!, /^m8 OK \[NOUPDATE "m8"\]/);
    // CONTEXT is a hint and changes nothing in the answer.
    assert.equal((await cmd(a, 'h1', 'SEARCH RETURN (COUNT CONTEXT) ALL'))[0], '* ESEARCH (TAG "h1") COUNT 5');
    // A new selection ends every live result.
    await cmd(a, 'r1', 'SELECT Ctx');
    assert.match((await cmd(a, 'k5', 'CANCELUPDATE "m0"')).at(-1)!, /^k5 BAD /);
    assert.match((await cmd(a, 'z', 'NOOP')).at(-1)!, /^z OK/);
  });

  test('Python imaplib: a live UID SEARCH, its ADDTO after another connection’s change, CANCELUPDATE', {
    skip: commandSkip('python3', 'python3'),
  }, async () => {
    const script = `
import imaplib, os, re, ssl
ctx = ssl.create_default_context(cafile=os.environ['CA'])
def connect():
    m = imaplib.IMAP4_SSL('localhost', int(os.environ['PORT']), ssl_context=ctx)
    m.login(os.environ['USER_NAME'], os.environ['PASSWORD'])
    m.select('Ctx')
    return m
m, other = connect(), connect()
m.uid('SEARCH', 'RETURN', '(UPDATE)', 'FLAGGED')
first = m.response('ESEARCH')[1][0].decode()
tag = re.search(r'TAG "([^"]+)"', first).group(1)
print('first', re.sub(r'TAG "[^"]+"', 'TAG', first))
typ, data = other.uid('STORE', '3', '+FLAGS.SILENT', '(\\\\Flagged)')
m.noop()
print('update', re.sub(r'TAG "[^"]+"', 'TAG', m.response('ESEARCH')[1][0].decode()))
print('cancel', m.xatom('CANCELUPDATE', '"%s"' % tag)[0])
other.uid('STORE', '3', '-FLAGS.SILENT', '(\\\\Flagged)')
m.noop()
print('after', m.response('ESEARCH')[1])
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
    assert.deepEqual(r.out.trim().split('\n'), ['first (TAG) UID', 'update (TAG) UID ADDTO (0 3)', 'cancel OK', 'after [None]']);
  });
});
