// `fingerpost admin import` from a live Dovecot (the source server, Debian dovecot-imapd), from its
// Maildir directly and from an mbox: folders, flags, keywords, INTERNALDATE and the exact bytes
// arrive as imapflow reads them back; a second run resumes instead of copying twice; what the
// store refuses is skipped and reported.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { startDovecot, type TestDovecot } from '../helpers/dovecot.ts';
import { commandSkip } from '../helpers/peers.ts';
import { runCli, startTestServer, type TestServer } from '../helpers/server.ts';

const skip = commandSkip('dovecot', 'dovecot-imapd', ['--version']);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function message(subject: string, body = 'plain body'): Buffer {
  return Buffer.concat([
    Buffer.from(`From: Source <src@example.test>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.test>\r\n`),
    Buffer.from('Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
    Buffer.concat([Buffer.from(`${body} `), Buffer.from([0xe9, 0xe8]), Buffer.from('\r\n')]),
  ]);
}

interface Seen {
  readonly subject: string;
  readonly flags: string[];
  readonly date: number;
  readonly sha: string;
}

async function folderContents(port: number, ca: string, auth: { user: string; pass: string }, folder: string): Promise<Seen[]> {
  const c = new ImapFlow({ host: '127.0.0.1', port, secure: true, tls: { ca, servername: 'localhost' }, auth, logger: false });
  c.on('error', () => {});
  await c.connect();
  try {
    const box = await c.mailboxOpen(folder);
    const out: Seen[] = [];
    if (box.exists)
      for await (const m of c.fetch('1:*', { envelope: true, flags: true, internalDate: true, source: true }))
        out.push({
          subject: m.envelope?.subject ?? '',
          flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort(),
          date: new Date(m.internalDate!).getTime(),
          sha: sha(m.source!),
        });
    return out.sort((a, b) => a.subject.localeCompare(b.subject));
  } finally {
    await c.logout().catch(() => {});
  }
}

describe('admin import', { skip }, () => {
  let dovecot: TestDovecot;
  let t: TestServer;
  let scratch: string;
  let dovecotCa = '';
  const when = (iso: string) => new Date(iso).getTime();

  before(async () => {
    dovecot = await startDovecot();
    dovecotCa = await readFile(dovecot.caFile, 'utf8');
    scratch = await mkdtemp(path.join(os.tmpdir(), 'fp-import-'));
    const md = dovecot.maildir;
    await writeFile(path.join(md, 'dovecot-keywords'), '0 $Label1\n');
    const files: Array<[string, Buffer, string]> = [
      ['cur/1700000001.M1P1.src:2,S', message('one seen'), '2026-01-02T03:04:05Z'],
      ['cur/1700000002.M2P1.src:2,FRa', message('two flagged answered label'), '2026-02-03T04:05:06Z'],
      ['new/1700000003.M3P1.src', message('three new'), '2026-03-04T05:06:07Z'],
    ];
    await mkdir(path.join(md, '.Lists.Work', 'cur'), { recursive: true });
    for (const sub of ['new', 'tmp']) await mkdir(path.join(md, '.Lists.Work', sub), { recursive: true });
    files.push(['.Lists.Work/cur/1700000004.M4P1.src:2,ST', message('four in a subfolder'), '2026-04-05T06:07:08Z']);
    for (const [rel, bytes, date] of files) {
      await writeFile(path.join(md, rel), bytes);
      await utimes(path.join(md, rel), new Date(date), new Date(date));
    }
    dovecot.fixOwnership();
    t = await startTestServer();
    for (const user of ['imap', 'maildir', 'mbox'])
      assert.equal(
        (
          await runCli(['admin', 'user', 'add', `${user}@example.test`, '--password-stdin', '--data', t.dataDir], {
            input: 'import target pw\n',
          })
        ).code,
        0,
      );
  });

  after(async () => {
    await t?.close();
    await dovecot?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  const ours = (user: string, folder: string) =>
    folderContents(t.ports.imaps, t.ca, { user: `${user}@example.test`, pass: 'import target pw' }, folder);
  const theirs = (folder: string) => folderContents(dovecot.imapsPort, dovecotCa, { user: dovecot.user, pass: dovecot.password }, folder);

  it('copies every folder of a live IMAP server with flags, keywords, INTERNALDATE and bytes, and resumes', async () => {
    const args = ['admin', 'import', 'imap', 'imap@example.test', `127.0.0.1:${dovecot.imapsPort}`, '--user', dovecot.user];
    const tls = ['--ca', dovecot.caFile, '--servername', 'localhost', '--data', t.dataDir];
    const first = await runCli([...args, ...tls], { input: `${dovecot.password}\n` });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /imported 4 message\(s\) from 2 folder\(s\)/);
    for (const folder of ['INBOX', 'Lists/Work']) assert.deepEqual(await ours('imap', folder), await theirs(folder), folder);
    const inbox = await ours('imap', 'INBOX');
    assert.deepEqual(inbox.find((m) => m.subject.startsWith('two'))!.flags, ['$Label1', '\\Answered', '\\Flagged']);

    const again = await runCli([...args, ...tls], { input: `${dovecot.password}\n` });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /imported 0 message\(s\).*resumed 2 folder/);
    assert.equal((await ours('imap', 'INBOX')).length, 3, 'nothing twice');

    const wrong = await runCli([...args, ...tls], { input: 'not the password\n' });
    assert.notEqual(wrong.code, 0);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /not the password/, 'the password is never echoed');
  });

  it('reads a Maildir directly (Maildir++ folders, info flags, dovecot-keywords, mtime as arrival), skipping what the store refuses', async () => {
    const md = dovecot.maildir;
    await writeFile(path.join(md, 'cur', '1700000009.M9P1.src:2,S'), Buffer.alloc(0));
    const run = await runCli(['admin', 'import', 'maildir', 'maildir@example.test', md, '--data', t.dataDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /imported 4 message\(s\) from 2 folder\(s\)/);
    assert.match(run.stdout, /skipped 1:\n {2}INBOX cur\/1700000009\.M9P1\.src:2,S: empty message/);
    const inbox = await ours('maildir', 'INBOX');
    assert.deepEqual(
      inbox.map((m) => [m.subject, m.flags, m.date]),
      [
        ['one seen', ['\\Seen'], when('2026-01-02T03:04:05Z')],
        ['three new', [], when('2026-03-04T05:06:07Z')],
        ['two flagged answered label', ['$Label1', '\\Answered', '\\Flagged'], when('2026-02-03T04:05:06Z')],
      ],
    );
    assert.equal(inbox[0]!.sha, sha(message('one seen')), 'the bytes are the file');
    const work = await ours('maildir', 'Lists/Work');
    assert.deepEqual(work[0]!.flags, ['\\Deleted', '\\Seen']);

    await writeFile(path.join(md, 'new', '1700000010.M10P1.src'), message('five later'));
    const resumed = await runCli(['admin', 'import', 'maildir', 'maildir@example.test', md, '--data', t.dataDir]);
    assert.match(resumed.stdout, /imported 1 message\(s\)/, 'only what arrived since');
  });

  it('reads an mbox: From_ dates, Status/X-Status flags, >From unquoted, mbox state fields dropped', async () => {
    const mbox = path.join(scratch, 'mutt-folder');
    await writeFile(
      mbox,
      [
        'From alice@example.test Tue Mar  3 10:11:12 2026',
        'From: alice@example.test',
        'Subject: mbox one',
        'Status: RO',
        'X-Status: AF',
        '',
        '>From the start of a line',
        '>>From quoted twice',
        '',
        'From bob@example.test Wed Mar  4 01:02:03 2026',
        'From: bob@example.test',
        'Subject: mbox two',
        'X-Keywords: $Work',
        '',
        'second body',
        '',
      ].join('\n'),
    );
    const run = await runCli(['admin', 'import', 'mbox', 'mbox@example.test', mbox, '--data', t.dataDir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /imported 2 message\(s\) from 1 folder\(s\)/);
    const inbox = await ours('mbox', 'INBOX');
    assert.deepEqual(
      inbox.map((m) => [m.subject, m.flags, m.date]),
      [
        ['mbox one', ['\\Answered', '\\Flagged', '\\Seen'], when('2026-03-03T10:11:12Z')],
        ['mbox two', ['$Work'], when('2026-03-04T01:02:03Z')],
      ],
    );
    assert.equal(
      inbox[0]!.sha,
      sha(Buffer.from('From: alice@example.test\r\nSubject: mbox one\r\n\r\nFrom the start of a line\r\n>From quoted twice\r\n')),
    );
  });
});
