// Sieve at delivery, end to end: messages sent to the MX by swaks (Debian) and nodemailer are
// filed by the recipient's active script (fileinto with flags, :create), refused (reject → 550),
// redirected and answered by vacation (both seen in the outbound queue), and a failing script
// keeps the message and tells the owner (RFC 5228 §2.10.6).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import nodemailer from 'nodemailer';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { run } from './smtp-helpers.ts';

const SCRIPT = `require ["fileinto", "imap4flags", "vacation", "variables", "mailbox", "reject", "copy"];
if header :contains "subject" "[lists]" {
  fileinto :create :flags "\\\\Flagged" "Lists/ietf";
  stop;
}
if header :is "subject" "reject me" { reject "Not interested, thanks"; stop; }
if header :is "subject" "forward" { redirect :copy "far@remote.example"; }
if header :matches "subject" "*" { set "subj" "\${1}"; }
vacation :days 3 :subject "Away: \${subj}" "I am away until Monday.";
`;

async function mailbox(t: TestServer, address: string, name: string): Promise<Array<{ raw: string; keywords: readonly string[] }>> {
  const account = await t.services.directory.findByAddress(address);
  const box = await t.services.mail.getMailbox(account!.id, name);
  if (!box) return [];
  const entries = await t.services.mail.listEntries(box.id);
  const messages = await t.services.mail.getMessages(
    account!.id,
    entries.map((e) => e.messageId),
  );
  return Promise.all(
    messages.map(async (m, i) => ({ raw: (await t.services.mail.readRaw(m)).toString('utf8'), keywords: entries[i]!.keywords })),
  );
}

async function queued(t: TestServer): Promise<Array<{ sender: string; recipient: string; raw: string }>> {
  const rows = await t.services.db.kysely
    .selectFrom('queue_messages')
    .innerJoin('queue_recipients', 'queue_recipients.message_id', 'queue_messages.id')
    .select(['queue_messages.sender', 'queue_messages.blob_id', 'queue_recipients.recipient'])
    .orderBy('queue_messages.id')
    .execute();
  return Promise.all(
    rows.map(async (r) => ({ sender: r.sender, recipient: r.recipient, raw: (await t.services.blobs.get(r.blob_id)).toString('utf8') })),
  );
}

