// Opening scrypt-sealed age files with node:crypto alone (src/client/store/age-open.ts): files
// written by the age library (its own scrypt recipient, and ours) open; a wrong key gives
// undefined; a changed header, payload, or a truncated file is refused as malformed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { armor, Encrypter } from 'age-encryption';
import { AgeFormatError, openScryptAge } from '../../../src/client/store/age-open.ts';
import { deriveKey, NativeScryptRecipient } from '../../../src/client/store/age-scrypt.ts';

const keyFor = (passphrase: string) => (salt: Buffer, logN: number) => deriveKey(passphrase, salt, logN);

async function sealed(passphrase: string, text: string, ours = false): Promise<string> {
  const e = new Encrypter();
  if (ours) e.addRecipient(new NativeScryptRecipient(passphrase, 10));
  else {
    e.setPassphrase(passphrase);
    e.setScryptWorkFactor(10);
  }
  return armor.encode(await e.encrypt(text));
}

/** Flips one bit of the decoded file at `at` (negative: from the end) and armors it again. */
function flip(armored: string, at: number): string {
  const bytes = armor.decode(armored);
  const i = at < 0 ? bytes.length + at : at;
  bytes[i]! ^= 1;
  return armor.encode(bytes);
}

describe('age files opened without the age library', () => {
  it('opens what the age library seals, with its scrypt recipient and with ours', async () => {
    assert.equal(await openScryptAge(await sealed('pass one', '{"a":1}'), keyFor('pass one')), '{"a":1}');
    assert.equal(await openScryptAge(await sealed('pass two', 'ünïcode', true), keyFor('pass two')), 'ünïcode');
  });

  it('opens a payload of several STREAM chunks (64 KiB each)', async () => {
    const big = 'x'.repeat(150_000);
    assert.equal(await openScryptAge(await sealed('pass', big), keyFor('pass')), big);
    const exact = 'y'.repeat(65_536);
    assert.equal(await openScryptAge(await sealed('pass', exact), keyFor('pass')), exact);
  });

  it('answers undefined for a wrong passphrase or no key', async () => {
    const file = await sealed('right', 'secret');
    assert.equal(await openScryptAge(file, keyFor('wrong')), undefined);
    assert.equal(await openScryptAge(file, async () => undefined), undefined);
  });

  it('refuses a changed header, a changed or truncated payload, and bad armor', async () => {
    const file = await sealed('right', 'secret text');
    // Another valid MAC character: the header no longer authenticates.
    const raw = armor.decode(file);
    const mac = Buffer.from(raw).indexOf('--- ') + 4;
    raw[mac] = raw[mac] === 0x41 ? 0x42 : 0x41;
    await assert.rejects(openScryptAge(armor.encode(raw), keyFor('right')), /header MAC/);
    await assert.rejects(openScryptAge(flip(file, -3), keyFor('right')), AgeFormatError);
    const bytes = armor.decode(file);
    await assert.rejects(openScryptAge(armor.encode(bytes.subarray(0, bytes.length - 20)), keyFor('right')), AgeFormatError);
    await assert.rejects(openScryptAge('not armor', keyFor('right')), AgeFormatError);
    await assert.rejects(openScryptAge(file.replace(/\n([A-Za-z])/, '\n$1$1'), keyFor('right')), AgeFormatError);
  });
});
