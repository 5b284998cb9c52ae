// `fingerpost admin dkim create|list|remove` as an admin runs them: the printed TXT record is the
// one an independent verifier (Python's dkimpy) needs to accept what the server signs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { openServices } from '../../src/main.ts';
import { DkimKeys } from '../../src/mail/queue/dkim.ts';
import { peerSkip } from '../helpers/peers.ts';
import { runCli } from '../helpers/server.ts';

const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const hasDkimpy = spawnSync(PY, ['-c', 'import dkim'], { stdio: 'ignore' }).status === 0;
const VERIFY = `
import dkim, sys
txt = sys.argv[1].encode()
name = sys.argv[2].encode()
print('pass' if dkim.verify(sys.stdin.buffer.read(), dnsfunc=lambda n, timeout=5: txt if n.rstrip(b'.') == name else None) else 'fail')
`;

describe('admin dkim', () => {
  let dataDir: string;
  const cli = (...args: string[]) => runCli(['admin', ...args, '--data', dataDir], { env: { FINGERPOST_LOG_LEVEL: 'silent' } });

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'fp-dkim-cli-'));
    assert.equal((await cli('domain', 'add', 'example.test')).code, 0);
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  test('create prints the TXT record that verifies what the server signs; list and remove', {
    skip: peerSkip('python3-dkim', hasDkimpy, 'apt-get install python3-dkim'),
  }, async () => {
    const created = await cli('dkim', 'create', 'example.test', '--selector', 'fp1');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^fp1\._domainkey\.example\.test\. IN TXT \( "v=DKIM1; k=rsa; p=/m);
    const name = /^name: +(\S+)$/m.exec(created.stdout)?.[1];
    const value = /^value: +(.+)$/m.exec(created.stdout)?.[1];
    assert.equal(name, 'fp1._domainkey.example.test');
    assert.match(value ?? '', /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$/);

    const services = await openServices(loadConfig({ dataDir, env: {} }));
    let signed: Buffer;
    try {
      const message = Buffer.from(
        'From: Alice <alice@example.test>\r\nTo: bob@remote.example\r\nSubject: cli key\r\nDate: Mon, 5 Jan 2026 09:00:00 +0000\r\n\r\nbody\r\n',
      );
      signed = await new DkimKeys(services.db).sign(message, 'example.test');
    } finally {
      await services.close();
    }
    const verify = (input: Buffer) => spawnSync(PY, ['-c', VERIFY, value!, name!], { input }).stdout.toString().trim();
    assert.equal(verify(signed), 'pass');
    assert.equal(verify(Buffer.from(signed.toString().replace('body', 'b0dy'))), 'fail');

    const list = await cli('dkim', 'list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /example\.test\s+fp1\s+active\s+\S+\s+fp1\._domainkey\.example\.test/);
    assert.equal((await cli('dkim', 'remove', 'example.test', 'fp1')).code, 0);
    assert.doesNotMatch((await cli('dkim', 'list')).stdout, /fp1/);
  });

  test('rotate: the new key waits (pending) while the old one signs; once due it signs and verifies with its printed record', {
    skip: peerSkip('python3-dkim', hasDkimpy, 'apt-get install python3-dkim'),
  }, async () => {
    assert.equal((await cli('dkim', 'create', 'example.test', '--selector', 'old1')).code, 0);
    const later = await cli('dkim', 'rotate', 'example.test', '--selector', 'next1', '--after', '48h');
    assert.equal(later.code, 0, later.stderr);
    assert.match(later.stdout, /created DKIM key next1 for example\.test .* it signs from \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(later.stdout, /until then old1 signs; publish this TXT record now:/);
    assert.match(later.stdout, /keep old1\._domainkey\.example\.test published for at least 7 days after the switch/);
    assert.match((await cli('dkim', 'list')).stdout, /next1\s+pending until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    const message = Buffer.from('From: <alice@example.test>\r\nTo: bob@remote.example\r\nSubject: rotation\r\n\r\nbody\r\n');
    const signWith = async () => {
      const services = await openServices(loadConfig({ dataDir, env: {} }));
      try {
        return await new DkimKeys(services.db).sign(message, 'example.test');
      } finally {
        await services.close();
      }
    };
    assert.match((await signWith()).toString(), /; s=old1;/, 'the old key signs until the switch');
    // `fingerpost dns` already lists the pending record, so it can be published ahead of the switch.
    const dns = await runCli(['dns', 'example.test', '--data', dataDir], { env: { FINGERPOST_LOG_LEVEL: 'silent' } });
    assert.match(dns.stdout, /next1\._domainkey\.example\.test/);

    const now = await cli('dkim', 'rotate', 'example.test', '--selector', 'next2', '--after', '0s');
    assert.equal(now.code, 0, now.stderr);
    const name = /^name: +(\S+)$/m.exec(now.stdout)?.[1];
    const value = /^value: +(.+)$/m.exec(now.stdout)?.[1];
    const signed = await signWith();
    assert.match(signed.toString(), /; s=next2;/);
    assert.equal(spawnSync(PY, ['-c', VERIFY, value!, name!], { input: signed }).stdout.toString().trim(), 'pass');
    const list = (await cli('dkim', 'list')).stdout;
    assert.match(list, /old1\s+retired/);
    assert.match(list, /next2\s+active/);
    const none = await cli('dkim', 'rotate', 'example.test', '--after', 'soon');
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /--after "soon" is not a duration/);
  });

  test('a domain not served here is refused with the fix', async () => {
    const r = await cli('dkim', 'create', 'elsewhere.test');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /elsewhere\.test is not served here/);
    assert.match(r.stderr, /admin domain add elsewhere\.test/);
  });
});
