// mutt end to end (Debian `mutt`, batch mode): the muttrc from `fingerpost setup --for mutt` sets
// imap_oauth_refresh_command and smtp_oauth_refresh_command to `fingerpost token`; mutt sends a
// message over submission (OAUTHBEARER) and finds it in the INBOX it reads over IMAP. With the
// grant revoked (RFC 7009), mutt fails and `fingerpost token` exits 2.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { clientPaths } from '../../src/client/store/paths.ts';
import { TokenStore } from '../../src/client/store/token-store.ts';
import { commandSkip } from '../helpers/peers.ts';
import { NODE, type TestServer } from '../helpers/server.ts';
import { CHROMIUM, clientHome, clientTestServer, deviceLogin, LAUNCHER, launchChromium, runAsync, spawnCli } from './client-support.ts';

const skip = commandSkip(CHROMIUM, 'chromium') || commandSkip('mutt', 'mutt', ['-v']) || commandSkip('script', 'bsdutils', ['--version']);
const ALICE = 'alice@localhost';

describe('terminal mail clients (mutt, msmtp, mbsync) with fingerpost token', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let home: Awaited<ReturnType<typeof clientHome>>;
  let env: NodeJS.ProcessEnv;
  let muttrc: string;

  before(async () => {
    server = await clientTestServer([ALICE]);
    browser = await launchChromium(server);
    home = await clientHome(server);
    env = { ...process.env, ...home.env, FINGERPOST_PASSPHRASE: 'mutt test passphrase', TERM: 'xterm' };
    const login = await deviceLogin(server, browser, ALICE, env as Record<string, string>);
    assert.equal(login.code, 0, login.stderr);
    const setup = spawnCli(
      ['setup', ALICE, '--for', 'mutt', '--command', `${NODE} ${LAUNCHER}`, '--ca', server.caFile],
      env as Record<string, string>,
    );
    assert.equal(await setup.exited, 0, setup.stderr);
    muttrc = path.join(home.dir, 'muttrc');
    // The generated snippet, plus what batch mode needs: no Fcc, no prompts, no caches.
    await writeFile(
      muttrc,
      `${setup.stdout}
set record = ""
set copy = no
set move = no
set quit = yes
set wait_key = no
set mark_old = no
set header_cache = ""
set message_cachedir = ""
set certificate_file = "${home.dir}/mutt-certificates"
`,
    );
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await home?.close();
  });

  const send = (subject: string) => runAsync('mutt', ['-F', muttrc, '-s', subject, '--', ALICE], { input: 'Sent by mutt.\n', env });

  /** Opens the INBOX in mutt (in a pseudo-terminal) and pipes every message to a file. */
  async function readInbox(): Promise<string> {
    const out = path.join(home.dir, `inbox-${Date.now()}.txt`);
    await writeFile(out, '');
    const push = `push "<tag-pattern>~A<enter><tag-prefix><pipe-message>cat >> ${out}<enter><quit>"`;
    await runAsync('script', ['-qec', `mutt -F ${muttrc} -e '${push}'`, '/dev/null'], { env });
    return readFile(out, 'utf8');
  }

  it('sends over submission and reads the message back from the INBOX', async () => {
    const subject = `Hello from mutt ${Date.now()}`;
    const sent = await send(subject);
    assert.equal(sent.code, 0, `mutt could not send:\n${sent.stdout}\n${sent.stderr}`);
    let inbox = '';
    for (let i = 0; i < 20 && !inbox.includes(subject); i++) inbox = await readInbox();
    assert.ok(inbox.includes(`Subject: ${subject}`), `the INBOX mutt reads has the message:\n${inbox.slice(0, 2000)}`);
    assert.match(inbox, /Sent by mutt\./);
    assert.match(inbox, /with ESMTPSA/, 'it came in over authenticated submission');
  });

  async function snippetFor(client: string): Promise<string> {
    const setup = spawnCli(
      ['setup', ALICE, '--for', client, '--command', `${NODE} ${LAUNCHER}`, '--ca', server.caFile],
      env as Record<string, string>,
    );
    assert.equal(await setup.exited, 0, setup.stderr);
    return setup.stdout;
  }

  async function waitInInbox(subject: string): Promise<string> {
    let inbox = '';
    for (let i = 0; i < 20 && !inbox.includes(subject); i++) inbox = await readInbox();
    return inbox;
  }

  it('msmtp sends with its snippet (passwordeval, OAUTHBEARER); mutt finds the message', {
    skip: commandSkip('msmtp', 'msmtp'),
  }, async () => {
    const rc = path.join(home.dir, 'msmtprc');
    await writeFile(rc, await snippetFor('msmtp'), { mode: 0o600 });
    const subject = `Hello from msmtp ${Date.now()}`;
    const r = await runAsync('msmtp', ['-C', rc, '-a', ALICE, ALICE], { input: `Subject: ${subject}\n\nSent by msmtp.\n`, env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await waitInInbox(subject)).includes(`Subject: ${subject}`));
  });

  it('mbsync syncs the INBOX with its snippet (PassCmd, XOAUTH2)', { skip: commandSkip('mbsync', 'isync', ['-v']) }, async () => {
    const maildir = path.join(home.dir, 'Mail');
    const rc = path.join(home.dir, 'mbsyncrc');
    const text = (await snippetFor('mbsync')).replaceAll(`~/Mail/${ALICE}/`, `${maildir}/`);
    await writeFile(rc, text);
    await mkdir(maildir, { recursive: true });
    const r = await runAsync('mbsync', ['-c', rc, ALICE], { env });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const names = await readdir(path.join(maildir, 'INBOX', 'cur')).catch(() => [] as string[]);
    const fresh = await readdir(path.join(maildir, 'INBOX', 'new')).catch(() => [] as string[]);
    const bodies = await Promise.all(
      [...names.map((n) => path.join(maildir, 'INBOX', 'cur', n)), ...fresh.map((n) => path.join(maildir, 'INBOX', 'new', n))].map((f) =>
        readFile(f, 'utf8'),
      ),
    );
    assert.ok(
      bodies.some((b) => /Subject: Hello from mutt/.test(b)),
      `the INBOX was synced (${bodies.length} messages)`,
    );
  });

  it('fails once the grant is revoked, and fingerpost token exits 2', async () => {
    const store = new TokenStore({ paths: clientPaths(env), env });
    const account = await store.load(ALICE);
    const secret = await store.openSecret(account);
    const revocation = account.metadata.revocation_endpoint!;
    const status = await new Promise<number>((resolve, reject) => {
      const body = new URLSearchParams({
        token: secret.refreshToken!,
        token_type_hint: 'refresh_token',
        client_id: account.clientId,
      }).toString();
      const req = https.request(
        revocation,
        { method: 'POST', ca: server.ca, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(status, 200, 'RFC 7009 §2.2: revoked');
    // The cached access tokens run out; the next use needs the (revoked) refresh token.
    const expired = Object.fromEntries(Object.entries(secret.tokens).map(([k, t]) => [k, { ...t, expiresAt: Date.now() - 1000 }]));
    await store.save(account, { ...secret, tokens: expired });

    const sent = await send('after revocation');
    assert.notEqual(sent.code, 0, 'mutt cannot send without a token');
    assert.match(sent.stderr, /fingerpost: alice@localhost: refreshing the access token: the issuer answered invalid_grant/);
    assert.match(sent.stderr, /SASL authentication failed/);
    const token = spawnCli(['token', ALICE, '--service', 'imap'], env as Record<string, string>);
    assert.equal(await token.exited, 2, token.stderr);
    assert.equal(token.stdout, '', 'nothing on stdout');
    assert.match(token.stderr, /invalid_grant/);
    assert.match(token.stderr, /fix: sign in again: fingerpost login alice@localhost/);
  });
});
