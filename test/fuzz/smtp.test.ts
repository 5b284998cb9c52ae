// A seeded, bounded fuzz run of SMTP over real connections, on the MX listener (no login) and on
// submission (implicit TLS, signed in): mutated real transactions and the attack shapes (absurd
// SIZE and BDAT numbers, overlong lines, bodies of colon-less lines, bare LF, NUL and invalid
// UTF-8, hostile addresses, truncated commands, random bytes). Every input gets a reply (never
// 451 4.3.0 or 421 4.3.0 "Internal error"), the session answers an EHLO afterwards or ended with
// 221/421, nothing is logged as an error, and the event loop never stalls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { assertHealthy, errorLog, fuzzRounds, fuzzSeed, hostileToken, INVALID_UTF8, loopWatch, mutate, Rand, RawConn } from './harness.ts';
import { drive, type LineProtocol } from './line-driver.ts';

const SEED = fuzzSeed(5321);
const ROUNDS = fuzzRounds(500);
const ALICE = 'alice@example.test';
const PASSWORD = 'alice-fuzz-password';
const MAX_MESSAGE = 64 * 1024;
/** BDAT chunks `unstick` completes; a larger one leaves the server (rightly) reading. */
const UNSTICK_BDAT = 100_000;

const body = (r: Rand): string =>
  r.pick([
    'Subject: hi\r\n\r\nhello\r\n',
    'From: <a@b.c>\r\nSubject: =?utf-8?q?x?=\r\n\r\n..dot\r\n',
    'x\r\n'.repeat(1 + r.int(20_000)),
    `Subject: ${'a'.repeat(r.int(3000))}\r\n\r\nbody\r\n`,
    'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n'.repeat(1 + r.int(50)),
    'bare\nlf\nlines\n',
  ]);

function transaction(r: Rand, submission: boolean): string {
  const from = submission ? ALICE : r.pick(['sender@remote.test', '', 'x@[127.0.0.1]', '"q\\"x"@remote.test']);
  const to = r.pick([ALICE, 'bob@example.test', 'nobody@example.test', 'postmaster', 'someone@elsewhere.test']);
  const params = r.pick(['', ' SIZE=1000', ' BODY=8BITMIME', ' SMTPUTF8', ' SIZE=99999999999', ' AUTH=<>', ' FOO=bar']);
  const greet = r.pick(['EHLO client.test\r\n', 'HELO client.test\r\n', '']);
  const b = body(r);
  const end = r.pick([
    `DATA\r\n${b}.\r\n`,
    `BDAT ${Buffer.byteLength(b)} LAST\r\n${b}`,
    `BDAT 5\r\nHello${'BDAT 0 LAST\r\n'}`,
    'RSET\r\n',
    'DATA\r\n',
  ]);
  return `${greet}MAIL FROM:<${from}>${params}\r\nRCPT TO:<${to}>\r\n${end}`;
}

const SINGLE = [
  'EHLO client.test',
  'HELO client.test',
  'MAIL FROM:<a@b.test> SIZE=100',
  'RCPT TO:<alice@example.test>',
  'VRFY alice',
  'EXPN staff',
  'HELP me',
  'NOOP',
  'RSET',
  'AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB4',
  'AUTH LOGIN',
  'AUTH XOAUTH2',
  'AUTH CRAM-MD5',
  'BDAT 10 LAST',
  'DATA',
  'QUIT',
];

function* inputs(r: Rand, submission: boolean, rounds: number): Generator<Buffer> {
  for (let i = 0; i < rounds; i++) {
    switch (r.int(12)) {
      case 0:
        yield Buffer.from(`MAIL FROM:<${'a'.repeat(r.int(600))}@${'b.'.repeat(r.int(300))}test> SIZE=${hostileToken(r)}`);
        break;
      case 1:
        yield Buffer.from(
          `BDAT ${r.pick(['4294967297', '9007199254740993', '999999999999999', '99999999999999999999', String(MAX_MESSAGE + 1), '-1'])}${r.chance(0.5) ? ' LAST' : ''}`,
        );
        break;
      case 2:
        yield Buffer.from(r.pick(['EHLO ', 'NOOP ', 'AUTH PLAIN ', 'MAIL FROM:<']) + 'A'.repeat(500 + r.int(80_000)));
        break;
      case 3:
        yield Buffer.concat([
          Buffer.from('EHLO a\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n'),
          r.bytes(r.int(5000)),
          Buffer.from('\r\n.\r\n'),
        ]);
        break;
      case 4:
        yield Buffer.concat([Buffer.from('RCPT TO:<'), r.pick(INVALID_UTF8), Buffer.from('@example.test>')]);
        break;
      case 5:
        yield r.bytes(1 + r.int(600));
        break;
      case 6:
      case 7:
        yield Buffer.from(transaction(r, submission));
        break;
      case 8:
      case 9:
        yield mutate(r, transaction(r, submission));
        break;
      default:
        yield mutate(r, r.pick(SINGLE));
    }
  }
}

