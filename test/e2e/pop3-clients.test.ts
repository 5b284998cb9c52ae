// POP3 with real clients (Python poplib, curl) and by hand: CAPA before/after STLS, SASL AUTH with
// the continuation form, USER/PASS only over TLS, the maildrop lock, deletions only at QUIT.
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { commandSkip } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from '../helpers/wire.ts';
import { inboxOf, run } from './smtp-helpers.ts';

const PASSWORD = 'pop-password-1234';

async function deliver(t: TestServer, address: string, subject: string, body: string): Promise<void> {
  const account = await t.services.directory.findByAddress(address);
  await t.services.mail.deliver(account!.id, Buffer.from(`From: a@remote.test\r\nTo: ${address}\r\nSubject: ${subject}\r\n\r\n${body}`));
}

async function stls(c: LineClient, ca: string): Promise<LineClient> {
  c.write('STLS\r\n');
  assert.match((await c.line())!, /^\+OK/);
  const secure = tls.connect({ socket: c.socket, ca, servername: 'localhost' });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  c.socket.removeAllListeners('data');
  return new LineClient(secure);
}

/** Connects and reads the greeting. */
async function greeted(port: number): Promise<LineClient> {
  const c = await LineClient.connect(port);
  assert.match((await c.line())!, /^\+OK /);
  return c;
}

async function capa(c: LineClient): Promise<string[]> {
  c.write('CAPA\r\n');
  const lines = await c.until(/^\.$/);
  assert.match(lines[0]!, /^\+OK/);
  return lines.slice(1, -1);
}

