// The sign-in page's device cookie (src/idp/device-cookie.ts): proves a browser signed in to an
// account before, under a server secret, for auth.limits.known_for; a fake clock, no sleeps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeviceCookies, deviceCookieOf } from '../../../src/idp/device-cookie.ts';

const SECRET = Buffer.alloc(32, 3).toString('base64url');
const DAY = 86_400_000;

describe('device cookies', () => {
  let clock = 1_800_000_000_000;
  const cookies = new DeviceCookies(SECRET, 30 * DAY, () => clock);

  it('proves a sign-in to the same account only, under the same secret', () => {
    const value = cookies.issue(undefined, 'alice@example.test');
    const device = cookies.verify(value, 'alice@example.test');
    assert.match(device ?? '', /^[A-Za-z0-9_-]{22}$/);
    assert.equal(cookies.verify(value, 'bob@example.test'), undefined);
    assert.equal(
      new DeviceCookies(Buffer.alloc(32, 4).toString('base64url'), 30 * DAY, () => clock).verify(value, 'alice@example.test'),
      undefined,
    );
    assert.doesNotMatch(value, /alice/, 'no account name in the cookie');
  });

  it('refuses tampered, truncated and garbage values', () => {
    const value = cookies.issue(undefined, 'alice@example.test');
    const flipped = value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A');
    for (const bad of [flipped, value.slice(0, 30), '', 'x', `${'a'.repeat(22)}.zz-${'b'.repeat(22)}`, 'é'.repeat(2000), undefined])
      assert.equal(cookies.verify(bad, 'alice@example.test'), undefined, String(bad).slice(0, 40));
    // Another device id with alice's entry: the MAC binds the entry to its device.
    const other = `${'Q'.repeat(22)}${value.slice(22)}`;
    assert.equal(cookies.verify(other, 'alice@example.test'), undefined);
  });

  it('keeps one device id for up to five accounts, newest first, and forgets entries after known_for', () => {
    let value = cookies.issue(undefined, 'a@example.test');
    const device = cookies.verify(value, 'a@example.test');
    for (const u of ['b', 'c', 'd', 'e', 'f']) {
      clock += 1000;
      value = cookies.issue(value, `${u}@example.test`);
    }
    for (const u of ['b', 'c', 'd', 'e', 'f']) assert.equal(cookies.verify(value, `${u}@example.test`), device, u);
    assert.equal(cookies.verify(value, 'a@example.test'), undefined, 'the oldest of six is dropped');
    value = cookies.issue(value, 'c@example.test');
    assert.equal(value.split('~').length, 5, 'signing in again moves the account first instead of adding it twice');
    clock += 30 * DAY;
    assert.equal(cookies.verify(value, 'c@example.test'), undefined, 'expired after known_for');
  });

  it('reads the cookie out of a Cookie header', () => {
    assert.equal(deviceCookieOf('a=1; fp_device=abc.def; b=2'), 'abc.def');
    assert.equal(deviceCookieOf('fp_devicex=1'), undefined);
    assert.equal(deviceCookieOf(undefined), undefined);
    assert.equal(deviceCookieOf(`fp_device=${'x'.repeat(9000)}`), undefined);
  });

  it('sets an HttpOnly, Secure, SameSite=Lax cookie on the interaction path for known_for', () => {
    assert.equal(
      cookies.header('v', '/oidc/interaction'),
      `fp_device=v; Path=/oidc/interaction; Max-Age=${30 * 86_400}; HttpOnly; Secure; SameSite=Lax`,
    );
  });
});
