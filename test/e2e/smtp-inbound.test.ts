// Inbound (MX) SMTP: local domains and aliases only, protocol errors, CHUNKING, and durability:
// a message answered with 250 survives kill -9 of the server process right after the reply.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { spawnServe } from '../helpers/process.ts';
import { portEnv, portOverrides, runCli, startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';
import { inboxOf, replyOf } from './smtp-helpers.ts';

async function session(port: number): Promise<LineClient> {
  const c = await LineClient.connect(port);
  assert.match(await replyOf(c), /^220 /);
  c.write('EHLO mx.remote.test\r\n');
  assert.match(await replyOf(c), /^250 /m);
  return c;
}

async function say(c: LineClient, line: string): Promise<string> {
  c.write(`${line}\r\n`);
  return replyOf(c);
}

describe('SMTP inbound (MX)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ domain: 'example.test', overrides: { smtp: { max_message_bytes: 4096, max_recipients: 3 } } });
    await t.services.accounts.addUser({ address: 'bob@example.test', password: 'pw-bob-123456' });
    await t.services.accounts.addAlias('postmaster@example.test', 'bob@example.test');
  });
  after(() => t.close());

  test('accepts local users and aliases, 550 5.1.1 for unknown users, 554 5.7.1 for relaying', async () => {
    const c = await session(t.ports.smtp);
    assert.match(await say(c, 'MAIL FROM:<someone@remote.test> BODY=8BITMIME SIZE=100'), /^250 2\.1\.0/);
    assert.match(await say(c, 'RCPT TO:<Bob@Example.TEST>'), /^250 2\.1\.5/);
    assert.match(await say(c, 'RCPT TO:<postmaster>'), /^250 2\.1\.5/);
    assert.match(await say(c, 'RCPT TO:<nobody@example.test>'), /^550 5\.1\.1/);
    assert.match(await say(c, 'RCPT TO:<victim@elsewhere.test>'), /^554 5\.7\.1 Relay access denied/);
    assert.match(await say(c, 'DATA'), /^354 /);
    assert.match(await say(c, 'Subject: inbound\r\n\r\nhello\r\n.'), /^250 2\.0\.0 Ok/);
    assert.match(await say(c, 'QUIT'), /^221 /);
    const inbox = await inboxOf(t, 'bob@example.test');
    // bob and postmaster are the same account: one copy
    assert.equal(inbox.filter((m) => m.includes('Subject: inbound')).length, 1);
    // our Authentication-Results (RFC 8601 §5: above the trace fields), then our Received
    assert.match(
      inbox[0]!,
      /^Authentication-Results: localhost;[^\r\n]*(\r\n [^\r\n]*)*\r\nReceived: from mx\.remote\.test \(\[127\.0\.0\.1\]\)\r\n\tby localhost with ESMTP id \S+; /,
    );
  });

  test('postmaster@ a domain without such an alias reaches an admin account (RFC 5321 §4.5.1)', async () => {
    await t.services.accounts.addDomain('second.test');
    const deliver = async (subject: string) => {
      const c = await session(t.ports.smtp);
      assert.match(await say(c, 'MAIL FROM:<reports@remote.test>'), /^250 /);
      assert.match(await say(c, 'RCPT TO:<PostMaster@second.test>'), /^250 2\.1\.5/);
      assert.match(await say(c, 'DATA'), /^354 /);
      assert.match(await say(c, `Subject: ${subject}\r\n\r\naggregate\r\n.`), /^250 2\.0\.0 Ok/);
      assert.match(await say(c, 'QUIT'), /^221 /);
    };
    const count = async (address: string, subject: string) =>
      (await inboxOf(t, address)).filter((m) => m.includes(`Subject: ${subject}`)).length;
    await deliver('report one');
    assert.equal(await count(t.admin.address, 'report one'), 1, 'the admin the first start made');
    await t.services.accounts.addUser({ address: 'root@second.test', password: 'pw-root-123456', isAdmin: true });
    await deliver('report two');
    assert.equal(await count('root@second.test', 'report two'), 1, "the domain's own admin");
    assert.equal(await count(t.admin.address, 'report two'), 0);
  });

  test('bad input gets its reply code and the session goes on', async () => {
    const c = await session(t.ports.smtp);
    assert.match(await say(c, 'DATA'), /^503 5\.5\.1/);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^503 5\.5\.1/);
    assert.match(await say(c, 'FROB nicate'), /^500 5\.5\.2/);
    assert.match(await say(c, `MAIL FROM:<${'a'.repeat(600)}@remote.test>`), /^500 5\.5\.6 Line too long/);
    assert.match(await say(c, 'MAIL FROM:<no-at-sign>'), /^501 5\.1\.3/);
    assert.match(await say(c, 'MAIL FROM:<a@remote.test> FOO=BAR'), /^555 5\.5\.4/);
    assert.match(await say(c, 'MAIL FROM:<a@remote.test> SIZE=999999999'), /^552 5\.3\.4/);
    assert.match(await say(c, 'MAIL FROM:<jos\u00e9@remote.test>'), /^553 5\.6\.7/);
    assert.match(await say(c, 'MAIL FROM:<a@remote.test>'), /^250 /);
    assert.match(await say(c, 'MAIL FROM:<a@remote.test>'), /^503 5\.5\.1 Nested/);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^250 /);
    // bare LF inside the body: read to the real end marker, then refused; LF.LF does not end it
    assert.match(await say(c, 'DATA'), /^354 /);
    c.write('Subject: smuggle\r\n\r\nline one\n.\nMAIL FROM:<evil@remote.test>\r\n.\r\n');
    assert.match(await replyOf(c), /^550 5\.6\.0 .*bare LF/);
    // too big: consumed to the end, 552, and the session still works
    assert.match(await say(c, 'MAIL FROM:<a@remote.test>'), /^250 /);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^250 /);
    assert.match(await say(c, 'DATA'), /^354 /);
    c.write(`Subject: big\r\n\r\n${'x'.repeat(100)}\r\n`.repeat(60) + '.\r\n');
    assert.match(await replyOf(c), /^552 5\.3\.4/);
    assert.match(await say(c, 'NOOP'), /^250 /);
    const inbox = await inboxOf(t, 'bob@example.test');
    assert.ok(!inbox.some((m) => m.includes('smuggle') || m.includes('Subject: big')));
    c.close();
  });

  test('more recipients than smtp.max_recipients get 452 4.5.3; the accepted ones still get the message', async () => {
    for (const u of ['r1', 'r2', 'r3', 'r4'])
      await t.services.accounts.addUser({ address: `${u}@example.test`, password: 'pw-r-12345678' });
    const c = await session(t.ports.smtp);
    assert.match(await say(c, 'MAIL FROM:<many@remote.test>'), /^250 /);
    for (const u of ['r1', 'r2', 'r3']) assert.match(await say(c, `RCPT TO:<${u}@example.test>`), /^250 2\.1\.5/);
    assert.match(await say(c, 'RCPT TO:<r4@example.test>'), /^452 4\.5\.3/);
    assert.match(await say(c, 'DATA'), /^354 /);
    assert.match(await say(c, 'Subject: to many\r\n\r\nhi\r\n.'), /^250 2\.0\.0/);
    c.close();
    for (const u of ['r1', 'r2', 'r3']) assert.ok((await inboxOf(t, `${u}@example.test`)).some((m) => m.includes('Subject: to many')));
    assert.equal((await inboxOf(t, 'r4@example.test')).length, 0);
  });

  test('a disabled account gets 550 5.2.1 and nothing is delivered to it', async () => {
    await t.services.accounts.addUser({ address: 'away@example.test', password: 'pw-away-1234567' });
    await t.services.accounts.setDisabled('away@example.test', true);
    const c = await session(t.ports.smtp);
    assert.match(await say(c, 'MAIL FROM:<someone@remote.test>'), /^250 /);
    assert.match(await say(c, 'RCPT TO:<away@example.test>'), /^550 5\.2\.1/);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^250 /);
    assert.match(await say(c, 'DATA'), /^354 /);
    assert.match(await say(c, 'Subject: while away\r\n\r\nhi\r\n.'), /^250 2\.0\.0/);
    c.close();
    assert.equal((await inboxOf(t, 'away@example.test')).length, 0);
  });

  test('pipelined commands are answered in order; too many errors end the session with 421', async () => {
    const c = await session(t.ports.smtp);
    c.write('MAIL FROM:<p@remote.test>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<x@example.test>\r\nDATA\r\n');
    assert.match(await replyOf(c), /^250 2\.1\.0/);
    assert.match(await replyOf(c), /^250 2\.1\.5/);
    assert.match(await replyOf(c), /^550 5\.1\.1/);
    assert.match(await replyOf(c), /^354 /);
    c.write('Subject: pipelined\r\n\r\nbody\r\n.\r\nRSET\r\n');
    assert.match(await replyOf(c), /^250 2\.0\.0/);
    assert.match(await replyOf(c), /^250 /);
    c.write('garbage\r\n'.repeat(12));
    const lines = await c.until(/^421 /);
    assert.match(lines.at(-1)!, /^421 4\.7\.0/);
    await c.closedByPeer();
  });

  test('random bytes on SMTP and POP3 get protocol errors; the server keeps serving', async () => {
    let seed = 7;
    const bytes = Buffer.alloc(64 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 7 === 0 ? 10 : seed & 0xff;
    for (const port of [t.ports.smtp, t.ports.submission, t.ports.pop3]) {
      const c = await LineClient.connect(port);
      await c.line();
      c.write(bytes);
      await c.closedByPeer(10_000);
    }
    const c = await session(t.ports.smtp);
    assert.match(await say(c, 'NOOP'), /^250 /);
    c.close();
  });

  test('CHUNKING: BDAT chunks, BDAT LAST, and a BDAT without recipients', async () => {
    const c = await session(t.ports.smtp);
    assert.match(await say(c, 'MAIL FROM:<c@remote.test>'), /^250 /);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^250 /);
    const part1 = 'Subject: chunked\r\n\r\n';
    const part2 = 'first line\r\n.not stuffed in BDAT\r\n';
    c.write(`BDAT ${Buffer.byteLength(part1)}\r\n${part1}`);
    assert.match(await replyOf(c), /^250 2\.0\.0 \d+ octets/);
    c.write(`BDAT ${Buffer.byteLength(part2)} LAST\r\n${part2}`);
    const first = await replyOf(c);
    assert.match(first, /^250 2\.0\.0 Ok/);
    c.write('BDAT 5 LAST\r\nabcde');
    assert.match(await replyOf(c), /^503 5\.5\.1/);
    assert.match(await say(c, 'NOOP'), /^250 /);
    const inbox = await inboxOf(t, 'bob@example.test');
    const msg = inbox.find((m) => m.includes('Subject: chunked'));
    assert.ok(msg);
    assert.match(msg, /\r\n\.not stuffed in BDAT\r\n$/);
    // A second message on the same connection gets its own trace id, in the reply and the header.
    assert.match(await say(c, 'MAIL FROM:<c@remote.test>'), /^250 /);
    assert.match(await say(c, 'RCPT TO:<bob@example.test>'), /^250 /);
    c.write('BDAT 22 LAST\r\nSubject: second\r\n\r\nx\r\n');
    const second = await replyOf(c);
    const idOf = (r: string) => /queued as (\S+)/.exec(r)?.[1];
    assert.ok(idOf(first) && idOf(second) && idOf(first) !== idOf(second), `${first} / ${second}`);
    const again = await inboxOf(t, 'bob@example.test');
    assert.match(again.find((m) => m.includes('Subject: second'))!, new RegExp(`id ${idOf(second)!.replace(/\./g, '\\.')}[;\\s]`));
    assert.match(msg, new RegExp(`id ${idOf(first)!.replace(/\./g, '\\.')}[;\\s]`));
    c.close();
  });
});

