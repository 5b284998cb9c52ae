// IMAP ACL (RFC 4314) over raw IMAP: alice shares a mailbox with bob of her domain; bob finds it
// under Other Users (RFC 2342) and can do exactly what each right allows, with NO [NOPERM] for
// the rest; a right taken away ends bob's access at once, also in a session that has it selected.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { resourceIds } from '../../src/config/resources.ts';
import { caFetch } from '../helpers/https-fetch.ts';
import { commandSkip } from '../helpers/peers.ts';
import { python } from '../helpers/python.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CAROL = 'carol@other.test';
const PASSWORD = 'acl test password';
const TEAM = `"Other Users/${ALICE}/Team"`;

/** A signed-in raw IMAP session; `cmd` sends one command and returns every line up to its tagged answer. */
async function signIn(t: TestServer, user: string) {
  const c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
  await c.line();
  let n = 0;
  const cmd = async (text: string): Promise<string[]> => {
    const tag = `t${++n}`;
    c.write(`${tag} ${text}\r\n`);
    const lines = await c.until(new RegExp(`^${tag} (OK|NO|BAD)`));
    return lines.map((l) => l.replace(new RegExp(`^${tag} `), 'TAG '));
  };
  const login = await cmd(`LOGIN ${user} "${PASSWORD}"`);
  assert.match(login.at(-1)!, /^TAG OK/);
  return { c, cmd, last: async (text: string) => (await cmd(text)).at(-1)! };
}

function message(subject: string): string {
  const m = `From: ${ALICE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.test>\r\n\r\nbody of ${subject}\r\n`;
  return `{${Buffer.byteLength(m)}+}\r\n${m}`;
}

