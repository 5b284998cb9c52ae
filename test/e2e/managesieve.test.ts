// ManageSieve (RFC 5804) end to end: sieve-connect (Debian, Perl) uploads, checks, activates and
// downloads a script over STARTTLS with certificate checks; python3-sievelib (Debian) drives the
// other commands; raw exchanges check refusals and bad input. A script uploaded by the client
// then files a message sent to the MX by swaks.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { resourceIds } from '../../src/config/resources.ts';
import { issueToken } from '../helpers/idp.ts';
import { commandSkip, peerSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';
import { run } from './smtp-helpers.ts';

const PASSWORD = 'managesieve-password-1';
const SIEVELIB = spawnSync('/usr/bin/python3', ['-c', 'import sievelib.managesieve'], { stdio: 'ignore' }).status === 0;

/** Reads lines up to the final OK/NO/BYE response. */
async function responseOf(c: LineClient): Promise<string[]> {
  return c.until(/^(OK|NO|BYE)\b/);
}

async function starttls(c: LineClient, ca: string): Promise<LineClient> {
  c.write('STARTTLS\r\n');
  assert.match((await responseOf(c)).at(-1)!, /^OK/);
  const secure = tls.connect({ socket: c.socket, ca, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  c.socket.removeAllListeners('data');
  const s = new LineClient(secure);
  assert.match((await responseOf(s)).at(-1)!, /^OK "TLS active"/);
  return s;
}

describe('ManageSieve', () => {
  let t: TestServer;
  let dir: string;
  let jon = 0;
  before(async () => {
    t = await startTestServer({ domain: 'example.test', overrides: { sieve: { max_script_size: 4096, max_scripts: 3 } } });
    jon = (await t.services.accounts.addUser({ address: 'jon@example.test', password: PASSWORD })).account.id;
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-managesieve-'));
    await writeFile(path.join(dir, 'pw'), `${PASSWORD}\n`);
  });
  after(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sieveConnect = (...args: string[]) =>
    run('bash', [
      '-c',
      'exec sieve-connect "$@" --passwordfd 3 3<"$PWFILE"',
      'sieve-connect',
      '--4',
      '--server',
      '127.0.0.1',
      '--port',
      String(t.ports.managesieve),
      '--user',
      'jon@example.test',
      '--tlscafile',
      t.caFile,
      '--tlshostname',
      'localhost',
      '--noclearauth',
      ...args,
    ]);

  test('sieve-connect: upload, refuse a broken script, activate, list, download; the script then files MX mail', {
    skip: commandSkip('sieve-connect', 'sieve-connect', ['--help']) || commandSkip('swaks', 'swaks'),
  }, async () => {
    process.env.PWFILE = path.join(dir, 'pw');
    const good = path.join(dir, 'good.sieve');
    await writeFile(good, 'require ["fileinto", "mailbox"];\nif header :contains "subject" "invoice" {\n  fileinto :create "Bills";\n}\n');
    let r = await sieveConnect('--upload', '--localsieve', good, '--remotesieve', 'bills');
    assert.equal(r.code, 0, r.stderr);
    const bad = path.join(dir, 'bad.sieve');
    await writeFile(bad, 'require "fileinto";\nif header :is "subject" {\n  fileinto "x";\n}\n');
    r = await sieveConnect('--checkscript', '--localsieve', bad);
    assert.notEqual(r.code, 0, 'a broken script is refused');
    assert.match(r.stdout + r.stderr, /CHECKSCRIPT failed: NO "line 2: test \\"header\\" takes 2 arguments/);
    r = await sieveConnect('--activate', '--remotesieve', 'bills');
    assert.equal(r.code, 0, r.stderr);
    r = await sieveConnect('--list');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^"bills" ACTIVE$/m);
    const back = path.join(dir, 'back.sieve');
    r = await sieveConnect('--download', '--remotesieve', 'bills', '--localsieve', back);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(spawnSync('cmp', [good, back]).status, 0, 'the script comes back byte for byte');

    const sent = await run('swaks', [
      '--server',
      `127.0.0.1:${t.ports.smtp}`,
      '--from',
      'shop@vendor.example',
      '--to',
      'jon@example.test',
      '--header',
      'Subject: Your invoice 42',
    ]);
    assert.equal(sent.code, 0, sent.stdout);
    const box = await t.services.mail.getMailbox(jon, 'Bills');
    assert.ok(box, 'fileinto :create made the folder');
    assert.equal((await t.services.mail.listEntries(box.id)).length, 1);
  });

  test('python3-sievelib: havespace, put, rename, set active, delete (and refusals)', {
    skip: peerSkip('python3-sievelib', SIEVELIB, 'apt-get install python3-sievelib'),
  }, async () => {
    const script = `
import sys
from sievelib.managesieve import Client
c = Client('127.0.0.1', int(sys.argv[1]))
assert c.connect('jon@example.test', sys.argv[2], starttls=True, authmech='PLAIN'), 'login'
out = []
out.append(('havespace-ok', c.havespace('x', 100)))
out.append(('havespace-big', c.havespace('x', 100000)))
out.append(('put', c.putscript('one', 'keep;\\r\\n')))
out.append(('put-bad', c.putscript('two', 'frobnicate;')))
out.append(('put2', c.putscript('two', 'discard;')))
out.append(('rename-clash', c.renamescript('one', 'two')))
out.append(('rename', c.renamescript('one', 'uno')))
out.append(('active', c.setactive('uno')))
out.append(('delete-active', c.deletescript('uno')))
out.append(('delete', c.deletescript('two')))
out.append(('list', c.listscripts()))
out.append(('get', c.getscript('uno')))
c.logout()
for k, v in out: print(k, repr(v))
`;
    const r = await run('/usr/bin/python3', ['-c', script, String(t.ports.managesieve), PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
    const got = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
    );
    assert.deepEqual(got, {
      'havespace-ok': 'True',
      'havespace-big': 'False',
      put: 'True',
      'put-bad': 'False',
      put2: 'True',
      'rename-clash': 'False',
      rename: 'True',
      active: 'True',
      'delete-active': 'False',
      delete: 'True',
      list: "('uno', ['bills'])",
      // sievelib reads the literal line by line and drops the last line end (sieve-connect above compares bytes).
      get: "'keep;'",
    });
  });

  test('OAUTHBEARER and XOAUTH2 with tokens of the embedded provider; a token for another service is refused', async () => {
    const ids = resourceIds(t.config);
    const token = await issueToken(t, 'jon@example.test', { resource: ids.imap });
    const smtpOnly = await issueToken(t, 'jon@example.test', { resource: ids.smtp });
    const attempt = async (mech: string, ir: string) => {
      const c = await starttls(await LineClient.connect(t.ports.managesieve).then(async (p) => (await responseOf(p), p)), t.ca);
      c.write(`AUTHENTICATE "${mech}" "${ir}"\r\n`);
      let last = (await c.until(/^(OK|NO|BYE)\b|^"/)).at(-1)!;
      // RFC 7628 §3.2.3: a refused token gets an error challenge; the client answers with a dummy.
      if (last.startsWith('"')) {
        c.write('"AQ=="\r\n');
        last = (await responseOf(c)).at(-1)!;
      }
      if (/^OK/.test(last)) {
        c.write('LISTSCRIPTS\r\n');
        assert.match((await responseOf(c)).at(-1)!, /^OK/);
      }
      c.close();
      return last;
    };
    const bearer = (tok: string) => Buffer.from(`n,a=jon@example.test,\x01auth=Bearer ${tok}\x01\x01`).toString('base64');
    const xoauth2 = (tok: string) => Buffer.from(`user=jon@example.test\x01auth=Bearer ${tok}\x01\x01`).toString('base64');
    assert.match(await attempt('OAUTHBEARER', bearer(token)), /^OK "Logged in"/);
    assert.match(await attempt('XOAUTH2', xoauth2(token)), /^OK "Logged in"/);
    assert.match(await attempt('OAUTHBEARER', bearer(smtpOnly)), /^NO "Authentication failed"/);
  });

  test('raw: nothing to sign in with before STARTTLS; bad input gets NO and the session goes on', async () => {
    const plain = await LineClient.connect(t.ports.managesieve);
    const greeting = await responseOf(plain);
    assert.ok(greeting.includes('"SASL" ""'), 'no mechanisms offered on cleartext');
    assert.ok(greeting.includes('"STARTTLS"'));
    plain.write('AUTHENTICATE "PLAIN" "AGpvbkBleGFtcGxlLnRlc3QAeA=="\r\n');
    assert.match((await responseOf(plain)).at(-1)!, /^NO \(ENCRYPT-NEEDED\)/);
    plain.write('LISTSCRIPTS\r\n');
    assert.match((await responseOf(plain)).at(-1)!, /^NO "Authenticate first"/);
    const c = await starttls(plain, t.ca);
    const initial = Buffer.from(`\0jon@example.test\0${PASSWORD}`).toString('base64');
    c.write(`AUTHENTICATE "PLAIN" "${initial}"\r\n`);
    assert.match((await responseOf(c)).at(-1)!, /^OK/);
    c.write('FROBNICATE\r\n');
    assert.match((await responseOf(c)).at(-1)!, /^NO "Unknown command"/);
    c.write('GETSCRIPT "unterminated\r\n');
    assert.match((await responseOf(c)).at(-1)!, /^NO "unterminated quoted string"/);
    c.write(`PUTSCRIPT "huge" {5000+}\r\n${'#'.repeat(5000)}\r\n`);
    assert.match((await responseOf(c)).at(-1)!, /^NO \(QUOTA\/MAXSIZE\)/);
    c.write('PUTSCRIPT "deep" {60+}\r\nif true { if true { if true { if true { keep; } } } } #.....\r\n');
    assert.match((await responseOf(c)).at(-1)!, /^OK/);
    c.write('GETSCRIPT "nope"\r\n');
    assert.match((await responseOf(c)).at(-1)!, /^NO \(NONEXISTENT\)/);
    c.write('PUTSCRIPT "x" "if header :matches \\"subject\\" \\"*\\" { stop; }"\r\n');
    assert.match((await responseOf(c)).at(-1)!, /^NO \(QUOTA\/MAXSCRIPTS\)/, 'three scripts are the quota here');
    c.write('NOOP "tag-1"\r\n');
    assert.match((await responseOf(c)).at(-1)!, /^OK \(TAG "tag-1"\) "Done"/);
    c.write('LOGOUT\r\n');
    assert.match((await responseOf(c)).at(-1)!, /^OK/);
    await c.closedByPeer();
  });
});
