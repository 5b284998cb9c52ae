// A seeded, bounded fuzz run of POP3 over real connections (implicit TLS), before and after
// sign-in: mutated real commands and the attack shapes (numbers past 2^32 and 2^53, overlong lines,
// NUL and invalid UTF-8, SASL exchanges cut short, truncated commands, random bytes). Every input
// gets +OK or -ERR (never the internal-error reply), the session answers CAPA afterwards or ended
// with its goodbye, nothing is logged as an error, and the event loop never stalls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { assertHealthy, errorLog, fuzzRounds, fuzzSeed, hostileToken, loopWatch, mutate, Rand, RawConn } from './harness.ts';
import { drive, type LineProtocol } from './line-driver.ts';

const SEED = fuzzSeed(1939);
const ROUNDS = fuzzRounds(600);
const ALICE = 'alice@example.test';
const PASSWORD = 'alice-fuzz-password';

const PRE_LOGIN = [
  'USER alice@example.test',
  `USER alice@example.test\r\nPASS ${PASSWORD}x`,
  'PASS nothing',
  'AUTH',
  'AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdAB4',
  'AUTH PLAIN',
  'AUTH LOGIN',
  'AUTH XOAUTH2 dXNlcj1hbGljZQFhdXRoPUJlYXJlciB4AQE=',
  'APOP alice 0123456789abcdef0123456789abcdef',
  'STLS',
  'NOOP',
  'STAT',
  'QUIT',
];

const SIGNED_IN = [
  'STAT',
  'LIST',
  'LIST 1',
  'UIDL',
  'UIDL 2',
  'RETR 1',
  'TOP 1 0',
  'TOP 2 10',
  'DELE 1',
  'RSET',
  'NOOP',
  'USER x',
  'AUTH PLAIN',
  'STLS',
];

function* inputs(r: Rand, commands: readonly string[], rounds: number): Generator<Buffer> {
  for (let i = 0; i < rounds; i++) {
    let input: Buffer;
    switch (r.int(10)) {
      case 0:
        input = Buffer.from(
          `${r.pick(['RETR', 'LIST', 'UIDL', 'DELE', 'TOP'])} ${hostileToken(r)} ${r.pick(['', '0', '4294967296', '9007199254740993', '-1'])}`,
        );
        break;
      case 1:
        input = Buffer.from(r.pick(['USER ', 'PASS ', 'AUTH PLAIN ', 'NOOP ']) + 'A'.repeat(200 + r.int(80_000)));
        break;
      case 2:
        input = Buffer.from(
          `AUTH ${r.pick(['PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2'])}\r\n${r.pick(['=', '*', '!!!', 'AGFsaWNl', 'A'.repeat(70_000)])}`,
        );
        break;
      case 3:
        input = r.bytes(1 + r.int(600));
        break;
      default:
        input = mutate(r, r.pick(commands));
    }
    // CAPA is the sentinel: an input must not answer it early.
    yield Buffer.from(input.toString('latin1').replace(/CAPA/gi, 'CAP4'), 'latin1');
  }
}

describe(`POP3 fuzz (seed ${SEED})`, () => {
  let t: TestServer;
  const log = errorLog();
  const watch = loopWatch();

  before(async () => {
    t = await startTestServer({ logTo: log.stream, overrides: { auth: { limits: { exempt: ['127.0.0.1'] } } } });
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
    // A few messages to list and retrieve, added over IMAP.
    const c = await RawConn.connect(t.ports.imaps, { tls: true, ca: t.ca, literals: true });
    c.write(`l LOGIN ${ALICE} "${PASSWORD}"\r\n`);
    for (let i = 0; i < 5; i++) {
      const message = `From: a@b.c\r\nSubject: pop ${i}\r\n\r\n.leading dot\r\nline\r\n`;
      c.write(`a${i} APPEND INBOX {${message.length}}\r\n${message}\r\n`);
    }
    assert.equal(await c.waitFor(/^a4 OK/, 0, 10_000), 'match', c.lines.join('\n'));
    c.close();
  });
  after(async () => {
    watch.stop();
    await t?.close();
  });

  const protocol = (name: string, signIn: boolean): LineProtocol => ({
    name,
    async connect() {
      // The maildrop lock of a closed session is released as it closes: a new one may wait a moment.
      for (let attempt = 0; ; attempt++) {
        const c = await RawConn.connect(t.ports.pop3s, { tls: true, ca: t.ca });
        assert.equal(await c.waitFor(/^\+OK /, 0, 10_000), 'match');
        if (!signIn) return c;
        c.write(`USER ${ALICE}\r\nPASS ${PASSWORD}\r\n`);
        assert.equal(await c.waitFor(/^\+OK Maildrop locked|^-ERR/, 1, 10_000), 'match', c.lines.join('\n'));
        if (c.lines.some((l) => l.startsWith('+OK Maildrop locked'))) return c;
        c.close();
        assert.ok(attempt < 50, `cannot sign in: ${c.lines.join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    // CAPA lists what the state offers; no input contains it, so its answer follows the input's.
    sentinel: () => ({ send: 'CAPA', answer: /^\+OK Capability list follows/ }),
    unstick: () => Buffer.from('*\r\n'),
    goodbye: /^\+OK .*signing off|^-ERR (Too many errors|\[SYS\/TEMP\] Some deleted)|^\+OK Begin TLS/,
    internalError: /Internal error/i,
  });

  it('before sign-in: every input gets +OK/-ERR or ends with a goodbye', async () => {
    const stats = await drive(protocol('pop3 authorization', false), inputs(new Rand(SEED), PRE_LOGIN, ROUNDS), SEED);
    console.log(`# pop3 authorization ${JSON.stringify(stats)}`);
    assert.ok(stats.answered > ROUNDS / 3);
    assertHealthy(watch, log, SEED);
  });

  it('signed in: every input gets +OK/-ERR or ends with a goodbye', async () => {
    const stats = await drive(protocol('pop3 transaction', true), inputs(new Rand(SEED + 1), SIGNED_IN, ROUNDS), SEED);
    console.log(`# pop3 transaction ${JSON.stringify(stats)}`);
    assert.ok(stats.answered > ROUNDS / 3);
    assertHealthy(watch, log, SEED);
  });
});