describe('IMAP ACL and the Other Users namespace', () => {
  let t: TestServer;
  let alice: Awaited<ReturnType<typeof signIn>>;
  let bob: Awaited<ReturnType<typeof signIn>>;

  before(async () => {
    t = await startTestServer();
    await t.services.accounts.addDomain('other.test');
    for (const address of [ALICE, BOB, CAROL]) await t.services.accounts.addUser({ address, password: PASSWORD });
    alice = await signIn(t, ALICE);
    bob = await signIn(t, BOB);
    assert.match(await alice.last('CREATE Team'), /^TAG OK/);
    for (const s of ['one', 'two']) assert.match(await alice.last(`APPEND Team ${message(s)}`), /^TAG OK/);
  });
  after(async () => {
    alice.c.socket.destroy();
    bob.c.socket.destroy();
    await t.close();
  });

  it('advertises ACL and RIGHTS=texk and names the shared namespace', async () => {
    const caps = (await bob.cmd('CAPABILITY')).join(' ');
    assert.match(caps, / ACL /);
    assert.match(caps, / RIGHTS=texk /);
    assert.deepEqual(await bob.cmd('NAMESPACE'), ['* NAMESPACE (("" "/")) (("Other Users/" "/")) NIL', 'TAG OK NAMESPACE completed']);
  });

  it('an unshared mailbox does not exist for others', async () => {
    assert.match(await bob.last(`SELECT ${TEAM}`), /^TAG NO \[NONEXISTENT\]/);
    assert.match(await bob.last(`MYRIGHTS ${TEAM}`), /^TAG NO \[NONEXISTENT\]/);
    assert.match(await bob.last(`STATUS ${TEAM} (MESSAGES)`), /^TAG NO \[NONEXISTENT\]/);
    assert.deepEqual(await bob.cmd('LIST "" "Other Users/*"'), ['TAG OK LIST completed']);
  });

  it('the owner holds every right; SETACL gives lr, GETACL and LISTRIGHTS show it', async () => {
    assert.deepEqual(await alice.cmd('MYRIGHTS Team'), ['* MYRIGHTS Team lrswipkxteacd', 'TAG OK MYRIGHTS completed']);
    assert.match(await alice.last(`SETACL Team ${BOB} lr`), /^TAG OK/);
    assert.deepEqual(await alice.cmd('GETACL Team'), [`* ACL Team ${ALICE} lrswipkxteacd ${BOB} lr`, 'TAG OK GETACL completed']);
    assert.deepEqual(await alice.cmd(`LISTRIGHTS Team ${BOB}`), [
      `* LISTRIGHTS Team ${BOB} "" l r s w i p k x t e a c d`,
      'TAG OK LISTRIGHTS completed',
    ]);
    assert.deepEqual((await alice.cmd(`LISTRIGHTS Team ${ALICE}`))[0], `* LISTRIGHTS Team ${ALICE} lrswipkxtea`);
  });

  it('bad SETACL input gets BAD or NO and changes nothing', async () => {
    assert.match(await alice.last(`SETACL Team ${BOB} lrz`), /^TAG BAD/);
    assert.match(await alice.last(`SETACL Team -${CAROL} lr`), /^TAG NO \[CANNOT\]/);
    assert.match(await alice.last(`SETACL Team -${ALICE} lr`), /^TAG NO \[CANNOT\]/);
    assert.match(await alice.last('SETACL Team -anyone lrz'), /^TAG BAD/);
    assert.match(await alice.last(`SETACL Team ${CAROL} lr`), /^TAG NO \[CANNOT\] rights can be given to accounts of the same domain only/);
    assert.match(await alice.last('SETACL Team nobody@example.test lr'), /^TAG NO \[CANNOT\]/);
    assert.match(await alice.last(`SETACL Team ${ALICE} l`), /^TAG NO \[CANNOT\]/);
    assert.match(await alice.last(`SETACL Nowhere ${BOB} lr`), /^TAG NO \[NONEXISTENT\]/);
    assert.deepEqual((await alice.cmd('GETACL Team'))[0], `* ACL Team ${ALICE} lrswipkxteacd ${BOB} lr`);
  });

  it('with lr bob lists, reads and copies out, but cannot write, append, expunge or administer', async () => {
    const list = await bob.cmd('LIST "" "Other Users/*"');
    assert.deepEqual(list, [
      '* LIST (\\Noselect \\HasChildren) "/" "Other Users/alice@example.test"',
      '* LIST (\\HasNoChildren) "/" "Other Users/alice@example.test/Team"',
      'TAG OK LIST completed',
    ]);
    assert.deepEqual(await bob.cmd(`MYRIGHTS ${TEAM}`), [`* MYRIGHTS ${TEAM} lr`, 'TAG OK MYRIGHTS completed']);
    assert.match((await bob.cmd(`STATUS ${TEAM} (MESSAGES UNSEEN)`))[0]!, /MESSAGES 2 UNSEEN 2/);
    const selected = await bob.cmd(`SELECT ${TEAM}`);
    assert.match(selected.at(-1)!, /^TAG OK \[READ-ONLY\]/);
    assert.ok(selected.includes('* 2 EXISTS'));
    const fetched = await bob.cmd('FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])');
    assert.match(fetched.join('\n'), /Subject: one/);
    assert.match(fetched[0]!, /FLAGS \((\\Recent)?\)/, 'reading without the s right does not set \\Seen');
    assert.match(await bob.last('STORE 1 +FLAGS (\\Seen)'), /^TAG NO \[CANNOT\]/);
    assert.match(await bob.last('EXPUNGE'), /^TAG NO \[CANNOT\]/);
    assert.match(await bob.last(`APPEND ${TEAM} ${message('from bob')}`), /^TAG NO \[NOPERM\] APPEND needs the i right/);
    assert.match(await bob.last('MOVE 1 INBOX'), /^TAG NO \[CANNOT\]/);
    assert.match(await bob.last(`GETACL ${TEAM}`), /^TAG NO \[NOPERM\]/);
    assert.match(await bob.last(`SETACL ${TEAM} ${BOB} lrswipkxtea`), /^TAG NO \[NOPERM\]/);
    assert.match(await bob.last(`DELETE ${TEAM}`), /^TAG NO \[NOPERM\]/);
    assert.match(await bob.last(`CREATE "Other Users/${ALICE}/Team/Sub"`), /^TAG NO \[NOPERM\]/);
    // COPY into his own INBOX makes his own copy (a new message of his account).
    assert.match(await bob.last('COPY 1:2 INBOX'), /^TAG OK \[COPYUID \d+ 1:2 1:2\]/);
    assert.match((await bob.cmd('STATUS INBOX (MESSAGES)'))[0]!, /MESSAGES 2/);
    assert.match((await alice.cmd('STATUS Team (MESSAGES UNSEEN)'))[0]!, /MESSAGES 2 UNSEEN 2/);
  });

  it('+sw lets bob set his own \\Seen and shared keywords, but not \\Deleted', async () => {
    assert.match(await alice.last(`SETACL Team ${BOB} +sw`), /^TAG OK/);
    assert.match((await bob.cmd(`SELECT ${TEAM}`)).at(-1)!, /^TAG OK \[READ-WRITE\]/);
    assert.match((await bob.cmd('STORE 1 +FLAGS (\\Seen $Work)')).join('\n'), /^\* 1 FETCH \(FLAGS \((\\Recent )?\\Seen \$Work\)\)$/m);
    assert.match(await bob.last('STORE 2 +FLAGS (\\Deleted)'), /^TAG NO \[NOPERM\] STORE needs the t right/);
    assert.match(await bob.last('STORE 2 FLAGS (\\Seen)'), /^TAG NO \[NOPERM\]/, 'FLAGS replaces \\Deleted too');
    assert.match(await bob.last('EXPUNGE'), /^TAG NO \[NOPERM\] EXPUNGE needs the e right/);
    assert.match((await alice.cmd('STATUS Team (UNSEEN)'))[0]!, /UNSEEN 2/, 'bob’s \\Seen is his own (RFC 4314 §4)');
    assert.match((await bob.cmd(`STATUS ${TEAM} (UNSEEN)`))[0]!, /UNSEEN 1/);
    assert.match(await alice.last('EXAMINE Team'), /^TAG OK/);
    assert.match((await alice.cmd('FETCH 1 FLAGS')).join('\n'), /^\* 1 FETCH \(FLAGS \(\$Work\)\)$/m, 'the keyword is shared');
    assert.match(await alice.last('CLOSE'), /^TAG OK/);
  });

  it('with i, t and e bob appends, deletes and expunges; alice sees it and bob hears of her writes', async () => {
    assert.match(await alice.last(`SETACL Team ${BOB} +ite`), /^TAG OK/);
    assert.match(await bob.last(`SELECT ${TEAM}`), /^TAG OK \[READ-WRITE\]/);
    assert.match(await bob.last(`APPEND ${TEAM} (\\Seen) ${message('from bob')}`), /^TAG OK \[APPENDUID \d+ 3\]/);
    assert.match(await bob.last('STORE 2 +FLAGS.SILENT (\\Deleted)'), /^TAG OK/);
    assert.deepEqual(await bob.cmd('EXPUNGE'), ['* 2 EXPUNGE', 'TAG OK EXPUNGE completed']);
    assert.match((await alice.cmd('STATUS Team (MESSAGES)'))[0]!, /MESSAGES 2/);
    assert.match(await alice.last(`APPEND Team ${message('three')}`), /^TAG OK/);
    assert.ok((await bob.cmd('NOOP')).includes('* 3 EXISTS'), "the owner's append reaches bob's selected session");
  });

  it('the obsolete d and c rights map to xte and k (RFC 4314 §2.1.1)', async () => {
    assert.match(await alice.last(`SETACL Team ${BOB} lrd`), /^TAG OK/);
    assert.deepEqual((await alice.cmd('GETACL Team'))[0], `* ACL Team ${ALICE} lrswipkxteacd ${BOB} lrxted`);
    assert.match(await alice.last(`SETACL Team ${BOB} -d`), /^TAG OK/);
    assert.match(await alice.last(`SETACL Team ${BOB} +c`), /^TAG OK/);
    assert.deepEqual((await alice.cmd('GETACL Team'))[0], `* ACL Team ${ALICE} lrswipkxteacd ${BOB} lrkc`);
  });

  it("with k bob creates below the shared mailbox in alice's account; with x he deletes it", async () => {
    assert.match(await bob.last(`CREATE "Other Users/${ALICE}/Team/Sub"`), /^TAG OK/);
    assert.match((await alice.cmd('LIST "" "Team/*"'))[0]!, / Team\/Sub$/);
    assert.match(await bob.last(`DELETE "Other Users/${ALICE}/Team/Sub"`), /^TAG NO \[NONEXISTENT\]/, 'Sub is not shared with bob');
    assert.match(await alice.last(`SETACL Team/Sub ${BOB} lx`), /^TAG OK/);
    assert.match(await bob.last(`DELETE "Other Users/${ALICE}/Team/Sub"`), /^TAG OK/);
    assert.deepEqual(await alice.cmd('LIST "" "Team/*"'), ['TAG OK LIST completed']);
  });

  it('DELETEACL ends access at once, also for the session that has the mailbox selected', async () => {
    assert.match(await bob.last(`SELECT ${TEAM}`), /^TAG OK/);
    assert.match(await alice.last(`DELETEACL Team ${BOB}`), /^TAG OK/);
    assert.deepEqual((await alice.cmd('GETACL Team'))[0], `* ACL Team ${ALICE} lrswipkxteacd`);
    bob.c.write('n NOOP\r\n');
    assert.match((await bob.c.until(/^\* BYE/))[0]!, /BYE The right to read the selected mailbox was taken away/);
    bob = await signIn(t, BOB);
    assert.match(await bob.last(`SELECT ${TEAM}`), /^TAG NO \[NONEXISTENT\]/);
    assert.deepEqual(await bob.cmd('LIST "" "Other Users/*"'), ['TAG OK LIST completed']);
  });

  it('anyone gives every account of the domain rights, negative rights take them away (RFC 4314 §2); JMAP myRights agrees', async () => {
    const carol = await signIn(t, CAROL);
    // What bob's JMAP session shows for alice's Team: the same rights, from the same store.
    const fetchCa = caFetch(t.ca);
    const auth = `Basic ${Buffer.from(`${BOB}:${PASSWORD}`).toString('base64')}`;
    const jmapRights = async () => {
      const session = (await (await fetchCa(resourceIds(t.config).jmap, { headers: { authorization: auth } })).json()) as {
        accounts: Record<string, { name: string }>;
      };
      const account = Object.entries(session.accounts).find(([, a]) => a.name === ALICE)?.[0];
      if (!account) return undefined;
      const res = await fetchCa(`${t.baseUrl}/jmap/api`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
          methodCalls: [['Mailbox/get', { accountId: account, properties: ['name', 'myRights'] }, '0']],
        }),
      });
      const list = (
        (await res.json()) as { methodResponses: [string, { list: Array<{ name: string; myRights: Record<string, boolean> }> }][] }
      ).methodResponses[0]![1].list;
      return list.find((m) => m.name === 'Team')?.myRights;
    };
    try {
      assert.equal(await jmapRights(), undefined, 'nothing is shared with bob yet');
      assert.match(await alice.last('SETACL Team anyone lr'), /^TAG OK/);
      assert.deepEqual((await alice.cmd('GETACL Team'))[0], `* ACL Team ${ALICE} lrswipkxteacd anyone lr`);
      assert.deepEqual((await bob.cmd(`MYRIGHTS ${TEAM}`))[0], `* MYRIGHTS ${TEAM} lr`);
      assert.match((await bob.cmd('LIST "" "Other Users/*"')).join('\n'), /"Other Users\/alice@example.test\/Team"/);
      assert.match(await bob.last(`SELECT ${TEAM}`), /^TAG OK \[READ-ONLY\]/);
      assert.match(await bob.last('UNSELECT'), /^TAG OK/);
      assert.equal((await jmapRights())?.mayReadItems, true);
      // anyone is the owner's domain: carol of other.test gets nothing.
      assert.match(await carol.last(`MYRIGHTS ${TEAM}`), /^TAG NO \[NONEXISTENT\]/);
      // bob's own grant adds to anyone's; -bob takes rights away from both.
      assert.match(await alice.last(`SETACL Team ${BOB} sw`), /^TAG OK/);
      assert.deepEqual((await bob.cmd(`MYRIGHTS ${TEAM}`))[0], `* MYRIGHTS ${TEAM} lrsw`);
      assert.match(await alice.last(`SETACL Team -${BOB} wr`), /^TAG OK/);
      assert.deepEqual((await alice.cmd('GETACL Team'))[0], `* ACL Team ${ALICE} lrswipkxteacd ${BOB} sw -${BOB} rw anyone lr`);
      assert.deepEqual((await bob.cmd(`MYRIGHTS ${TEAM}`))[0], `* MYRIGHTS ${TEAM} ls`);
      assert.deepEqual(await jmapRights(), {
        mayReadItems: false,
        mayAddItems: false,
        mayRemoveItems: false,
        maySetSeen: true,
        maySetKeywords: false,
        mayCreateChild: false,
        mayRename: false,
        mayDelete: false,
        maySubmit: false,
      });
      // Without r the mailbox cannot be opened; +/- edit the negative entry like any other.
      assert.match(await bob.last(`SELECT ${TEAM}`), /^TAG NO \[NOPERM\]/);
      assert.match(await alice.last(`SETACL Team -${BOB} -r`), /^TAG OK/);
      assert.deepEqual((await bob.cmd(`MYRIGHTS ${TEAM}`))[0], `* MYRIGHTS ${TEAM} lrs`);
      // -anyone applies to every account but the owner.
      assert.match(await alice.last('SETACL Team -anyone l'), /^TAG OK/);
      assert.deepEqual((await bob.cmd(`MYRIGHTS ${TEAM}`))[0], `* MYRIGHTS ${TEAM} rs`);
      assert.deepEqual(await bob.cmd('LIST "" "Other Users/*"'), ['TAG OK LIST completed'], 'without l it is not listed');
      assert.deepEqual((await alice.cmd('MYRIGHTS Team'))[0], '* MYRIGHTS Team lrswipkxteacd');
      assert.deepEqual((await alice.cmd('LISTRIGHTS Team anyone'))[0], '* LISTRIGHTS Team anyone "" l r s w i p k x t e a c d');
      for (const id of ['-anyone', `-${BOB}`, 'anyone', BOB]) assert.match(await alice.last(`DELETEACL Team ${id}`), /^TAG OK/);
      assert.deepEqual((await alice.cmd('GETACL Team'))[0], `* ACL Team ${ALICE} lrswipkxteacd`);
      assert.match(await bob.last(`MYRIGHTS ${TEAM}`), /^TAG NO \[NONEXISTENT\]/);
      assert.equal(await jmapRights(), undefined);
    } finally {
      carol.c.socket.destroy();
    }
  });
});

