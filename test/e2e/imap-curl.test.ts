// IMAP with curl (Debian), a client nobody here wrote: --oauth2-bearer over imaps:// and over
// imap:// with STARTTLS, with AUTH=OAUTHBEARER and AUTH=XOAUTH2; LIST with a hostile pattern;
// a bad token makes curl fail.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { issueToken } from '../helpers/idp.ts';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = 'alice@example.test';
const skip = commandSkip('curl', 'curl');

function curl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['--silent', '--show-error', '--max-time', '30', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('IMAP with curl', { skip }, () => {
  let t: TestServer;
  let token: string;

  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    const account = await t.services.accounts.addUser({ address: ALICE, password: 'alice-password-1' });
    await t.services.mail.deliver(
      account.account.id,
      Buffer.from('From: bob@example.test\r\nSubject: for curl\r\n\r\nHello from the store.\r\n'),
    );
    token = await issueToken(t, ALICE, { resource: 'imap://localhost' });
  });
  after(async () => {
    await t?.close();
  });

  const common = () => ['--cacert', t.caFile, '--user', ALICE, '--oauth2-bearer'];

  test('imaps:// with AUTH=OAUTHBEARER lists mailboxes and fetches a message', async () => {
    const list = await curl([...common(), token, '--login-options', 'AUTH=OAUTHBEARER', `imaps://localhost:${t.ports.imaps}/`]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /\* LIST \([^)]*\) "\/" INBOX/);
    assert.match(list.stdout, /\\Sent\) "\/" Sent/);
    const msg = await curl([...common(), token, '--login-options', 'AUTH=OAUTHBEARER', `imaps://localhost:${t.ports.imaps}/INBOX;UID=1`]);
    assert.equal(msg.code, 0, msg.stderr);
    assert.match(msg.stdout, /Subject: for curl/);
    assert.match(msg.stdout, /Hello from the store\./);
  });

  test('imap:// with STARTTLS and AUTH=XOAUTH2 runs a custom command', async () => {
    const r = await curl([
      ...common(),
      token,
      '--login-options',
      'AUTH=XOAUTH2',
      '--ssl-reqd',
      '-X',
      'STATUS INBOX (MESSAGES UIDNEXT)',
      `imap://localhost:${t.ports.imap}/`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\* STATUS INBOX \(MESSAGES 1 UIDNEXT 2\)/);
  });

  test('LIST with the pattern that used to freeze the server, and LSUB, as custom commands', async () => {
    await t.services.mail.createMailbox((await t.services.directory.findByAddress(ALICE))!.id, 'abcdefghijklmnopqrstuvwxyz0123');
    const run = (command: string) =>
      curl([...common(), token, '--login-options', 'AUTH=OAUTHBEARER', '-X', command, `imaps://localhost:${t.ports.imaps}/`]);
    const frozen = await run('LIST "" "*%*%*%*%*%*%z"');
    assert.equal(frozen.code, 0, frozen.stderr);
    assert.equal(frozen.stdout, '');
    const hit = await run('LIST "" "*%*%*%*%*%*%3"');
    assert.match(hit.stdout, /^\* LIST \(\\HasNoChildren\) "\/" abcdefghijklmnopqrstuvwxyz0123\r?\n$/);
    const lsub = await run('LSUB "" "*"');
    assert.match(lsub.stdout, /\* LSUB \(\) "\/" INBOX/);
    assert.doesNotMatch(lsub.stdout, /abcdef/, 'CREATE does not subscribe');
  });

  test('FETCH PREVIEW (RFC 8970), EMAILID (RFC 8474) and SAVEDATE (RFC 8514) through curl', async () => {
    const r = await curl([
      ...common(),
      token,
      '--login-options',
      'AUTH=OAUTHBEARER',
      '-X',
      'FETCH 1 (PREVIEW EMAILID SAVEDATE)',
      `imaps://localhost:${t.ports.imaps}/INBOX`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^\* 1 FETCH \(PREVIEW "Hello from the store\." EMAILID \(E\d+\) SAVEDATE "\d\d-\w{3}-\d{4} [\d:]{8} \+0000"\)/m,
    );
  });

  test('a bad token makes curl fail, over both mechanisms', async () => {
    const forged = `${token.slice(0, -4)}AAAA`;
    for (const mech of ['OAUTHBEARER', 'XOAUTH2']) {
      const r = await curl([...common(), forged, '--login-options', `AUTH=${mech}`, `imaps://localhost:${t.ports.imaps}/`]);
      assert.notEqual(r.code, 0, `${mech}: curl should fail`);
      assert.match(r.stderr, /denied|login|auth/i);
    }
  });
});
