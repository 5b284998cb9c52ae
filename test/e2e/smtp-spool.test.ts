// Message bodies arriving over SMTP go to a spool file under DATA/spool as they arrive (DATA and
// BDAT), not into memory, and the spool file is gone once the message is answered. What is
// delivered is byte for byte what was sent, after the Received header.
import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';
import { inboxOf, replyOf, waitFor } from './smtp-helpers.ts';

async function say(c: LineClient, line: string): Promise<string> {
  c.write(`${line}\r\n`);
  return replyOf(c);
}

async function spooled(t: TestServer): Promise<number[]> {
  const dir = path.join(t.dataDir, 'spool');
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.msg'));
  // A file listed may be removed before it is measured (the server deletes it as this runs): skip it.
  const sizes = await Promise.all(names.map(async (n) => (await stat(path.join(dir, n)).catch(() => undefined))?.size));
  return sizes.filter((s): s is number => s !== undefined);
}

/** A body of `lines` short lines without a colon (no header ever ends): the shape that hurt most. */
function headerless(lines: number, tag: string): string {
  return `${tag}\r\n${'x\r\n'.repeat(lines)}`;
}

describe('SMTP bodies are spooled to disk while they arrive', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    await t.services.accounts.addUser({ address: 'carol@example.test', password: 'pw-carol-123456' });
  });
  after(() => t.close());

  async function transaction(): Promise<LineClient> {
    const c = await LineClient.connect(t.ports.smtp);
    assert.match(await replyOf(c), /^220 /);
    assert.match(await say(c, 'EHLO mx.remote.test'), /^250 /m);
    assert.match(await say(c, 'MAIL FROM:<big@remote.test>'), /^250 /);
    assert.match(await say(c, 'RCPT TO:<carol@example.test>'), /^250 /);
    return c;
  }

  test('DATA: the first half is on disk before the second is sent', async () => {
    const c = await transaction();
    assert.match(await say(c, 'DATA'), /^354 /);
    const first = headerless(400_000, 'spool-data');
    c.write(first);
    const sizes = await waitFor(async () => {
      const s = await spooled(t);
      return s.length === 1 && s[0]! >= first.length ? s : undefined;
    }, 'the first half in the spool file');
    assert.equal(sizes[0], first.length);
    const second = 'x\r\n'.repeat(400_000);
    assert.match(await say(c, `${second}.`), /^250 2\.0\.0 Ok/);
    assert.deepEqual(await spooled(t), [], 'the spool file is removed once answered');
    const inbox = await inboxOf(t, 'carol@example.test');
    const got = inbox.find((m) => m.includes('spool-data'))!;
    // our Authentication-Results (DKIM not attempted on such a header section), then Received
    assert.match(got, /^Authentication-Results: localhost;\r\n dkim=permerror [\s\S]*?\r\nReceived: /);
    assert.equal(got.slice(got.indexOf('spool-data')), first + second, 'delivered byte for byte');
    c.close();
  });

  test('BDAT: chunks go to the spool file as they come', async () => {
    const c = await transaction();
    const first = headerless(300_000, 'spool-bdat');
    c.write(`BDAT ${first.length}\r\n${first}`);
    assert.match(await replyOf(c), /^250 2\.0\.0 /);
    assert.deepEqual(await spooled(t), [first.length]);
    const last = 'Tail\r\n';
    c.write(`BDAT ${last.length} LAST\r\n${last}`);
    assert.match(await replyOf(c), /^250 2\.0\.0 Ok/);
    assert.deepEqual(await spooled(t), []);
    const inbox = await inboxOf(t, 'carol@example.test');
    const got = inbox.find((m) => m.includes('spool-bdat'))!;
    assert.equal(got.slice(got.indexOf('spool-bdat')), first + last);
    c.close();
  });

  test('a session that ends in the middle of DATA leaves no spool file', async () => {
    const c = await transaction();
    assert.match(await say(c, 'DATA'), /^354 /);
    c.write(headerless(10_000, 'spool-abandoned'));
    await waitFor(async () => ((await spooled(t)).length === 1 ? true : undefined), 'the spool file');
    c.close();
    await waitFor(async () => ((await spooled(t)).length === 0 ? true : undefined), 'the spool file removed');
  });

  test('RSET drops the chunks received so far', async () => {
    const c = await transaction();
    c.write('BDAT 5\r\nabcde');
    assert.match(await replyOf(c), /^250 /);
    assert.deepEqual(await spooled(t), [5]);
    assert.match(await say(c, 'RSET'), /^250 /);
    await waitFor(async () => ((await spooled(t)).length === 0 ? true : undefined), 'the spool file removed');
    assert.match(await say(c, 'QUIT'), /^221 /);
  });
});
