// SORT (RFC 5256, SORT=DISPLAY RFC 5957) and THREAD=ORDEREDSUBJECT/REFERENCES by hand, with
// Python's imaplib (sort(), thread()) and with curl sending what a webmail like Roundcube sends
// (UID SORT, UID THREAD); bad input gets BAD/NO and the session goes on.
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

function run(
  program: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A small discussion: two threads joined by References, a subject-only reply, a stray forward. */
const MESSAGES = [
  {
    from: 'Carol <carol@example.test>',
    to: 'alice@example.test',
    date: 'Mon, 02 Nov 2026 09:00:00 +0000',
    subject: 'Lunch',
    id: 'lunch@x',
    size: 10,
  },
  {
    from: 'bob@example.test',
    to: 'Zed <zed@example.test>',
    date: 'Mon, 02 Nov 2026 10:00:00 +0000',
    subject: 'Re: Lunch',
    id: 'r1@x',
    refs: 'lunch@x',
    size: 300,
  },
  {
    from: '"Ann" <ann@example.test>',
    to: 'alice@example.test',
    date: 'Sun, 01 Nov 2026 08:00:00 +0000',
    subject: 'Budget',
    id: 'budget@x',
    size: 50,
  },
  {
    from: 'dave@example.test',
    to: 'bob@example.test',
    date: 'Mon, 02 Nov 2026 11:00:00 +0000',
    subject: 'Re: Lunch',
    id: 'r2@x',
    refs: 'lunch@x r1@x',
    size: 20,
  },
  {
    from: 'erin@example.test',
    to: 'alice@example.test',
    date: 'Mon, 02 Nov 2026 08:30:00 +0000',
    subject: 'Fwd: Budget',
    id: 'fwd@x',
    size: 40,
  },
  {
    from: 'Bob <bob@example.test>',
    to: 'alice@example.test',
    date: 'Tue, 03 Nov 2026 07:00:00 +0100',
    subject: 'Re: Lunch',
    id: 'r3@x',
    refs: 'lunch@x',
    size: 5,
  },
];

describe('IMAP SORT and THREAD', () => {
  let t: TestServer;
  let c: LineClient;

  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    const { account } = await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    const box = await t.services.mail.createMailbox(account.id, 'Talk');
    for (const m of MESSAGES) {
      const raw = [
        `From: ${m.from}`,
        `To: ${m.to}`,
        `Date: ${m.date}`,
        `Subject: ${m.subject}`,
        `Message-ID: <${m.id}>`,
        ...(m.refs
          ? [
              `References: ${m.refs
                .split(' ')
                .map((r) => `<${r}>`)
                .join(' ')}`,
            ]
          : []),
        '',
        'x'.repeat(m.size),
        '',
      ].join('\r\n');
      await t.services.mail.append(account.id, box.id, Buffer.from(raw));
    }
    c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
    await c.line();
    await cmd(c, 'l', `LOGIN ${ALICE} ${PASSWORD}`);
    await cmd(c, 's', 'SELECT Talk');
  });
  after(async () => {
    c.close();
    await t.close();
  });

  test('CAPABILITY offers SORT, SORT=DISPLAY and both THREAD algorithms', async () => {
    const caps = (await cmd(c, 'c', 'CAPABILITY'))[0]!;
    for (const cap of ['SORT', 'SORT=DISPLAY', 'ESORT', 'THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES'])
      assert.ok(caps.split(' ').includes(cap), cap);
  });

  test('SORT by every key, REVERSE, several criteria, UID SORT and a search', async () => {
    const sorted = async (tag: string, text: string) => (await cmd(c, tag, text))[0];
    assert.equal(await sorted('a', 'SORT (DATE) UTF-8 ALL'), '* SORT 3 5 1 2 4 6');
    assert.equal(await sorted('b', 'SORT (REVERSE DATE) UTF-8 ALL'), '* SORT 6 4 2 1 5 3');
    assert.equal(await sorted('c', 'SORT (ARRIVAL) US-ASCII ALL'), '* SORT 1 2 3 4 5 6');
    const sizes = (await cmd(c, 'z', 'FETCH 1:* RFC822.SIZE')).slice(0, -1).map((l) => Number(/RFC822\.SIZE (\d+)/.exec(l)![1]));
    const bySize = [1, 2, 3, 4, 5, 6].sort((a, b) => sizes[a - 1]! - sizes[b - 1]! || a - b);
    assert.equal(await sorted('d', 'SORT (SIZE) UTF-8 ALL'), `* SORT ${bySize.join(' ')}`);
    // Base subjects: Budget ×2, Lunch ×4; equal keys by sequence number, or by the next criterion.
    assert.equal(await sorted('e', 'SORT (SUBJECT) UTF-8 ALL'), '* SORT 3 5 1 2 4 6');
    assert.equal(await sorted('f', 'SORT (SUBJECT REVERSE DATE) UTF-8 ALL'), '* SORT 5 3 6 4 2 1');
    // FROM is the local part of the first address; DISPLAYFROM the name, else the address.
    assert.equal(await sorted('g', 'SORT (FROM) UTF-8 ALL'), '* SORT 3 2 6 1 4 5');
    assert.equal(await sorted('h', 'SORT (DISPLAYFROM) UTF-8 ALL'), '* SORT 3 6 2 1 4 5');
    assert.equal(await sorted('i', 'SORT (TO CC) UTF-8 ALL'), '* SORT 1 3 5 6 4 2');
    assert.equal(await sorted('j', 'SORT (DISPLAYTO) UTF-8 ALL'), '* SORT 1 3 5 6 4 2');
    const lunch = [1, 2, 4, 6].sort((a, b) => sizes[b - 1]! - sizes[a - 1]! || a - b);
    assert.equal(await sorted('k', 'UID SORT (REVERSE SIZE) UTF-8 SUBJECT lunch'), `* SORT ${lunch.join(' ')}`);
    assert.equal(await sorted('l', 'SORT (DATE) UTF-8 SUBJECT "not in mailbox"'), '* SORT');
  });

  test('ESORT (RFC 5267): SORT RETURN answers ESEARCH in sort order', async () => {
    assert.equal((await cmd(c, 'a', 'SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL'))[0], '* ESEARCH (TAG "a") MIN 3 MAX 6 COUNT 6');
    assert.equal((await cmd(c, 'b', 'UID SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 ALL'))[0], '* ESEARCH (TAG "b") UID ALL 6,5,4,3,2,1');
    assert.equal((await cmd(c, 'c', 'SORT RETURN () (DATE) UTF-8 ALL'))[0], '* ESEARCH (TAG "c") ALL 3,5,1:2,4,6');
    assert.equal((await cmd(c, 'd', 'SORT RETURN (COUNT) (DATE) UTF-8 SUBJECT nothing'))[0], '* ESEARCH (TAG "d") COUNT 0');
    assert.match((await cmd(c, 'e', 'SORT RETURN (SAVE) (DATE) UTF-8 ALL')).at(-1)!, /^e BAD /);
  });

  test('THREAD=REFERENCES and THREAD=ORDEREDSUBJECT', async () => {
    // 3 Budget (1 Nov), 5 "Fwd: Budget" joins it by subject; 1 Lunch with 2 and 6 replying, 4 under 2.
    assert.equal((await cmd(c, 'a', 'THREAD REFERENCES UTF-8 ALL'))[0], '* THREAD (3 5)(1 (2 4)(6))');
    assert.equal((await cmd(c, 'b', 'UID THREAD REFERENCES UTF-8 ALL'))[0], '* THREAD (3 5)(1 (2 4)(6))');
    assert.equal((await cmd(c, 'c', 'THREAD ORDEREDSUBJECT UTF-8 ALL'))[0], '* THREAD (3 5)(1 (2)(4)(6))');
    // Only some messages match: the missing parent becomes a dummy holding its children.
    assert.equal((await cmd(c, 'd', 'THREAD REFERENCES UTF-8 NOT SUBJECT budget NOT HEADER Message-ID lunch@x'))[0], '* THREAD ((2 4)(6))');
    assert.equal((await cmd(c, 'e', 'THREAD REFERENCES UTF-8 SUBJECT nothing'))[0], '* THREAD');
  });

  test('bad input: BAD for syntax, NO [BADCHARSET] for a charset, and the session goes on', async () => {
    for (const [tag, text] of [
      ['a', 'SORT DATE UTF-8 ALL'],
      ['b', 'SORT (BOGUS) UTF-8 ALL'],
      ['c', 'SORT (DATE) UTF-8'],
      ['d', 'SORT (REVERSE) UTF-8 ALL'],
      ['e', 'THREAD BOGUS UTF-8 ALL'],
      ['f', 'THREAD REFERENCES'],
    ] as const) {
      assert.match((await cmd(c, tag, text)).at(-1)!, new RegExp(`^${tag} BAD `), text);
    }
    assert.match((await cmd(c, 'g', 'SORT (DATE) KOI8-R ALL')).at(-1)!, /^g NO \[BADCHARSET/);
    assert.match((await cmd(c, 'h', 'THREAD REFERENCES KOI8-R ALL')).at(-1)!, /^h NO \[BADCHARSET/);
    assert.match((await cmd(c, 'n', 'NOOP')).at(-1)!, /^n OK/);
  });

  test('Python imaplib: sort() and thread()', { skip: commandSkip('python3', 'python3') }, async () => {
    const script = `
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile=os.environ['CA'])
m = imaplib.IMAP4_SSL('localhost', int(os.environ['PORT']), ssl_context=ctx)
m.login(os.environ['USER_NAME'], os.environ['PASSWORD'])
m.select('Talk', readonly=True)
print('sort', m.sort('(REVERSE DATE)', 'UTF-8', 'ALL')[1][0].decode())
print('subject', m.sort('(SUBJECT DATE)', 'UTF-8', 'SUBJECT', 'lunch')[1][0].decode())
print('refs', m.thread('REFERENCES', 'UTF-8', 'ALL')[1][0].decode())
print('uidrefs', m.uid('THREAD', 'REFERENCES', 'UTF-8', 'ALL')[1][0].decode())
print('ordered', m.thread('ORDEREDSUBJECT', 'UTF-8', 'ALL')[1][0].decode())
m.logout()
`;
    const r = await run('python3', ['-c', script], { CA: t.caFile, PORT: String(t.ports.imaps), USER_NAME: ALICE, PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'sort 6 4 2 1 5 3',
      'subject 1 2 4 6',
      'refs (3 5)(1 (2 4)(6))',
      'uidrefs (3 5)(1 (2 4)(6))',
      'ordered (3 5)(1 (2)(4)(6))',
    ]);
  });

  test('curl with the commands a webmail sends: UID SORT (REVERSE ARRIVAL), ESORT, UID THREAD REFERENCES', {
    skip: commandSkip('curl', 'curl'),
  }, async () => {
    const curl = (command: string) =>
      run('curl', [
        '--silent',
        '--show-error',
        '--max-time',
        '30',
        '--cacert',
        t.caFile,
        '--user',
        `${ALICE}:${PASSWORD}`,
        '-X',
        command,
        `imaps://localhost:${t.ports.imaps}/Talk`,
      ]);
    const sorted = await curl('UID SORT (REVERSE ARRIVAL) UTF-8 ALL');
    assert.equal(sorted.code, 0, sorted.stderr);
    assert.equal(sorted.stdout.trim(), '* SORT 6 5 4 3 2 1');
    // With ESORT offered, a webmail asks for the compact form.
    const esorted = await curl('UID SORT RETURN (ALL COUNT) (REVERSE ARRIVAL) UTF-8 ALL');
    assert.match(esorted.stdout.trim(), /^\* ESEARCH \(TAG "[^"]+"\) UID COUNT 6 ALL 6,5,4,3,2,1$/);
    const threaded = await curl('UID THREAD REFERENCES UTF-8 ALL');
    assert.equal(threaded.stdout.trim(), '* THREAD (3 5)(1 (2 4)(6))');
  });
});
