// Second factors at the embedded provider: TOTP against the RFC 6238 Appendix B test vectors and
// RFC 4648 base32, then the store (sealed TOTP key with replay refusal, single-use recovery codes,
// passkeys kept per account) on SQLite and PostgreSQL, on a fake clock.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newDeviceNotice } from '../../../src/idp/new-device.ts';
import { SecondFactors } from '../../../src/idp/second-factor.ts';
import { idpSecret } from '../../../src/idp/secrets.ts';
import { base32Decode, base32Encode, matchTotp, otpauthUri, totp } from '../../../src/idp/totp.ts';
import { type Db, openDb } from '../../../src/store/db.ts';
import { parseMessage } from '../../../src/mail/mime/parse.ts';
import { pgAvailable, peerSkip } from '../../helpers/peers.ts';
import { tempPgDatabase } from '../../helpers/pg.ts';

const pgSkip = peerSkip('PostgreSQL', await pgAvailable(), 'start it: pg_ctlcluster 15 main start');

// RFC 6238 Appendix B: the seeds and the table of (time, TOTP) per mode, 8 digits.
const SEEDS = {
  sha1: Buffer.from('12345678901234567890'),
  sha256: Buffer.from('12345678901234567890123456789012'),
  sha512: Buffer.from('1234567890123456789012345678901234567890123456789012345678901234'),
};
const VECTORS: Array<[number, string, keyof typeof SEEDS]> = [
  [59, '94287082', 'sha1'],
  [59, '46119246', 'sha256'],
  [59, '90693936', 'sha512'],
  [1111111109, '07081804', 'sha1'],
  [1111111109, '68084774', 'sha256'],
  [1111111109, '25091201', 'sha512'],
  [1111111111, '14050471', 'sha1'],
  [1111111111, '67062674', 'sha256'],
  [1111111111, '99943326', 'sha512'],
  [1234567890, '89005924', 'sha1'],
  [1234567890, '91819424', 'sha256'],
  [1234567890, '93441116', 'sha512'],
  [2000000000, '69279037', 'sha1'],
  [2000000000, '90698825', 'sha256'],
  [2000000000, '38618901', 'sha512'],
  [20000000000, '65353130', 'sha1'],
  [20000000000, '77737706', 'sha256'],
  [20000000000, '47863826', 'sha512'],
];