// Python's imaplib has getacl/setacl/deleteacl/myrights; imapflow has no ACL commands but finds
// the shared namespace through NAMESPACE and opens, reads and flags the shared mailbox.
describe('ACL with imaplib and imapflow', () => {
  let t: TestServer;
  const skip = commandSkip('python3', 'python3');

  before(async () => {
    t = await startTestServer();
    for (const address of [ALICE, BOB]) await t.services.accounts.addUser({ address, password: PASSWORD });
  });
  after(() => t.close());

  it('imaplib: alice shares with setacl, bob sees myrights, alice reads getacl and deletes it', { skip }, async () => {
    const script = `
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile=os.environ['CA'])
def connect(user):
    m = imaplib.IMAP4_SSL('localhost', int(os.environ['PORT']), ssl_context=ctx)
    m.login(user, os.environ['PASSWORD'])
    return m
a = connect('${ALICE}')
b = connect('${BOB}')
a.create('Py')
a.append('Py', None, None, b'Subject: py shared\\r\\n\\r\\nhello\\r\\n')
print('setacl', a.setacl('Py', '${BOB}', 'lrs')[0])
print('getacl', a.getacl('Py')[1][0].decode())
print('namespace', b.namespace()[1][0].decode())
print('myrights', b.myrights('"Other Users/${ALICE}/Py"')[1][0].decode())
typ, data = b.select('"Other Users/${ALICE}/Py"')
print('select', typ, data[0].decode())
typ, data = b.fetch('1', '(BODY[HEADER.FIELDS (SUBJECT)])')
print('fetch', data[0][1].decode().strip())
print('seen by alice', a.status('Py', '(UNSEEN)')[1][0].decode())
typ, data = b.store('1', '+FLAGS', '(\\\\Flagged)')
print('store', typ, data[0].decode())
typ, data = b.getacl('"Other Users/${ALICE}/Py"')
print('getacl by bob', typ, data[0].decode())
print('deleteacl', a.deleteacl('Py', '${BOB}')[0])
b = connect('${BOB}')
typ, data = b.myrights('"Other Users/${ALICE}/Py"')
print('myrights after', typ, data[0].decode())
a.logout()
`;
    const r = await python(script, { CA: t.caFile, PORT: String(t.ports.imaps), PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^setacl OK$/m);
    assert.match(out, new RegExp(`^getacl Py ${ALICE} lrswipkxteacd ${BOB} lrs$`, 'm'));
    assert.match(out, /^namespace \(\("" "\/"\)\) \(\("Other Users\/" "\/"\)\) NIL$/m);
    assert.match(out, new RegExp(`^myrights "Other Users/${ALICE}/Py" lrs$`, 'm'));
    assert.match(out, /^select OK 1$/m);
    assert.match(out, /^fetch Subject: py shared$/m);
    assert.match(out, /^seen by alice "?Py"? \(UNSEEN 1\)$/m, 'bob read it, but his \\Seen is his own');
    assert.match(out, /^store NO \[NOPERM\] STORE needs the w right$/m);
    assert.match(out, /^getacl by bob NO \[NOPERM\]/m);
    assert.match(out, /^deleteacl OK$/m);
    assert.match(out, /^myrights after NO \[NONEXISTENT\]/m);
  });

  it('imapflow: finds the shared mailbox under the Other Users namespace and works in it', async () => {
    const raw = await signIn(t, ALICE);
    try {
      assert.match(await raw.last('CREATE Flow'), /^TAG OK/);
      assert.match(await raw.last(`APPEND Flow ${message('flow')}`), /^TAG OK/);
      assert.match(await raw.last(`SETACL Flow ${BOB} lrsw`), /^TAG OK/);
    } finally {
      raw.c.socket.destroy();
    }
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: t.ports.imaps,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user: BOB, pass: PASSWORD },
      logger: false,
    });
    await c.connect();
    try {
      const listed = await c.list();
      const shared = listed.find((m) => m.path === `Other Users/${ALICE}/Flow`);
      assert.ok(shared, JSON.stringify(listed.map((m) => m.path)));
      const box = await c.mailboxOpen(shared.path);
      assert.equal(box.exists, 1);
      const msg = await c.fetchOne('1', { envelope: true, flags: true });
      assert.ok(msg);
      assert.equal(msg.envelope?.subject, 'flow');
      assert.ok(await c.messageFlagsAdd('1', ['$Shared']));
      const after = await c.fetchOne('1', { flags: true });
      // biome-ignore lint/complexity/useOptionalChain: fetchOne answers false for no message
      assert.ok(after && after.flags?.has('$Shared'), 'bob set a keyword with the w right');
      const appended = await c.append(shared.path, 'Subject: no\r\n\r\nno\r\n').catch((e: unknown) => e);
      assert.equal((appended as { serverResponseCode?: string }).serverResponseCode, 'NOPERM', String(appended));
    } finally {
      await c.logout();
    }
  });
});