describe('POP3', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ domain: 'example.test' });
    for (const u of ['frank', 'gina', 'hank']) await t.services.accounts.addUser({ address: `${u}@example.test`, password: PASSWORD });
    await deliver(t, 'frank@example.test', 'first', 'one\r\n.dotted line\r\n');
    await deliver(t, 'frank@example.test', 'second', 'two\r\nline 2\r\nline 3\r\n');
    await deliver(t, 'frank@example.test', 'third', 'three\r\n');
  });
  after(() => t.close());

  test('CAPA before and after STLS; USER and SASL only over TLS', async () => {
    let c = await LineClient.connect(t.ports.pop3);
    assert.match((await c.line())!, /^\+OK /);
    const plain = await capa(c);
    assert.ok(plain.includes('STLS'));
    assert.ok(!plain.includes('USER'));
    assert.ok(!plain.some((l) => l.startsWith('SASL')));
    c.write('USER frank@example.test\r\n');
    assert.match((await c.line())!, /^-ERR \[AUTH\]/);
    c.write('AUTH PLAIN\r\n');
    assert.match((await c.line())!, /^-ERR/);
    c = await stls(c, t.ca);
    const secure = await capa(c);
    assert.ok(!secure.includes('STLS'));
    assert.ok(secure.includes('USER'));
    assert.ok(secure.some((l) => l.startsWith('SASL PLAIN LOGIN')));
    assert.ok(secure.includes('UIDL') && secure.includes('TOP') && secure.includes('RESP-CODES'));
    c.close();
  });

  test('Python poplib over pop3s: STAT, LIST, UIDL, TOP, RETR, DELE committed at QUIT', {
    skip: commandSkip('python3', 'python3'),
  }, async () => {
    await deliver(t, 'gina@example.test', 'keep', 'kept\r\n');
    await deliver(t, 'gina@example.test', 'delete me', '.starts with a dot\r\nmore\r\n');
    const script = `
import poplib, ssl, sys, json
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
p = poplib.POP3_SSL('127.0.0.1', int(sys.argv[1]), context=ctx)
p.user('gina@example.test')
p.pass_(sys.argv[3])
out = {'stat': p.stat(), 'list': [l.decode() for l in p.list()[1]], 'uidl': [l.decode() for l in p.uidl()[1]]}
out['top'] = [l.decode() for l in p.top(2, 0)[1]]
out['retr'] = [l.decode() for l in p.retr(2)[1]]
p.dele(2)
p.quit()
print(json.dumps(out))
`;
    const r = await run('python3', ['-c', script, String(t.ports.pop3s), t.caFile, PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.stat[0], 2);
    assert.equal(out.list.length, 2);
    assert.match(out.uidl[0], /^1 \d+\.1$/);
    assert.ok(out.top.includes('Subject: delete me'));
    assert.ok(!out.top.includes('more'));
    assert.deepEqual(out.retr.slice(-2), ['.starts with a dot', 'more']);
    const left = await inboxOf(t, 'gina@example.test');
    assert.equal(left.length, 1);
    assert.match(left[0]!, /Subject: keep/);
  });

  test('Python poplib with STLS on the plain port', { skip: commandSkip('python3', 'python3') }, async () => {
    const script = `
import poplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
p = poplib.POP3('127.0.0.1', int(sys.argv[1]))
assert 'STLS' in p.capa()
p.stls(context=ctx)
caps = p.capa()
assert 'USER' in caps and 'STLS' not in caps, caps
p.user('hank@example.test')
p.pass_(sys.argv[3])
print(p.stat()[0])
p.quit()
`;
    const r = await run('python3', ['-c', script, String(t.ports.pop3), t.caFile, PASSWORD]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0');
  });

  test('curl lists and retrieves over pop3s://', { skip: commandSkip('curl', 'curl') }, async () => {
    const base = [
      '-sS',
      '--cacert',
      t.caFile,
      '--resolve',
      `localhost:${t.ports.pop3s}:127.0.0.1`,
      '--user',
      `frank@example.test:${PASSWORD}`,
    ];
    const list = await run('curl', [...base, `pop3s://localhost:${t.ports.pop3s}/`]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.trim().split(/\r?\n/).length, 3);
    const msg = await run('curl', [...base, `pop3s://localhost:${t.ports.pop3s}/1`]);
    assert.equal(msg.code, 0, msg.stderr);
    assert.match(msg.stdout, /Subject: first/);
    assert.match(msg.stdout, /\r\n\.dotted line\r\n/);
  });

  test('SASL AUTH with an empty "+ " continuation; the maildrop lock; DELE undone by a dropped connection', async () => {
    const open = async () => {
      const c = await stls(await greeted(t.ports.pop3), t.ca);
      c.write('AUTH PLAIN\r\n');
      assert.equal(await c.line(), '+ ');
      c.write(`${Buffer.from(`\0frank@example.test\0${PASSWORD}`).toString('base64')}\r\n`);
      return c;
    };
    const a = await open();
    assert.match((await a.line())!, /^\+OK .*3 messages/);
    const b = await open();
    assert.match((await b.line())!, /^-ERR \[IN-USE\]/);
    b.close();
    a.write('DELE 1\r\nDELE 1\r\nRETR 9\r\nLIST 1\r\nSTAT\r\nRSET\r\nDELE 3\r\n');
    assert.match((await a.line())!, /^\+OK/);
    assert.match((await a.line())!, /^-ERR .*already deleted/);
    assert.match((await a.line())!, /^-ERR No such message/);
    assert.match((await a.line())!, /^-ERR .*already deleted/);
    assert.match((await a.line())!, /^\+OK 2 \d+/);
    assert.match((await a.line())!, /^\+OK/);
    assert.match((await a.line())!, /^\+OK/);
    a.close();
    // no QUIT: nothing was deleted, and the lock is released once the server sees the close
    assert.equal((await inboxOf(t, 'frank@example.test')).length, 3);
    let c = await open();
    let greeting = (await c.line())!;
    for (let i = 0; i < 50 && greeting.startsWith('-ERR [IN-USE]'); i++) {
      c.close();
      await new Promise((r) => setTimeout(r, 100));
      c = await open();
      greeting = (await c.line())!;
    }
    assert.match(greeting, /^\+OK .*3 messages/);
    c.write('AUTH PLAIN\r\n');
    assert.match((await c.line())!, /^-ERR Already authenticated/);
    c.write('QUIT\r\n');
    assert.match((await c.line())!, /^\+OK/);
  });

  test('SASL AUTH LOGIN: username and password prompts; a wrong password is -ERR [AUTH]', async () => {
    const b64 = (v: string) => Buffer.from(v).toString('base64');
    const login = async (password: string) => {
      const c = await LineClient.connect(t.ports.pop3s, { tls: true, ca: t.ca });
      assert.match((await c.line())!, /^\+OK /);
      c.write('AUTH LOGIN\r\n');
      assert.equal(await c.line(), `+ ${b64('Username:')}`);
      c.write(`${b64('hank@example.test')}\r\n`);
      assert.equal(await c.line(), `+ ${b64('Password:')}`);
      c.write(`${b64(password)}\r\n`);
      return c;
    };
    const bad = await login('not the password');
    assert.match((await bad.line())!, /^-ERR \[AUTH\]/);
    bad.close();
    const good = await login(PASSWORD);
    assert.match((await good.line())!, /^\+OK /);
    good.write('STAT\r\nQUIT\r\n');
    assert.match((await good.line())!, /^\+OK \d+ \d+$/);
    assert.match((await good.line())!, /^\+OK/);
  });

  test('a wrong password and garbage get -ERR and the session goes on; too many errors close it', async () => {
    const c = await stls(await greeted(t.ports.pop3), t.ca);
    c.write('USER frank@example.test\r\nPASS nope\r\n');
    assert.match((await c.line())!, /^\+OK/);
    assert.match((await c.line())!, /^-ERR \[AUTH\]/);
    c.write(`${'X'.repeat(400)}\r\n`);
    assert.match((await c.line())!, /^-ERR Line too long/);
    c.write('CAPA\r\n');
    assert.match((await c.line())!, /^\+OK/);
    await c.until(/^\.$/);
    c.write('BOGUS\r\n'.repeat(10));
    await c.until(/Too many errors/);
    await c.closedByPeer();
  });
});