describe('TOTP (RFC 6238)', () => {
  it('matches every Appendix B test vector', () => {
    for (const [t, expected, mode] of VECTORS) assert.equal(totp(SEEDS[mode], t * 1000, 8, mode), expected, `${mode} at ${t}`);
  });

  it('takes the six-digit code of the current step and its neighbours, once each', () => {
    const key = SEEDS.sha1;
    const now = 1234567890_000;
    const code = totp(key, now);
    assert.equal(code, '005924', 'the last six digits of the SHA-1 vector');
    const step = Math.floor(1234567890 / 30);
    assert.equal(matchTotp(key, code, now), step);
    assert.equal(matchTotp(key, code, now + 30_000), step, 'one step late still matches');
    assert.equal(matchTotp(key, code, now + 60_000), undefined, 'two steps late does not');
    assert.equal(matchTotp(key, code, now, step), undefined, 'a step already used is refused');
    assert.equal(matchTotp(key, '12345', now), undefined);
  });

  it('encodes base32 as RFC 4648 §10 and builds an otpauth URI', () => {
    assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
    assert.deepEqual(base32Decode('mzxw 6ytb oi======'), Buffer.from('foobar'));
    assert.equal(base32Decode('MZ1'), undefined);
    const uri = new URL(otpauthUri('Mail Server', 'a@example.test', SEEDS.sha1));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), base32Encode(SEEDS.sha1));
    assert.equal(uri.searchParams.get('period'), '30');
  });

  it('writes the new-device notice as a parseable auto-generated message without header injection', () => {
    const raw = newDeviceNotice(
      { account: 'dana@example.test', ip: '192.0.2.7', userAgent: 'Evil\r\nBcc: x@example.net', at: 1_800_000_000_000, method: 'password' },
      { serverName: 'Mail "Server"', accountUrl: 'https://mail.example.test/account' },
    );
    const text = raw.toString('utf8');
    const head = text.slice(0, text.indexOf('\r\n\r\n'));
    assert.doesNotMatch(head, /^Bcc:/im);
    assert.match(head, /^Auto-Submitted: auto-generated$/m);
    const parsed = parseMessage(raw);
    assert.equal(parsed.subject, 'New sign-in to your account');
    assert.match(text, /192\.0\.2\.7/);
  });
});

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`second factors store (${dialect})`, { skip: dialect === 'postgres' ? pgSkip : false }, () => {
    let db: Db;
    let dir: string;
    let cleanup: () => Promise<void> = async () => {};
    let now = 1_800_000_000_000;
    let factors: SecondFactors;

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'fp-2fa-'));
      let url = '';
      if (dialect === 'postgres') {
        const tmp = await tempPgDatabase();
        url = tmp.url;
        cleanup = tmp.drop;
      }
      db = await openDb({ url, sqlitePath: path.join(dir, 'fp.db') });
      factors = new SecondFactors(
        db,
        () => idpSecret(db, 'second-factor'),
        () => now,
      );
    });

    after(async () => {
      await db?.close();
      await cleanup();
      await rm(dir, { recursive: true, force: true });
    });

    it('confirms a TOTP key with a code, accepts each step once, and turns it off', async () => {
      const a = 'dana@example.test';
      assert.equal(await factors.required(a), false);
      const key = base32Decode(await factors.startTotp(a))!;
      assert.equal(key.length, 20);
      assert.equal(await factors.checkTotp(a, totp(key, now)), false, 'not confirmed yet');
      assert.equal(await factors.required(a), false);
      const wrong = String((Number(totp(key, now)) + 500_000) % 1_000_000).padStart(6, '0');
      assert.equal(await factors.confirmTotp(a, wrong), false, 'a wrong code does not confirm');
      assert.equal(await factors.confirmTotp(a, totp(key, now)), true);
      assert.equal(await factors.required(a), true);
      assert.equal(await factors.checkTotp(a, totp(key, now)), false, 'the confirming code is spent');
      now += 30_000;
      const code = totp(key, now);
      assert.equal(await factors.checkTotp(a, code), true);
      assert.equal(await factors.checkTotp(a, code), false, 'a replay is refused');
      assert.equal(await factors.checkTotp('erin@example.test', code), false, 'another account has no key');
      const sealed = await db.kysely.selectFrom('idp_totp').select('sealed_key').where('account', '=', a).executeTakeFirstOrThrow();
      assert.doesNotMatch(sealed.sealed_key, new RegExp(base32Encode(key)), 'the key is stored sealed');
      await factors.disableTotp(a);
      assert.equal((await factors.status(a)).totp, false);
    });

    it('spends each recovery code once and replaces all of them on renewal', async () => {
      const a = 'dana@example.test';
      const codes = await factors.newRecoveryCodes(a);
      assert.equal(codes.length, 10);
      assert.equal(new Set(codes).size, 10);
      for (const c of codes) assert.match(c, /^[a-z2-7]{5}-[a-z2-7]{5}$/);
      const rows = await db.kysely.selectFrom('idp_recovery_codes').select('code_hash').where('account', '=', a).execute();
      assert.ok(
        rows.every((r) => !codes.some((c) => r.code_hash.includes(c.replace('-', '')))),
        'only hashes are kept',
      );
      assert.equal(await factors.useRecoveryCode('erin@example.test', codes[0]!), false, 'not for another account');
      assert.equal(await factors.useRecoveryCode(a, ` ${codes[0]!.toUpperCase()} `), true, 'case and spaces do not matter');
      assert.equal(await factors.useRecoveryCode(a, codes[0]!), false, 'single use');
      assert.equal((await factors.status(a)).recoveryLeft, 9);
      await factors.newRecoveryCodes(a);
      assert.equal(await factors.useRecoveryCode(a, codes[1]!), false, 'old codes are gone');
      assert.equal((await factors.status(a)).recoveryLeft, 10);
    });

    it('keeps passkeys per account and removes only the owner’s', async () => {
      await factors.addPasskey('dana@example.test', {
        credentialId: 'cred-a',
        publicKey: 'pk',
        counter: 0,
        transports: ['usb'],
        name: 'Key',
      });
      const [p] = await factors.passkeys('dana@example.test');
      assert.equal(p?.name, 'Key');
      assert.equal(await factors.required('dana@example.test'), true);
      assert.equal(await factors.removePasskey('erin@example.test', p!.id), false);
      await factors.usedPasskey('cred-a', 5);
      assert.equal((await factors.credential('cred-a'))?.counter, 5);
      assert.deepEqual((await factors.credential('cred-a'))?.transports, ['usb']);
      assert.equal(await factors.removePasskey('dana@example.test', p!.id), true);
      assert.equal(await factors.required('dana@example.test'), false);
    });
  });
}
