// The token store (issue 9 item 2): file per account, mode 0600, atomic writes, the age / command /
// keyring / file backends, and refusals for corrupt, foreign and mismatched files.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Decrypter, Encrypter, armor } from 'age-encryption';
import { clientExitCode } from '../../../src/client/errors.ts';
import { NativeScryptIdentity, NativeScryptRecipient } from '../../../src/client/store/age-scrypt.ts';
import { chooseStore, keyringAvailable } from '../../../src/client/store/backends.ts';
import { accountFileName, accountPaths, clientPaths } from '../../../src/client/store/paths.ts';
import { commandSkip } from '../../helpers/peers.ts';
import { account, type Home, tempHome } from './fixture.ts';

const ALICE = 'alice@example.test';
const body = { refreshToken: 'rt-1', tokens: { 'imap://mail.example.test': { token: 'at-1', expiresAt: 2_000_000_000_000 } } };

async function rejectsWith(p: Promise<unknown>, re: RegExp, exit = 1): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.match(err.message, re);
    assert.equal(clientExitCode(err), exit);
    return true;
  });
}

describe('age scrypt recipient with native scrypt', () => {
  it('writes files the age library opens, and opens files the age library writes', async () => {
    const ours = new Encrypter();
    ours.addRecipient(new NativeScryptRecipient('correct horse', 10));
    const sealed = await ours.encrypt('secret one');
    assert.match(armor.encode(sealed), /^-----BEGIN AGE ENCRYPTED FILE-----/);
    const theirs = new Decrypter();
    theirs.addPassphrase('correct horse');
    assert.equal(await theirs.decrypt(sealed, 'text'), 'secret one');

    const e = new Encrypter();
    e.setPassphrase('battery staple');
    e.setScryptWorkFactor(10);
    const d = new Decrypter();
    d.addIdentity(new NativeScryptIdentity('battery staple'));
    assert.equal(await d.decrypt(await e.encrypt('secret two'), 'text'), 'secret two');
  });

  it('writes files the age command opens (age -d, passphrase typed on its terminal)', {
    skip: commandSkip('age', 'age') || commandSkip('script', 'bsdutils', ['--version']),
  }, async () => {
    const e = new Encrypter();
    e.addRecipient(new NativeScryptRecipient('typed passphrase', 12));
    const home = await tempHome();
    try {
      const file = path.join(home.dir, 'token.age');
      const out = path.join(home.dir, 'token.json');
      await writeFile(file, armor.encode(await e.encrypt('{"refreshToken":"rt"}')));
      // age reads the passphrase from its terminal only: give it one.
      const child = spawn('script', ['-qec', `age -d -o ${out} ${file}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
      let typed = false;
      child.stdout!.on('data', (d: Buffer) => {
        if (!typed && /passphrase/i.test(d.toString())) {
          typed = true;
          child.stdin!.write('typed passphrase\n');
        }
      });
      await new Promise((resolve) => child.on('close', resolve));
      assert.equal(await readFile(out, 'utf8'), '{"refreshToken":"rt"}');
    } finally {
      await home.close();
    }
  });

  it('does not open with the wrong passphrase, and refuses absurd work factors', async () => {
    const e = new Encrypter();
    e.addRecipient(new NativeScryptRecipient('right', 10));
    const sealed = await e.encrypt('x');
    const d = new Decrypter();
    d.addIdentity(new NativeScryptIdentity('wrong'));
    await assert.rejects(d.decrypt(sealed), /no identity matched/);
    // A header naming 2^25 is refused before any scrypt runs (it would need 4 GiB).
    const header = Buffer.from(sealed)
      .toString('latin1')
      .replace(/(-> scrypt \S+) 10\n/, '$1 25\n');
    const d2 = new Decrypter();
    d2.addIdentity(new NativeScryptIdentity('right'));
    await assert.rejects(d2.decrypt(new Uint8Array(Buffer.from(header, 'latin1'))), /work factor is too high/);
  });
});

describe('token store', () => {
  let home: Home;
  before(async () => {
    home = await tempHome({ FINGERPOST_PASSPHRASE: 'a long test passphrase' });
  });
  after(() => home.close());

  it('writes one file per account with mode 0600 in a 0700 directory, atomically', async () => {
    const store = home.store();
    const a = account(ALICE, { kind: 'age', workFactor: 10, reason: 'test' });
    await store.save(a, body);
    const { file } = accountPaths(store.paths, ALICE);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(file))).mode & 0o777, 0o700);
    assert.deepEqual(
      (await readdir(path.dirname(file))).filter((n) => n.endsWith('.tmp')),
      [],
      'no temporary files are left behind',
    );
    const text = await readFile(file, 'utf8');
    assert.doesNotMatch(text, /rt-1|at-1/, 'the tokens are not in the clear');
    const loaded = await store.load(ALICE);
    assert.equal(loaded.issuer, a.issuer);
    const secret = await store.openSecret(loaded);
    assert.equal(secret.refreshToken, 'rt-1');
    assert.equal(secret.tokens['imap://mail.example.test']?.token, 'at-1');
  });

  it('says sign-in needed (exit 2) for an unknown account', async () => {
    await rejectsWith(home.store().load('nobody@example.test'), /no stored sign-in/, 2);
  });

  it('refuses a wrong passphrase with a clear message and leaves the file as it was', async () => {
    const { file } = accountPaths(home.store().paths, ALICE);
    const before = await readFile(file);
    const wrong = home.store({ ...home.env, FINGERPOST_PASSPHRASE: 'not the passphrase' });
    await rejectsWith(wrong.openSecret(await wrong.load(ALICE)), /passphrase does not open the token file/);
    assert.deepEqual(await readFile(file), before);
  });

  it('refuses corrupt, truncated and foreign files, naming the file and leaving it alone', async () => {
    const store = home.store();
    const bob = 'bob@example.test';
    const { file } = accountPaths(store.paths, bob);
    const cases: [string, RegExp][] = [
      ['{"format":"fingerpost-client-acc', /not valid JSON/],
      ['\u0000\u0001binary', /not valid JSON/],
      [JSON.stringify({ format: 'something-else', version: 1 }), /not a fingerpost account file/],
      [JSON.stringify({ ...account(bob, { kind: 'file', reason: 't' }), version: 2 }), /version 2/],
      [JSON.stringify(account('carol@example.test', { kind: 'file', reason: 't' })), /another address/],
      [JSON.stringify({ ...account(bob, { kind: 'file', reason: 't' }), issuer: 'http://evil.example/' }), /issuer is not an https URL/],
      [JSON.stringify({ ...account(bob, { kind: 'rot13', reason: 't' } as never) }), /unknown store kind/],
    ];
    for (const [text, re] of cases) {
      await writeFile(file, text, { mode: 0o600 });
      await rejectsWith(store.load(bob), re);
      assert.equal(await readFile(file, 'utf8'), text, 'the store is unchanged');
    }
  });

  it('refuses a sealed secret copied from another account', async () => {
    const store = home.store();
    const bob = 'bob@example.test';
    const a = await store.save(account(ALICE, { kind: 'file', reason: 't' }), body);
    const { file } = accountPaths(store.paths, bob);
    await writeFile(file, JSON.stringify({ ...account(bob, { kind: 'file', reason: 't' }), sealed: a.sealed }), { mode: 0o600 });
    await rejectsWith(store.openSecret(await store.load(bob)), /belongs to another account/);
  });

  it('keeps file names inside the accounts directory', () => {
    assert.equal(accountFileName('alice@example.test'), 'alice@example.test.json');
    assert.equal(accountFileName('../../etc/passwd@x'), '%2e.%2F..%2Fetc%2Fpasswd@x.json');
    assert.ok(!accountFileName('a/b@c').includes('/'));
    const paths = clientPaths({ XDG_CONFIG_HOME: '/x', HOME: '/home/u' });
    assert.equal(paths.accounts, '/x/fingerpost/accounts');
    assert.equal(clientPaths({ XDG_CONFIG_HOME: 'relative', HOME: '/home/u' }).root, '/home/u/.config/fingerpost');
  });
});

describe('store choice', () => {
  it('prefers explicit choices, then commands, then the keyring, then age, and says why', async () => {
    const env = { PATH: process.env.PATH };
    assert.equal((await chooseStore({ env })).kind, 'age');
    assert.match((await chooseStore({ env })).reason, /no desktop keyring answered/);
    const cmd = await chooseStore({ encryptCommand: 'gpg -e', decryptCommand: 'gpg -d', env });
    assert.equal(cmd.kind, 'command');
    assert.equal((await chooseStore({ kind: 'file', env })).kind, 'file');
    await rejectsWith(chooseStore({ encryptCommand: 'gpg -e', env }), /go together/);
    await rejectsWith(chooseStore({ kind: 'keyring', env }), /no desktop keyring/);
  });
});

const gpgSkip = commandSkip('gpg', 'gnupg');

describe('command backend with gpg', { skip: gpgSkip }, () => {
  let home: Home;
  before(async () => {
    home = await tempHome();
    const gnupg = path.join(home.dir, 'gnupg');
    spawnSync('mkdir', ['-m', '700', gnupg]);
    const r = spawnSync(
      'gpg',
      ['--batch', '--passphrase', '', '--quick-generate-key', 'Fingerpost Test <test@example.test>', 'default', 'default', 'never'],
      {
        env: { ...process.env, GNUPGHOME: gnupg },
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    home.env.GNUPGHOME = gnupg;
  });
  after(() => home.close());

  it('seals with the encrypt command and opens with the decrypt command', async () => {
    const store = home.store();
    const a = account(ALICE, {
      kind: 'command',
      encrypt: 'gpg --batch --yes --quiet --encrypt --recipient test@example.test',
      decrypt: 'gpg --batch --quiet --decrypt',
      reason: 'test',
    });
    await store.save(a, body);
    const text = await readFile(accountPaths(store.paths, ALICE).file, 'utf8');
    assert.doesNotMatch(text, /rt-1/);
    const secret = await store.openSecret(await store.load(ALICE));
    assert.equal(secret.refreshToken, 'rt-1');
  });

  it('reports a failing decrypt command without touching the file', async () => {
    const store = home.store({ ...home.env, GNUPGHOME: path.join(home.dir, 'empty-gnupg') });
    const { file } = accountPaths(store.paths, ALICE);
    const before = await readFile(file);
    await rejectsWith(store.openSecret(await store.load(ALICE)), /the decrypt command failed/);
    assert.deepEqual(await readFile(file), before);
  });
});

const keyringSkip =
  commandSkip('secret-tool', 'libsecret-tools', ['--version']) ||
  commandSkip('gnome-keyring-daemon', 'gnome-keyring') ||
  commandSkip('dbus-daemon', 'dbus-daemon');

describe('keyring backend (secret-tool, gnome-keyring on a private session bus)', { skip: keyringSkip }, () => {
  let home: Home;
  let bus: ChildProcess;
  let keyring: ChildProcess;
  before(async () => {
    home = await tempHome();
    home.env.HOME = home.dir;
    home.env.XDG_DATA_HOME = path.join(home.dir, 'data');
    home.env.XDG_RUNTIME_DIR = home.dir;
    bus = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], { env: home.env, stdio: ['ignore', 'pipe', 'ignore'] });
    const address = await new Promise<string>((resolve) => bus.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
    home.env.DBUS_SESSION_BUS_ADDRESS = address;
    keyring = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
      env: home.env,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    keyring.stdin!.end('keyring password');
    // Ready when the Secret Service answers on the bus.
    for (let i = 0; i < 100 && !(await keyringAvailable(home.env)); i++) await new Promise((r) => setTimeout(r, 100));
  });
  after(async () => {
    keyring?.kill();
    bus?.kill();
    await home?.close();
  });

  it('is chosen by default when a Secret Service answers, and keeps the secret out of the file', async () => {
    const choice = await chooseStore({ env: home.env });
    assert.equal(choice.kind, 'keyring');
    assert.match(choice.reason, /secret-tool found and a Secret Service answered/);
    const store = home.store();
    await store.save(account(ALICE, choice), body);
    const file = JSON.parse(await readFile(accountPaths(store.paths, ALICE).file, 'utf8')) as { sealed: string };
    assert.equal(file.sealed, '', 'nothing secret in the file');
    const secret = await store.openSecret(await store.load(ALICE));
    assert.equal(secret.refreshToken, 'rt-1');
    await store.remove(await store.load(ALICE));
    await rejectsWith(store.load(ALICE), /no stored sign-in/, 2);
  });
});
