// CATENATE (RFC 4469): APPEND builds a message from TEXT literals and IMAP URLs (RFC 5092) to
// messages and parts of the same account: absolute, path-absolute and relative to the selected
// mailbox, with SECTION and PARTIAL; a URL that names nothing here is NO [BADURL], a result over
// APPENDLIMIT NO [TOOBIG], and nothing is stored then (also with MULTIAPPEND); bad syntax is BAD.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-password-1';
const APPEND_LIMIT = 4000;

const ORIGINAL = [
  'From: bob@example.test',
  `To: ${ALICE}`,
  'Subject: original',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain',
  '',
  'first part',
  '--b',
  'Content-Type: text/plain',
  '',
  'second part',
  '--b--',
  '',
].join('\r\n');

async function cmd(c: LineClient, tag: string, text: string): Promise<string[]> {
  c.write(`${tag} ${text}\r\n`);
  return c.until(new RegExp(`^${tag} (OK|NO|BAD)`));
}

/** Sends a command whose literals are synchronizing: waits for each continuation. */
async function withLiterals(c: LineClient, tag: string, pieces: ReadonlyArray<string | { literal: string }>): Promise<string[]> {
  let line = `${tag} `;
  for (const p of pieces) {
    if (typeof p === 'string') line += p;
    else {
      c.write(`${line}{${Buffer.byteLength(p.literal)}}\r\n`);
      const cont = await c.line();
      assert.match(cont!, /^\+ /);
      line = p.literal;
    }
  }
  c.write(`${line}\r\n`);
  return c.until(new RegExp(`^${tag} (OK|NO|BAD)`));
}

