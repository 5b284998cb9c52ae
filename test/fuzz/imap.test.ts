// A seeded, bounded fuzz run of IMAP over real connections, before and after LOGIN: mutated real
// commands and the attack shapes (huge literals, deep nesting, numbers past 2^32 and 2^53, hostile
// LIST/SEARCH patterns, invalid UTF-8, NUL, overlong lines, truncated commands, random bytes).
// Every input gets BAD/NO or a valid answer (never NO [SERVERBUG]), the session answers a NOOP
// afterwards or ended with BYE, nothing is logged as an error, and the event loop never stalls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { assertHealthy, errorLog, fuzzRounds, fuzzSeed, hostileToken, loopWatch, mutate, Rand, RawConn } from './harness.ts';
import { drive, type LineProtocol } from './line-driver.ts';

const SEED = fuzzSeed(9051);
const ROUNDS = fuzzRounds(700);
const ALICE = 'alice@example.test';
const PASSWORD = 'alice-fuzz-password';
const MAX_LINE = 8192;
const MAX_LITERAL = 4096;
const APPEND_LIMIT = 32_768;

const PRE_LOGIN = [
  'a CAPABILITY',
  'a NOOP',
  `a LOGIN ${ALICE} "${PASSWORD}x"`,
  'a LOGIN {5}\r\nalice {3}\r\nabc',
  'a AUTHENTICATE PLAIN AGFsaWNlAHh4',
  'a AUTHENTICATE PLAIN',
  'a AUTHENTICATE OAUTHBEARER bixhPWFsaWNlQGV4YW1wbGUudGVzdCwBYXV0aD1CZWFyZXIgeHgBAQ==',
  'a AUTHENTICATE XOAUTH2',
  'a ID ("name" "fuzz" "version" NIL)',
  'a ENABLE IMAP4rev2',
  'a SELECT INBOX',
  'a APPEND INBOX {20}\r\n01234567890123456789',
  'a LOGOUT',
];

const SIGNED_IN = [
  'a SELECT INBOX (CONDSTORE)',
  'a EXAMINE INBOX',
  'a SELECT INBOX (QRESYNC (1 1 1:5 (1:3 1:3)))',
  'a LIST "" "*"',
  'a LIST "" "%/%"',
  'a LIST (SUBSCRIBED RECURSIVEMATCH) "" ("INBOX" %) RETURN (CHILDREN STATUS (MESSAGES UNSEEN))',
  'a LSUB "" "*"',
  'a STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)',
  'a FETCH 1:* (FLAGS UID RFC822.SIZE ENVELOPE BODYSTRUCTURE)',
  'a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.100> BINARY.PEEK[1]<0.10> BINARY.SIZE[1] BODY[1.MIME])',
  'a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)',
  'a STORE 1 (UNCHANGEDSINCE 1) +FLAGS.SILENT (\\Seen $Junk)',
  'a UID STORE 1:4 -FLAGS (\\Flagged)',
  'a SEARCH RETURN (MIN MAX COUNT SAVE) CHARSET UTF-8 OR (FROM "x" SINCE 1-Feb-2020) NOT UID 1:5,$ HEADER X-A "b"',
  'a UID SEARCH TEXT "hello" LARGER 10 SMALLER 100000 MODSEQ 1',
  'a SEARCH SUBJECT {5}\r\nhello',
  'a SORT (REVERSE DATE SUBJECT) UTF-8 ALL',
  'a SORT RETURN (MIN MAX COUNT ALL) (ARRIVAL) UTF-8 ALL',
  'a THREAD REFERENCES UTF-8 ALL',
  'a THREAD ORDEREDSUBJECT UTF-8 SINCE 1-Jan-2000',
  'a COPY 1 INBOX',
  'a UID MOVE 1 Trash',
  'a CREATE "fuzz/a" (USE (\\Archive))',
  'a DELETE "fuzz/a"',
  'a RENAME "fuzz/b" "fuzz/c"',
  'a SUBSCRIBE INBOX',
  'a UNSUBSCRIBE "x"',
  'a APPEND INBOX (\\Seen) "17-Jul-1996 02:44:25 -0700" {30}\r\nSubject: fuzz\r\n\r\nhello body\r\n',
  'a APPEND INBOX {12+}\r\nSubject: x\r\n',
  'a NAMESPACE',
  'a ENABLE QRESYNC UTF8=ACCEPT',
  'a IDLE',
  'a EXPUNGE',
  'a UID EXPUNGE 1:2',
  'a UNSELECT',
  'a CHECK',
  'a ID NIL',
];