describe('Sieve at MX delivery', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ domain: 'example.test', overrides: { queue: { enabled: false } } });
    const jon = await t.services.accounts.addUser({ address: 'jon@example.test', password: 'sieve-password-1' });
    await t.services.sieveScripts.put(jon.account.id, 'main', SCRIPT);
    await t.services.sieveScripts.setActive(jon.account.id, 'main');
  });
  after(() => t.close());

  const swaks = (subject: string, extra: string[] = []) =>
    run('swaks', [
      '--server',
      `127.0.0.1:${t.ports.smtp}`,
      '--from',
      'ann@sender.example',
      '--to',
      'jon@example.test',
      '--header',
      `Subject: ${subject}`,
      '--body',
      'Hello Jon',
      ...extra,
    ]);

  test('swaks → MX → fileinto :create :flags lands in the new folder, flagged', { skip: commandSkip('swaks', 'swaks') }, async () => {
    const r = await swaks('[lists] IETF weekly');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const filed = await mailbox(t, 'jon@example.test', 'Lists/ietf');
    assert.equal(filed.length, 1);
    assert.match(filed[0]!.raw, /Subject: \[lists\] IETF weekly/);
    assert.deepEqual(filed[0]!.keywords, ['$flagged']);
    assert.equal((await mailbox(t, 'jon@example.test', 'INBOX')).length, 0, 'filed, not kept');
  });

  test('reject with one recipient is the SMTP reply: 550 5.7.1 with the reason, nothing stored', {
    skip: commandSkip('swaks', 'swaks'),
  }, async () => {
    const r = await swaks('reject me');
    assert.notEqual(r.code, 0);
    assert.match(r.stdout, /<\*\* 550 5\.7\.1 Not interested, thanks/);
    assert.equal((await mailbox(t, 'jon@example.test', 'INBOX')).length, 0);
  });

  test('nodemailer → MX: kept, redirected with :copy to the queue, one vacation reply per sender per period', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true });
    const before = (await queued(t)).length;
    await transport.sendMail({ from: 'bob@far.example', to: 'jon@example.test', subject: 'forward', text: 'one' });
    await transport.sendMail({ from: 'bob@far.example', to: 'jon@example.test', subject: 'second', text: 'two' });
    transport.close();
    const inbox = await mailbox(t, 'jon@example.test', 'INBOX');
    assert.equal(inbox.length, 2, 'both kept (redirect :copy keeps)');
    const q = (await queued(t)).slice(before);
    const redirect = q.filter((m) => m.recipient === 'far@remote.example');
    assert.equal(redirect.length, 1);
    assert.equal(redirect[0]!.sender, 'bob@far.example', 'redirect keeps the envelope sender (RFC 5228 §4.2)');
    assert.match(redirect[0]!.raw, /^X-Sieve-Redirected-By: /);
    const replies = q.filter((m) => m.recipient === 'bob@far.example');
    assert.equal(replies.length, 1, 'the second message from the same sender gets no second reply');
    assert.equal(replies[0]!.sender, '', 'sent from the null sender');
    assert.match(replies[0]!.raw, /^Subject: Away: forward\r$/m);
    assert.match(replies[0]!.raw, /^Auto-Submitted: auto-replied/m);
    assert.match(replies[0]!.raw, /^To: <bob@far.example>\r$/m);
    assert.match(replies[0]!.raw, /I am away until Monday\./);
  });

  test('no vacation reply to list mail or when the user is not a direct recipient (RFC 5230 §4.5–4.6)', {
    skip: commandSkip('swaks', 'swaks'),
  }, async () => {
    const before = (await queued(t)).length;
    assert.equal(
      (
        await run('swaks', [
          '--server',
          `127.0.0.1:${t.ports.smtp}`,
          '--from',
          'list@lists.example',
          '--to',
          'jon@example.test',
          '--add-header',
          'List-Id: <x.lists.example>',
          '--header',
          'Subject: digest',
        ])
      ).code,
      0,
    );
    assert.equal(
      (
        await run('swaks', [
          '--server',
          `127.0.0.1:${t.ports.smtp}`,
          '--from',
          'cat@other.example',
          '--to',
          'jon@example.test',
          '--header',
          'To: someone@else.example',
          '--header',
          'Subject: bcc',
        ])
      ).code,
      0,
    );
    assert.equal((await queued(t)).length, before);
  });

  test('a script that fails at run time keeps the message and tells the owner once', { skip: commandSkip('swaks', 'swaks') }, async () => {
    const kim = await t.services.accounts.addUser({ address: 'kim@example.test', password: 'sieve-password-2' });
    // Valid, but it takes more actions than a run may (sieve.max_actions 32).
    await t.services.sieveScripts.put(kim.account.id, 'loud', `require "fileinto";\n${'fileinto "INBOX";\n'.repeat(40)}`);
    await t.services.sieveScripts.setActive(kim.account.id, 'loud');
    for (const n of [1, 2]) {
      const r = await run('swaks', [
        '--server',
        `127.0.0.1:${t.ports.smtp}`,
        '--from',
        'ann@sender.example',
        '--to',
        'kim@example.test',
        '--header',
        `Subject: try ${n}`,
      ]);
      assert.equal(r.code, 0, r.stdout);
    }
    const inbox = await mailbox(t, 'kim@example.test', 'INBOX');
    assert.equal(inbox.filter((m) => /Subject: try/.test(m.raw)).length, 2, 'both kept');
    const notices = inbox.filter((m) => /Subject: Your mail filter "loud" failed/.test(m.raw));
    assert.equal(notices.length, 1, 'one notice per script version');
    assert.match(notices[0]!.raw, /more than 32 actions/);
  });
});