describe('IMAP CATENATE', () => {
  let t: TestServer;
  let c: LineClient;
  let validity: number;

  before(async () => {
    t = await startTestServer({ domain: 'example.test', overrides: { imap: { append_limit: APPEND_LIMIT } } });
    const { account } = await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    const box = await t.services.mail.createMailbox(account.id, 'Cat');
    validity = box.uidValidity;
    await t.services.mail.append(account.id, box.id, Buffer.from(ORIGINAL));
    await t.services.mail.append(account.id, box.id, Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(2500)}\r\n`));
    c = await LineClient.connect(t.ports.imaps, { tls: true, ca: t.ca });
    await c.line();
    await cmd(c, 'l', `LOGIN ${ALICE} ${PASSWORD}`);
  });
  after(async () => {
    c.close();
    await t.close();
  });

  const body = async (uid: number): Promise<string> => {
    const lines = await cmd(c, 'f', `UID FETCH ${uid} BODY.PEEK[]`);
    const all = lines.join('\r\n');
    const m = /\{(\d+)\}\r\n/.exec(all)!;
    return all.slice(m.index + m[0].length, m.index + m[0].length + Number(m[1]));
  };
  const count = async (): Promise<string> => (await cmd(c, 'st', 'STATUS Cat (MESSAGES)'))[0]!;

  test('CAPABILITY offers CATENATE', async () => {
    assert.ok((await cmd(c, 'c', 'CAPABILITY'))[0]!.split(' ').includes('CATENATE'));
  });

  test('TEXT and a path-absolute URL with a SECTION make a new message', async () => {
    const header = 'From: alice@example.test\r\nSubject: forward\r\n\r\n';
    const r = await withLiterals(c, 'a1', [
      'APPEND Cat (\\Seen) CATENATE (TEXT ',
      { literal: header },
      ` URL "/Cat;UIDVALIDITY=${validity}/;UID=1/;SECTION=2" TEXT `,
      { literal: '\r\n-- \r\nsig\r\n' },
      ')',
    ]);
    assert.match(r.at(-1)!, new RegExp(`^a1 OK \\[APPENDUID ${validity} 3\\]`));
    await cmd(c, 's', 'SELECT Cat');
    assert.equal(await body(3), `${header}second part\r\n-- \r\nsig\r\n`);
  });

  test('absolute and selected-relative URLs, PARTIAL, the whole message, and REPLACE with CATENATE', async () => {
    const r = await cmd(
      c,
      'a2',
      `APPEND Cat CATENATE (URL "imap://alice%40example.test;AUTH=*@localhost/Cat/;UID=1/;SECTION=HEADER" URL ";UID=1/;SECTION=1" URL "/Cat/;UID=2/;SECTION=TEXT/;PARTIAL=0.5")`,
    );
    assert.match(r.at(-1)!, /^a2 OK \[APPENDUID \d+ 4\]/);
    const header = ORIGINAL.slice(0, ORIGINAL.indexOf('\r\n\r\n') + 4);
    assert.equal(await body(4), `${header}first partxxxxx`);
    assert.match((await cmd(c, 'a3', 'APPEND Cat CATENATE (URL "/Cat/;UID=1")')).at(-1)!, /^a3 OK \[APPENDUID \d+ 5\]/);
    assert.equal(await body(5), ORIGINAL);
    const replaced = await cmd(c, 'r1', 'UID REPLACE 5 Cat CATENATE (URL ";UID=1/;SECTION=HEADER" URL ";UID=4/;SECTION=TEXT")');
    assert.match(replaced.at(-1)!, /^r1 OK/);
    assert.ok(replaced.some((l) => /APPENDUID \d+ 6/.test(l)));
    assert.equal(await body(6), `${header}first partxxxxx`);
  });

  test('a URL that names nothing here is NO [BADURL url] and nothing is stored, also in a MULTIAPPEND', async () => {
    const before = await count();
    for (const url of [
      '/Cat/;UID=99',
      `/Cat;UIDVALIDITY=${validity + 1}/;UID=1`,
      '/Nowhere/;UID=1',
      'imap://bob%40example.test@localhost/Cat/;UID=1',
      '/Cat/;UID=1/;SECTION=7',
      '/Cat/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)',
      '/Cat/;UID=1;URLAUTH=anonymous:internal:abc',
      'https://example.test/x',
      '/Cat/;UID=0',
    ]) {
      const r = await cmd(c, 'b1', `APPEND Cat CATENATE (TEXT {2+}\r\nhi URL "${url}")`);
      assert.equal(r.at(-1), `b1 NO [BADURL ${url}] The URL does not name a message here`, url);
    }
    const multi = await cmd(c, 'b2', 'APPEND Cat CATENATE (URL "/Cat/;UID=1") CATENATE (URL "/Cat/;UID=77")');
    assert.match(multi.at(-1)!, /^b2 NO \[BADURL \/Cat\/;UID=77\]/);
    // Relative URLs need a selected mailbox.
    await cmd(c, 'u', 'UNSELECT');
    assert.match((await cmd(c, 'b3', 'APPEND Cat CATENATE (URL ";UID=1")')).at(-1)!, /^b3 NO \[BADURL ;UID=1\]/);
    assert.equal(await count(), before);
    await cmd(c, 's', 'SELECT Cat');
  });

  test('over APPENDLIMIT is NO [TOOBIG]; bad syntax is BAD; the session goes on', async () => {
    const before = await count();
    assert.match((await cmd(c, 'c1', 'APPEND Cat CATENATE (URL "/Cat/;UID=2" URL "/Cat/;UID=2")')).at(-1)!, /^c1 NO \[TOOBIG\]/);
    assert.equal(await count(), before);
    for (const [tag, text] of [
      ['d1', 'APPEND Cat CATENATE ()'],
      ['d2', 'APPEND Cat CATENATE (BOGUS "x")'],
      ['d3', 'APPEND Cat CATENATE (TEXT "quoted is not a literal")'],
      ['d4', 'APPEND Cat CATENATE URL "/Cat/;UID=1"'],
      ['d5', `APPEND Cat CATENATE (${'URL "/Cat/;UID=1" '.repeat(101).trim()})`],
    ] as const)
      assert.match((await cmd(c, tag, text)).at(-1)!, new RegExp(`^${tag} BAD `), text);
    assert.match((await cmd(c, 'z', 'NOOP')).at(-1)!, /^z OK/);
    assert.equal(await count(), before);
  });
});
