// DKIM signing (RFC 6376) checked by an independent verifier: Python's dkimpy (Debian python3-dkim)
// given the TXT record `admin dkim create` prints.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DkimKeys, fromDomain, zoneLine } from '../../../src/mail/queue/dkim.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { peerSkip } from '../../helpers/peers.ts';

// Debian's python3-dkim lives in the system Python, which may not be the first python3 on PATH.
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const hasDkimpy = spawnSync(PY, ['-c', 'import dkim'], { stdio: 'ignore' }).status === 0;
const verify = `
import dkim, sys
txt = sys.argv[1].encode()
msg = sys.stdin.buffer.read()
ok = dkim.verify(msg, dnsfunc=lambda name, timeout=5: txt if name == sys.argv[2].encode() + b'.' or name == sys.argv[2].encode() else None)
print('pass' if ok else 'fail')
`;

describe('DKIM keys and signing', () => {
  let db: Db;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-dkim-'));
    db = await openDb({ url: '', sqlitePath: path.join(dir, 'fp.db') });
  });
  after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('signs relaxed/relaxed rsa-sha256 and an independent verifier accepts it; a changed body fails', {
    skip: peerSkip('python3-dkim', hasDkimpy, 'apt-get install python3-dkim'),
  }, async () => {
    const keys = new DkimKeys(db);
    const info = await keys.create('Example.ORG', 'sel1');
    assert.equal(info.dnsName, 'sel1._domainkey.example.org');
    assert.match(zoneLine(info), /^sel1\._domainkey\.example\.org\. IN TXT \( "v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+" /);
    const message = Buffer.from(
      'From: Alice <alice@example.org>\r\nTo: bob@remote.example\r\nSubject: signed\r\nDate: Mon, 5 Jan 2026 09:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nHello  Bob\r\n\r\n',
    );
    assert.equal(fromDomain(message), 'example.org');
    const signed = await keys.sign(message, 'example.org');
    assert.match(signed.toString(), /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.org;/);
    const run = (input: Buffer) => spawnSync(PY, ['-c', verify, info.dnsValue, info.dnsName], { input }).stdout.toString().trim();
    assert.equal(run(signed), 'pass');
    assert.equal(run(Buffer.from(signed.toString().replace('Hello  Bob', 'Hello Eve'))), 'fail');
    // a domain without a key is left alone; rotation makes the new selector the active one
    assert.equal(await keys.sign(message, 'other.example'), message);
    await keys.create('example.org', 'sel2');
    assert.deepEqual(
      (await keys.list('example.org')).map((k) => [k.selector, k.active]),
      [
        ['sel1', false],
        ['sel2', true],
      ],
    );
    await assert.rejects(keys.create('example.org', 'sel2'), /already has a DKIM key/);
    await assert.rejects(keys.create('example.org', 'Bad_Selector'), /not a valid DKIM selector/);
  });
});
