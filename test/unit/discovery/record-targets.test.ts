// Warnings about where the DNS records point (src/discovery/record-targets.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTargetWarnings } from '../../../src/discovery/record-targets.ts';

const resolving =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address }));
const failing = async () => {
  throw Object.assign(new Error('nope'), { code: 'ENOTFOUND' });
};

describe('record target warnings', () => {
  it('warns for localhost, reserved names and IP literals without looking anything up', async () => {
    assert.match((await recordTargetWarnings('localhost', failing))[0]!, /deliver to its own machine/);
    assert.match((await recordTargetWarnings('mail.localhost', failing))[0]!, /deliver to its own machine/);
    assert.match((await recordTargetWarnings('mail.example.test', failing))[0]!, /\.test names do not resolve/);
    assert.match((await recordTargetWarnings('nas.home.arpa', failing))[0]!, /\.home\.arpa names/);
    assert.match((await recordTargetWarnings('10.0.0.5', failing))[0]!, /must be host names/);
  });

  it('warns when the name resolves only, or also, to loopback or private addresses', async () => {
    assert.match((await recordTargetWarnings('mail.example.org', resolving('10.1.2.3', '::1')))[0]!, /resolves only to 10\.1\.2\.3, ::1/);
    assert.match(
      (await recordTargetWarnings('mail.example.org', resolving('203.0.113.7', '192.168.1.2')))[0]!,
      /resolves also to 192\.168\.1\.2/,
    );
  });

  it('says nothing for a public name with public addresses, or one it cannot resolve', async () => {
    assert.deepEqual(await recordTargetWarnings('mail.example.org', resolving('203.0.113.7', '2001:db8::7')), []);
    assert.deepEqual(await recordTargetWarnings('mail.example.org', failing), []);
  });
});

describe('private addresses (src/discovery/client/http.ts)', () => {
  it('calls loopback, RFC 1918, link-local, ULA and mapped private addresses private, and public ones not', async () => {
    const { isPrivateAddress } = await import('../../../src/discovery/client/http.ts');
    for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.2', '169.254.1.1', '::1', 'fc00::1', 'fe80::1', '::ffff:10.0.0.1'])
      assert.equal(isPrivateAddress(a), true, a);
    // A BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules: public IPv4 stayed "private".
    for (const a of ['8.8.8.8', '203.0.113.7', '1.1.1.1', '2001:db8::7', '::ffff:8.8.8.8']) assert.equal(isPrivateAddress(a), false, a);
  });
});
