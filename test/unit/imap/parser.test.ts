// Command parser: RFC 9051 examples and extension syntax into typed commands; bad input into BAD.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommand } from '../../../src/protocols/imap/wire/parser.ts';
import { LineInput } from '../../../src/net/line-input.ts';
import { formatOrderedSet, formatSequenceSet, resolveRanges } from '../../../src/protocols/imap/wire/sequence.ts';

const LIMITS = { maxLine: 65536, maxCommand: 1 << 21, literalLimit: () => 1 << 20 };

async function parse(text: string) {
  const input = new LineInput();
  input.push(Buffer.from(text.endsWith('\n') ? text : `${text}\r\n`, 'utf8'));
  input.close();
  const r = await input.command(LIMITS, () => {});
  if (r.kind !== 'command') throw new Error('no command framed');
  return parseCommand(r);
}

// biome-ignore lint/suspicious/noExplicitAny: tests read fields of many command shapes
type Loose = Record<string, any>;

async function ok(text: string): Promise<Loose> {
  const r = await parse(text);
  if (!r.ok) throw new Error(`${text}: ${r.message}`);
  return r.command;
}

describe('IMAP command parser', () => {
  it('simple commands and tags', async () => {
    for (const name of ['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'CLOSE', 'UNSELECT', 'IDLE', 'NAMESPACE', 'EXPUNGE', 'CHECK']) {
      assert.deepEqual(await ok(`a1 ${name.toLowerCase()}`), { tag: 'a1', name });
    }
    assert.equal((await ok('A.b]c NOOP')).tag, 'A.b]c');
  });

  it('LOGIN with atoms, quoted strings and literals', async () => {
    assert.deepEqual(await ok('a LOGIN alice "pa ss\\"w"'), { tag: 'a', name: 'LOGIN', username: 'alice', password: 'pa ss"w' });
    assert.deepEqual(await ok('a LOGIN {5+}\r\nalice {4+}\r\np ss\r\n'), { tag: 'a', name: 'LOGIN', username: 'alice', password: 'p ss' });
  });

  it('AUTHENTICATE with and without an initial response', async () => {
    assert.deepEqual(await ok('a AUTHENTICATE plain'), { tag: 'a', name: 'AUTHENTICATE', mechanism: 'PLAIN', initial: null });
    assert.deepEqual(await ok('a AUTHENTICATE OAUTHBEARER bixh=='), {
      tag: 'a',
      name: 'AUTHENTICATE',
      mechanism: 'OAUTHBEARER',
      initial: 'bixh==',
    });
    assert.deepEqual(await ok('a AUTHENTICATE PLAIN ='), { tag: 'a', name: 'AUTHENTICATE', mechanism: 'PLAIN', initial: '=' });
  });

  it('SELECT with CONDSTORE and QRESYNC parameters (RFC 7162 §3.2.5)', async () => {
    assert.deepEqual(await ok('a SELECT INBOX'), { tag: 'a', name: 'SELECT', mailbox: 'INBOX', condstore: false, qresync: null });
    assert.equal(((await ok('a EXAMINE "Sent" (CONDSTORE)')) as { condstore: boolean }).condstore, true);
    const q = (await ok('A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))')) as { qresync: unknown };
    assert.deepEqual(q.qresync, {
      uidValidity: 67890007,
      modseq: Number.MAX_SAFE_INTEGER, // clamped: larger than any modseq here
      knownUids: {
        kind: 'ranges',
        ranges: [
          [41, 41],
          [43, 211],
          [214, 541],
        ],
      },
      seqMatch: null,
    });
    const q2 = (await ok(
      'B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973)))',
    )) as {
      qresync: { seqMatch: unknown };
    };
    assert.ok(q2.qresync.seqMatch);
  });

  it('LIST: basic, LIST-EXTENDED selection and return options, LIST-STATUS', async () => {
    assert.deepEqual(await ok('a LIST "" *'), {
      tag: 'a',
      name: 'LIST',
      reference: '',
      patterns: ['*'],
      selection: { subscribed: false, remote: false, recursiveMatch: false, specialUse: false },
      returns: { subscribed: false, children: false, specialUse: false, status: null },
      extended: false,
    });
    const l = (await ok(
      'A01 LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" "Drafts" %) RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))',
    )) as {
      patterns: string[];
      selection: { subscribed: boolean; recursiveMatch: boolean };
      returns: { status: string[]; children: boolean };
      extended: boolean;
    };
    assert.deepEqual(l.patterns, ['INBOX', 'Drafts', '%']);
    assert.equal(l.selection.subscribed && l.selection.recursiveMatch, true);
    assert.deepEqual(l.returns.status, ['MESSAGES', 'UNSEEN']);
    assert.equal(l.extended, true);
    assert.equal((await parse('a LIST (RECURSIVEMATCH) "" *')).ok, false);
    assert.deepEqual(((await ok('a LIST "" Archive/%')) as { patterns: string[] }).patterns, ['Archive/%']);
  });

  it('STATUS, CREATE with USE, RENAME, DELETE, SUBSCRIBE, LSUB', async () => {
    assert.deepEqual(await ok('a STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)'), {
      tag: 'a',
      name: 'STATUS',
      mailbox: 'blurdybloop',
      items: ['UIDNEXT', 'MESSAGES', 'HIGHESTMODSEQ'],
    });
    assert.deepEqual(await ok('t1 CREATE "Important Messages" (USE (\\Important))'), {
      tag: 't1',
      name: 'CREATE',
      mailbox: 'Important Messages',
      specialUse: ['\\Important'],
    });
    assert.deepEqual(await ok('a RENAME "a b" c'), { tag: 'a', name: 'RENAME', from: 'a b', to: 'c' });
    assert.deepEqual(await ok('a LSUB "" *'), { tag: 'a', name: 'LSUB', reference: '', pattern: '*' });
    assert.equal((await parse('a STATUS x (BOGUS)')).ok, false);
  });

  it('REPLACE and UID REPLACE (RFC 8508), COMPRESS (RFC 4978)', async () => {
    const r = await ok('a UID REPLACE 4 Drafts (\\Draft) {2+}\r\nhi\r\n');
    assert.deepEqual(
      [r.name, r.uid, r.id, r.mailbox, r.message.flags, r.message.message.toString()],
      ['REPLACE', true, 4, 'Drafts', ['\\Draft'], 'hi'],
    );
    assert.equal((await ok('a replace 1 x {1+}\r\nx\r\n')).uid, false);
    assert.equal((await parse('a REPLACE 0 x {1+}\r\nx\r\n')).ok, false);
    assert.equal((await parse('a REPLACE 1 x')).ok, false);
    assert.equal((await parse('a REPLACE 1 x {1+}\r\nx {1+}\r\ny\r\n')).ok, false, 'one message only');
    assert.deepEqual(await ok('a compress deflate'), { tag: 'a', name: 'COMPRESS', mechanism: 'DEFLATE' });
    assert.equal((await parse('a COMPRESS')).ok, false);
  });

  it('APPEND with flags, date and (binary) literal; MULTIAPPEND (RFC 3502)', async () => {
    type Appended = { messages: Array<{ flags: string[]; date: number | null; message: Buffer; binary: boolean }> };
    const [c] = ((await ok('A003 APPEND saved-messages (\\Seen $Label1) "17-Jul-1996 02:44:25 -0700" {10+}\r\nHello Joe!\r\n')) as Appended)
      .messages;
    assert.deepEqual(c!.flags, ['\\Seen', '$Label1']);
    assert.equal(c!.date, Date.UTC(1996, 6, 17, 9, 44, 25));
    assert.equal(c!.message.toString(), 'Hello Joe!');
    assert.equal(c!.binary, false);
    const [b] = ((await ok('a APPEND x ~{3+}\r\na\x00b\r\n')) as Appended).messages;
    assert.equal(b!.binary, true);
    assert.deepEqual([...b!.message], [0x61, 0, 0x62]);
    const multi = ((await ok('a APPEND x (\\Seen) {1+}\r\na "01-Jan-2020 00:00:00 +0000" {1+}\r\nb {1+}\r\nc\r\n')) as Appended).messages;
    assert.deepEqual(
      multi.map((m) => [m.flags, m.date, m.message.toString()]),
      [
        [['\\Seen'], null, 'a'],
        [[], Date.UTC(2020, 0, 1), 'b'],
        [[], null, 'c'],
      ],
    );
    assert.equal((await parse('a APPEND x {1+}\r\na \r\n')).ok, false);
    assert.equal((await parse('a APPEND x "not a literal"')).ok, false);
    assert.equal((await parse('a APPEND x "32-Foo-1996 02:44:25 -0700" {1+}\r\nx\r\n')).ok, false);
    // literal8 is only for message data
    assert.equal((await parse('a LOGIN ~{1+}\r\nx y\r\n')).ok, false);
  });

  it('FETCH items, macros, sections, partials and modifiers', async () => {
    const f = (await ok(
      'a FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE BODY.PEEK[HEADER.FIELDS (From Subject)] BODY[1.2.MIME] BODY[]<0.1024> BINARY.PEEK[1]<5.10> BINARY.SIZE[2] MODSEQ)',
    )) as {
      items: unknown[];
    };
    assert.deepEqual(f.items, [
      { kind: 'FLAGS' },
      { kind: 'UID' },
      { kind: 'RFC822.SIZE' },
      { kind: 'ENVELOPE' },
      { kind: 'BODY[]', peek: true, section: { part: [], text: 'HEADER.FIELDS', fields: ['From', 'Subject'] }, partial: null },
      { kind: 'BODY[]', peek: false, section: { part: [1, 2], text: 'MIME', fields: [] }, partial: null },
      { kind: 'BODY[]', peek: false, section: { part: [], text: null, fields: [] }, partial: { start: 0, length: 1024 } },
      { kind: 'BINARY[]', peek: true, part: [1], partial: { start: 5, length: 10 } },
      { kind: 'BINARY.SIZE', part: [2] },
      { kind: 'MODSEQ' },
    ]);
    assert.equal(((await ok('a FETCH 2 fast')) as { items: unknown[] }).items.length, 3);
    assert.deepEqual(((await ok('a FETCH 2 body[text]')) as { items: unknown[] }).items, [
      { kind: 'BODY[]', peek: false, section: { part: [], text: 'TEXT', fields: [] }, partial: null },
    ]);
    const u = (await ok('a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)')) as {
      uid: boolean;
      changedSince: number;
      vanished: boolean;
    };
    assert.deepEqual([u.uid, u.changedSince, u.vanished], [true, 12345, true]);
    for (const bad of [
      'a FETCH 1 (VANISHED)',
      'a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)',
      'a FETCH 1 BODY[MIME]',
      'a FETCH 1 BODY[0]',
      'a FETCH 1 BODY.PEEK',
      'a FETCH 1 BODY[]<1.0>',
      'a FETCH 0:x FLAGS',
      'a FETCH 1 (FLAGS',
      'a FETCH 1 NOSUCH',
      'a FETCH 1 BODY[HEADER.FIELDS ()]',
    ]) {
      assert.equal((await parse(bad)).ok, false, bad);
    }
  });

  it('STORE forms and UNCHANGEDSINCE', async () => {
    assert.deepEqual(await ok('a STORE 2:4 +FLAGS (\\Deleted)'), {
      tag: 'a',
      name: 'STORE',
      uid: false,
      set: { kind: 'ranges', ranges: [[2, 4]] },
      unchangedSince: null,
      mode: 'add',
      silent: false,
      flags: ['\\Deleted'],
    });
    const s = (await ok('a UID STORE 1,3 (UNCHANGEDSINCE 200) -FLAGS.SILENT \\Seen $Junk')) as {
      mode: string;
      silent: boolean;
      flags: string[];
      unchangedSince: number;
    };
    assert.deepEqual([s.mode, s.silent, s.flags, s.unchangedSince], ['remove', true, ['\\Seen', '$Junk'], 200]);
    assert.equal(((await ok('a STORE 1 FLAGS ()')) as { flags: string[] }).flags.length, 0);
    assert.equal((await parse('a STORE 1 XFLAGS (\\Seen)')).ok, false);
  });

  it('COPY, MOVE, UID EXPUNGE, and $', async () => {
    assert.deepEqual(await ok('a UID MOVE 42:69 foo'), {
      tag: 'a',
      name: 'MOVE',
      uid: true,
      set: { kind: 'ranges', ranges: [[42, 69]] },
      mailbox: 'foo',
    });
    assert.deepEqual(await ok('a COPY $ Trash'), { tag: 'a', name: 'COPY', uid: false, set: { kind: 'saved' }, mailbox: 'Trash' });
    assert.deepEqual(await ok('a UID EXPUNGE 3000:3002'), {
      tag: 'a',
      name: 'UID EXPUNGE',
      set: { kind: 'ranges', ranges: [[3000, 3002]] },
    });
  });

  it('SEARCH programs: RETURN, CHARSET, nesting, OR/NOT, dates, MODSEQ', async () => {
    const s = (await ok(
      'a UID SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR FROM "Smith" (SINCE 1-Feb-1994 NOT SEEN) 1:5 MODSEQ "/flags/\\\\draft" all 620162338',
    )) as {
      uid: boolean;
      returns: string[];
      charset: string;
      criteria: unknown;
    };
    assert.equal(s.uid, true);
    assert.deepEqual(s.returns, ['MIN', 'COUNT']);
    assert.equal(s.charset, 'UTF-8');
    assert.deepEqual(s.criteria, {
      op: 'and',
      keys: [
        {
          op: 'or',
          a: { op: 'address', field: 'from', value: 'Smith' },
          b: {
            op: 'and',
            keys: [
              { op: 'internaldate', cmp: 'since', day: Date.UTC(1994, 1, 1) / 86400000 },
              { op: 'not', key: { op: 'flag', flag: '\\Seen', set: true } },
            ],
          },
        },
        { op: 'seq', set: { kind: 'ranges', ranges: [[1, 5]] } },
        { op: 'modseq', modseq: 620162338 },
      ],
    });
    assert.deepEqual(((await ok('a SEARCH RETURN () ALL')) as { returns: string[] }).returns, []);
    assert.deepEqual(((await ok('a SEARCH HEADER X-Spam "yes" LARGER 100 KEYWORD $Junk')) as { criteria: unknown }).criteria, {
      op: 'and',
      keys: [
        { op: 'header', field: 'x-spam', value: 'yes' },
        { op: 'larger', size: 100 },
        { op: 'flag', flag: '$Junk', set: true },
      ],
    });
    assert.deepEqual(((await ok('a SEARCH SUBJECT {6+}\r\nGrüß\r\n')) as { criteria: unknown }).criteria, {
      op: 'header',
      field: 'subject',
      value: 'Grüß',
    });
    for (const bad of [
      'a SEARCH',
      'a SEARCH FOO',
      'a SEARCH SINCE yesterday',
      'a SEARCH (ALL',
      'a SEARCH RETURN (BOGUS) ALL',
      'a SEARCH OR ALL',
    ]) {
      assert.equal((await parse(bad)).ok, false, bad);
    }
    const deep = `a SEARCH ${'NOT '.repeat(100)}ALL`;
    assert.equal((await parse(deep)).ok, false);
  });

  it('SORT and THREAD (RFC 5256 §5), ESORT RETURN (RFC 5267)', async () => {
    assert.deepEqual(await ok('a UID SORT (REVERSE DATE subject) utf-8 ALL'), {
      tag: 'a',
      name: 'SORT',
      uid: true,
      returns: null,
      partial: null,
      criteria: [
        { key: 'DATE', reverse: true },
        { key: 'SUBJECT', reverse: false },
      ],
      charset: 'utf-8',
      search: { op: 'all' },
    });
    assert.deepEqual(await ok('a SORT RETURN (MIN COUNT) (ARRIVAL) UTF-8 1:5 SEEN'), {
      tag: 'a',
      name: 'SORT',
      uid: false,
      returns: ['MIN', 'COUNT'],
      partial: null,
      criteria: [{ key: 'ARRIVAL', reverse: false }],
      charset: 'UTF-8',
      search: {
        op: 'and',
        keys: [
          { op: 'seq', set: { kind: 'ranges', ranges: [[1, 5]] } },
          { op: 'flag', flag: '\\Seen', set: true },
        ],
      },
    });
    assert.deepEqual(await ok('a THREAD references US-ASCII ALL'), {
      tag: 'a',
      name: 'THREAD',
      uid: false,
      algorithm: 'REFERENCES',
      charset: 'US-ASCII',
      search: { op: 'all' },
    });
    for (const bad of [
      'a SORT () UTF-8 ALL',
      'a SORT (DATE)',
      'a SORT (REVERSE REVERSE DATE) UTF-8 ALL',
      'a THREAD X UTF-8 ALL',
      'a UID THREAD REFERENCES UTF-8',
    ]) {
      assert.equal((await parse(bad)).ok, false, bad);
    }
  });

  it('ID and ENABLE', async () => {
    assert.deepEqual(await ok('a ID ("name" "mutt" "version" NIL)'), {
      tag: 'a',
      name: 'ID',
      params: [
        ['name', 'mutt'],
        ['version', null],
      ],
    });
    assert.deepEqual(await ok('a ID NIL'), { tag: 'a', name: 'ID', params: null });
    assert.equal((await parse(`a ID (${'"k" "v" '.repeat(31).trim()})`)).ok, false);
    assert.deepEqual(await ok('a ENABLE condstore qresync'), { tag: 'a', name: 'ENABLE', capabilities: ['CONDSTORE', 'QRESYNC'] });
  });

  it('bad input: untagged when the tag is unreadable, tagged otherwise', async () => {
    assert.deepEqual(await parse('+ NOOP'), { ok: false, tag: null, message: 'Missing or invalid tag' });
    assert.deepEqual(await parse(''), { ok: false, tag: null, message: 'Missing or invalid tag' });
    const r = await parse('a7 FROBNICATE');
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.tag, 'a7');
    assert.equal((await parse('a NOOP extra')).ok, false);
    assert.equal((await parse('a  NOOP')).ok, false);
    assert.equal((await parse('a LOGIN "unterminated')).ok, false);
    assert.equal((await parse('a LOGIN "a\\x" b')).ok, false);
    assert.equal((await parse('a SELECT INBOX (CONDSTORE')).ok, false);
    assert.equal((await parse('a FETCH 4294967296 FLAGS')).ok, false);
  });

  it('mailbox names and patterns must be valid UTF-8 (RFC 9051 §5.1), never patched with U+FFFD', async () => {
    const raw = (text: string) => parseCommand({ lines: [Buffer.from(text, 'latin1')], literals: [] });
    for (const bad of ['a CREATE "Caf\xe9"', 'a SELECT "Caf\xe9"', 'a RENAME INBOX "\xc3"', 'a LIST "\xff" "*"', 'a LIST "" "\xe9*"']) {
      const r = raw(bad);
      assert.equal(r.ok, false, bad);
      assert.match(!r.ok ? r.message : '', /not valid UTF-8/);
    }
    assert.deepEqual(raw('a CREATE "Caf\xc3\xa9"'), { ok: true, command: { tag: 'a', name: 'CREATE', mailbox: 'Café', specialUse: [] } });
  });
});

describe('sequence sets', () => {
  it('resolve against the largest number, reversed ranges and *', async () => {
    const set = {
      kind: 'ranges',
      ranges: [
        [5, '*'],
        [1, 1],
        [3, 2],
      ],
    } as const;
    assert.deepEqual(resolveRanges(set, 7), [
      [1, 3],
      [5, 7],
    ]);
    assert.deepEqual(resolveRanges({ kind: 'ranges', ranges: [['*', 3]] }, 2), [[2, 3]]);
    assert.deepEqual(resolveRanges({ kind: 'saved' }, 9, [4, 5, 6, 9]), [
      [4, 6],
      [9, 9],
    ]);
  });
  it('format compactly, and in order for COPYUID', async () => {
    assert.equal(formatSequenceSet([7, 1, 2, 3, 9, 10]), '1:3,7,9:10');
    assert.equal(formatOrderedSet([5, 6, 7, 2, 3]), '5:7,2:3');
  });
});