describe('durability', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-smtp-kill-'));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  test('a message answered with 250 survives kill -9 of the server right after the reply', async () => {
    const { ports } = await portOverrides();
    const env = portEnv(ports);
    assert.equal((await runCli(['admin', 'domain', 'add', 'example.test', '--data', dataDir])).code, 0);
    const added = await runCli(['admin', 'user', 'add', 'carol@example.test', '--password-stdin', '--data', dataDir], {
      input: 'pw-carol-123456\n',
    });
    assert.equal(added.code, 0, added.stderr);
    const proc = await spawnServe(['--data', dataDir, '--domain', 'example.test'], env);
    const subjects: string[] = [];
    try {
      const c = await session(ports.smtp);
      for (let i = 0; i < 3; i++) {
        assert.match(await say(c, 'MAIL FROM:<k@remote.test>'), /^250 /);
        assert.match(await say(c, 'RCPT TO:<carol@example.test>'), /^250 /);
        assert.match(await say(c, 'DATA'), /^354 /);
        c.write(`Subject: durable ${i}\r\n\r\nmust survive\r\n.\r\n`);
        const reply = await replyOf(c);
        if (i === 2) proc.child.kill('SIGKILL');
        assert.match(reply, /^250 /);
        subjects.push(`durable ${i}`);
      }
      c.close();
    } finally {
      await proc.stop('SIGKILL');
    }
    const { openServices } = await import('../../src/main.ts');
    const services = await openServices(loadConfig({ dataDir, env: {} }));
    try {
      const account = await services.directory.findByAddress('carol@example.test');
      const inbox = await services.mail.getMailbox(account!.id, 'INBOX');
      const entries = await services.mail.listEntries(inbox!.id);
      const raw = await Promise.all(
        (
          await services.mail.getMessages(
            account!.id,
            entries.map((e) => e.messageId),
          )
        ).map((m) => services.mail.readRaw(m)),
      );
      for (const s of subjects)
        assert.ok(
          raw.some((r) => r.toString().includes(`Subject: ${s}`)),
          `${s} survived`,
        );
    } finally {
      await services.close();
    }
  });
});
