// IMAP with mutt (Debian), a client nobody here wrote, in batch mode: imap_authenticators
// "oauthbearer" with imap_oauth_refresh_command returning a token from `fingerpost admin token
// issue`; mutt reads INBOX and pipes the message out, also with imap_deflate (COMPRESS=DEFLATE),
// and shows a thread tree with sort=threads. mutt needs a terminal, so `script` gives it one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { issueToken } from '../helpers/idp.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = 'alice@example.test';
const skip = commandSkip('mutt', 'mutt', ['-v']) || commandSkip('script', 'bsdutils', ['--version']);

/** Runs mutt on a pseudo-terminal with pushed keys; resolves with its exit code and screen output. */
function mutt(dir: string, folder: string, keys: string, extra = ''): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const cmdline = `mutt -n -F ${dir}/muttrc ${extra} -f ${folder} -e 'push "${keys}"'`;
    const child = spawn('script', ['-qec', cmdline, '/dev/null'], {
      env: { ...process.env, TERM: 'xterm', HOME: dir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

describe('IMAP with mutt', { skip }, () => {
  let t: TestServer;
  let dir: string;
  let aliceId = 0;

  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    const a = await t.services.accounts.addUser({ address: ALICE, password: 'alice-password-1' });
    aliceId = a.account.id;
    await t.services.mail.deliver(
      a.account.id,
      Buffer.from(
        'From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: read by mutt\r\nDate: Mon, 02 Nov 2026 09:00:00 +0000\r\n\r\nMutt body line.\r\n',
      ),
    );
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-mutt-'));
    await writeFile(path.join(dir, 'token'), `${await issueToken(t, ALICE, { resource: 'imap://localhost' })}\n`, { mode: 0o600 });
    await writeFile(
      path.join(dir, 'muttrc'),
      [
        `set imap_user="${ALICE}"`,
        'set imap_authenticators="oauthbearer"',
        `set imap_oauth_refresh_command="cat ${dir}/token"`,
        `set ssl_ca_certificates_file="${t.caFile}"`,
        'set ssl_force_tls=yes',
        `set folder="imaps://localhost:${t.ports.imaps}/"`,
        'set spoolfile="+INBOX"',
        'set header_cache=""',
        'set wait_key=no',
        'set pipe_decode=no',
        'set mail_check=0',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('OAUTHBEARER via imap_oauth_refresh_command, reading INBOX', async () => {
    const out = path.join(dir, 'message');
    const r = await mutt(dir, `imaps://localhost:${t.ports.imaps}/INBOX`, `<pipe-entry>cat > ${out}<enter><quit>`);
    assert.equal(r.code, 0);
    assert.match(r.screen, /Authenticating \(OAUTHBEARER\)/);
    assert.match(r.screen, /read by mutt/);
    const message = await readFile(out, 'utf8');
    assert.match(message, /^From: Bob <bob@example\.test>/);
    assert.match(message, /Mutt body line\./);
  });

  test('imap_deflate: mutt turns on COMPRESS=DEFLATE (RFC 4978) and reads INBOX through it', async () => {
    const out = path.join(dir, 'deflated');
    const r = await mutt(
      dir,
      `imaps://localhost:${t.ports.imaps}/INBOX`,
      `<pipe-entry>cat > ${out}<enter><quit>`,
      `-d 2 -e 'set imap_deflate=yes'`,
    );
    assert.equal(r.code, 0);
    const message = await readFile(out, 'utf8');
    assert.match(message, /Mutt body line\./);
    // mutt -d 2 writes the protocol exchange to ~/.muttdebug0.
    const debug = await readFile(path.join(dir, '.muttdebug0'), 'utf8');
    assert.match(debug, /COMPRESS DEFLATE/);
    assert.match(debug, /OK DEFLATE active/);
  });

  test('sort=threads: mutt shows the thread tree of a mailbox the server could THREAD (RFC 5256)', async () => {
    // mutt 2.x threads on the client from the References/In-Reply-To it FETCHes and sends no
    // THREAD command even when THREAD=REFERENCES is offered; the tree must come out the same.
    const account = { id: aliceId };
    const box = await t.services.mail.createMailbox(account.id, 'Threads');
    const messages = [
      ['root', 'Plans', '', 'Mon, 02 Nov 2026 09:00:00 +0000'],
      ['reply', 'Re: Plans', '<root@t>', 'Mon, 02 Nov 2026 10:00:00 +0000'],
      ['other', 'Lunch', '', 'Mon, 02 Nov 2026 11:00:00 +0000'],
      ['deeper', 'Re: Plans', '<root@t> <reply@t>', 'Mon, 02 Nov 2026 12:00:00 +0000'],
    ];
    for (const [id, subject, refs, date] of messages)
      await t.services.mail.append(
        account.id,
        box.id,
        Buffer.from(
          `From: bob@example.test\r\nSubject: ${subject}\r\nDate: ${date}\r\nMessage-ID: <${id}@t>\r\n${refs ? `References: ${refs}\r\nIn-Reply-To: ${refs.split(' ').at(-1)}\r\n` : ''}\r\n${id}\r\n`,
        ),
      );
    const r = await mutt(
      dir,
      `imaps://localhost:${t.ports.imaps}/Threads`,
      '<quit>',
      `-d 2 -e 'set sort=threads' -e 'set ascii_chars=yes' -e 'set index_format="%4C %s"'`,
    );
    assert.equal(r.code, 0);
    const plain = r.screen.replace(/\x1b(\[[0-9;?]*[A-Za-z]|\([A-Z0-9]|[=>])/g, ' ');
    // (mutt leaves out a reply's subject when it is its parent's.)
    assert.match(plain, /\b1 Plans\s+2 `->\s+3 {3}`->\s+4 Lunch/);
    const debug = await readFile(path.join(dir, '.muttdebug0'), 'utf8');
    assert.match(debug, /THREAD=REFERENCES/, 'the server offered THREAD');
    assert.match(debug, /REFERENCES/i);
    assert.doesNotMatch(debug, /> a\d+ (UID )?THREAD /, 'mutt threads by itself');
  });

  test('a refresh command returning a bad token leaves mutt unauthenticated', async () => {
    await writeFile(path.join(dir, 'token'), 'not-a-token\n');
    const out = path.join(dir, 'nothing');
    const r = await mutt(dir, `imaps://localhost:${t.ports.imaps}/INBOX`, `<pipe-entry>cat > ${out}<enter><quit>`);
    assert.match(r.screen, /Authentication failed|OAUTHBEARER authentication failed|Login failed/i);
    await assert.rejects(readFile(out, 'utf8'));
  });
});