/** One input: a mutated real command or one of the attack shapes. */
function* inputs(r: Rand, commands: readonly string[], rounds: number): Generator<Buffer> {
  for (let i = 0; i < rounds; i++) {
    const base = r.pick(commands);
    switch (r.int(12)) {
      case 0:
        yield Buffer.from(`f${i} LIST "" "${'*%'.repeat(1 + r.int(60))}${r.pick(['z', 'INBOX', '/', ''])}"`);
        break;
      case 1:
        yield Buffer.from(`f${i} FETCH 1 ${'('.repeat(1 + r.int(5000))}FLAGS`);
        break;
      case 2:
        yield Buffer.from(`f${i} SEARCH ${'OR '.repeat(1 + r.int(2000))}ALL ALL${' ALL'.repeat(r.int(10))}`);
        break;
      case 3:
        yield Buffer.from(
          `f${i} ${r.pick(['FETCH', 'STORE', 'UID FETCH', 'COPY', 'SEARCH UID'])} ${hostileToken(r)}:${r.pick(['*', '1', '4294967296'])} ${r.pick(['FLAGS', '+FLAGS (x)', 'INBOX', ''])}`,
        );
        break;
      case 4:
        yield Buffer.concat([Buffer.from(`f${i} `), Buffer.from('A'.repeat(MAX_LINE + r.int(3 * MAX_LINE)))]);
        break;
      case 5:
        yield Buffer.from(
          `f${i} APPEND INBOX {${r.pick(['4294967297', '9007199254740993', String(APPEND_LIMIT + 1), '99999999999999999999'])}${r.chance(0.5) ? '+' : ''}}`,
        );
        break;
      case 6:
        yield r.bytes(1 + r.int(600));
        break;
      default:
        yield mutate(r, base.replace(/^a /, `f${i} `));
    }
  }
}

/** The bytes ending an open literal (the largest the input declares within the limits) or SASL exchange. */
function unstick(input: Buffer): Buffer {
  let need = 0;
  for (const m of input.toString('latin1').matchAll(/\{(\d{1,6})\+?\}/g)) need = Math.max(need, Number(m[1]));
  return Buffer.from(`${'F'.repeat(Math.min(need, APPEND_LIMIT))}\r\n*\r\n`);
}

describe(`IMAP fuzz (seed ${SEED})`, () => {
  let t: TestServer;
  const log = errorLog();
  const watch = loopWatch();

  before(async () => {
    t = await startTestServer({
      logTo: log.stream,
      overrides: {
        imap: { max_line: MAX_LINE, max_literal: MAX_LITERAL, append_limit: APPEND_LIMIT, max_auth_failures: 3 },
        auth: { limits: { exempt: ['127.0.0.1'] } },
      },
    });
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    const c = await RawConn.connect(t.ports.imaps, { tls: true, ca: t.ca, literals: true });
    c.write(`l LOGIN ${ALICE} "${PASSWORD}"\r\n`);
    for (let i = 0; i < 3; i++) {
      const message = `From: a@b.c\r\nSubject: hi ${i}\r\nMessage-ID: <${i}@b.c>\r\n\r\nhello body\r\n`;
      c.write(`a${i} APPEND INBOX {${message.length}}\r\n${message}\r\n`);
    }
    assert.equal(await c.waitFor(/^a2 OK/, 0, 10_000), 'match', c.lines.join('\n'));
    c.close();
  });
  after(async () => {
    watch.stop();
    await t?.close();
  });

  const protocol = (name: string, signIn: boolean): LineProtocol => ({
    name,
    async connect() {
      const c = signIn
        ? await RawConn.connect(t.ports.imaps, { tls: true, ca: t.ca, literals: true })
        : await RawConn.connect(t.ports.imap, { literals: true });
      if (signIn) {
        c.write(`l LOGIN ${ALICE} "${PASSWORD}"\r\ns SELECT INBOX\r\n`);
        assert.equal(await c.waitFor(/^s OK/, 0, 10_000), 'match', c.lines.join('\n'));
      } else assert.equal(await c.waitFor(/^\* OK/, 0, 10_000), 'match');
      return c;
    },
    sentinel: (n) => ({ send: `ZZ${n} NOOP`, answer: new RegExp(`^ZZ${n} OK`) }),
    unstick,
    goodbye: /^\* BYE |^\S+ OK Begin TLS/,
    internalError: /SERVERBUG|Internal error/i,
    // A non-synchronizing literal over the limit is refused and its bytes skipped (RFC 7888 §4): the client owes them.
    mayWait: (input) => [...input.toString('latin1').matchAll(/\{(\d+)\+\}/g)].some((m) => Number(m[1]) > APPEND_LIMIT),
    valid: (l) => /^(\* |\+( |$)|\S+ (OK|NO|BAD)( |$))/.test(l),
  });

  it('before LOGIN: every input is answered BAD/NO/OK or ends with BYE', async () => {
    const r = new Rand(SEED);
    const stats = await drive(protocol('imap pre-login', false), inputs(r, PRE_LOGIN, ROUNDS), SEED);
    console.log(`# imap pre-login ${JSON.stringify(stats)}`);
    assert.ok(stats.answered > ROUNDS / 3);
    assertHealthy(watch, log, SEED);
  });

  it('signed in: every input is answered BAD/NO/OK or ends with BYE', async () => {
    const r = new Rand(SEED + 1);
    const stats = await drive(protocol('imap signed-in', true), inputs(r, SIGNED_IN, ROUNDS), SEED);
    console.log(`# imap signed-in ${JSON.stringify(stats)}`);
    assert.ok(stats.answered > ROUNDS / 3);
    assertHealthy(watch, log, SEED);
  });

  it('the server still serves a new client', async () => {
    const c = await RawConn.connect(t.ports.imaps, { tls: true, ca: t.ca, literals: true });
    c.write(`l LOGIN ${ALICE} "${PASSWORD}"\r\ns STATUS INBOX (MESSAGES)\r\n`);
    assert.equal(await c.waitFor(/^s OK/, 0, 10_000), 'match', c.lines.join('\n'));
    c.close();
  });
});