/** Bytes ending an open BDAT chunk (the largest the input declares, within reason), DATA body or SASL exchange. */
function unstick(input: Buffer): Buffer {
  let need = 0;
  for (const m of input.toString('latin1').matchAll(/BDAT (\d{1,15})/gi)) need = Math.max(need, Number(m[1]));
  return Buffer.from(`${'F'.repeat(need <= UNSTICK_BDAT ? need : 0)}\r\n*\r\n.\r\nRSET\r\n`);
}

describe(`SMTP fuzz (seed ${SEED})`, () => {
  let t: TestServer;
  const log = errorLog();
  const watch = loopWatch();

  before(async () => {
    t = await startTestServer({
      logTo: log.stream,
      overrides: {
        smtp: { max_message_bytes: MAX_MESSAGE, unknown_recipient_delay: '0s', max_unknown_recipients: 5 },
        queue: { enabled: false },
        auth: { limits: { exempt: ['127.0.0.1'] } },
      },
    });
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    await t.services.accounts.addUser({ address: 'bob@example.test', password: PASSWORD });
  });
  after(async () => {
    watch.stop();
    await t?.close();
  });

  const protocol = (name: string, submission: boolean): LineProtocol => ({
    name,
    async connect() {
      const c = submission ? await RawConn.connect(t.ports.submissions, { tls: true, ca: t.ca }) : await RawConn.connect(t.ports.smtp);
      assert.equal(await c.waitFor(/^220 /, 0, 10_000), 'match');
      if (submission) {
        c.write(`EHLO fuzz.test\r\nAUTH PLAIN ${Buffer.from(`\0${ALICE}\0${PASSWORD}`).toString('base64')}\r\n`);
        assert.equal(await c.waitFor(/^235 /, 0, 10_000), 'match', c.lines.join('\n'));
      }
      return c;
    },
    // EHLO names itself in its answer, so each sentinel's reply is told apart.
    sentinel: (n) => ({ send: `EHLO zz${n}.test`, answer: new RegExp(`^250[- ]\\S+ greets zz${n}\\.test`) }),
    unstick,
    goodbye: /^(221|421)[ -]|^220 2\.0\.0 Ready to start TLS/,
    internalError: /Internal error|4\.3\.0 Local error/i,
    valid: (l) => /^[2-5]\d\d[ -]/.test(l),
    mayWait: (input) => [...input.toString('latin1').matchAll(/BDAT (\d{1,15})/gi)].some((m) => Number(m[1]) > UNSTICK_BDAT),
  });

  it('MX (no login): every input gets a reply or ends with 221/421', async () => {
    const stats = await drive(protocol('smtp mx', false), inputs(new Rand(SEED), false, ROUNDS), SEED);
    console.log(`# smtp mx ${JSON.stringify(stats)}`);
    assert.ok(stats.answered > ROUNDS / 3);
    assertHealthy(watch, log, SEED);
  });

  it('submission (signed in): every input gets a reply or ends with 221/421', async () => {
    const stats = await drive(protocol('smtp submission', true), inputs(new Rand(SEED + 1), true, ROUNDS), SEED);
    console.log(`# smtp submission ${JSON.stringify(stats)}`);
    assert.ok(stats.answered > ROUNDS / 3);
    assertHealthy(watch, log, SEED);
  });

  it('the server still takes mail', async () => {
    const c = await RawConn.connect(t.ports.smtp);
    c.write('EHLO after.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n');
    assert.equal(await c.waitFor(/^354 /, 0, 10_000), 'match', c.lines.join('\n'));
    c.write('Subject: after the fuzz\r\n\r\nstill here\r\n.\r\nQUIT\r\n');
    assert.equal(await c.waitFor(/^221 /, 0, 10_000), 'match', c.lines.join('\n'));
    assert.ok(c.lines.some((l) => /^250 /.test(l) && /queued|Ok/i.test(l)));
    c.close();
  });
});
