import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipMatcher } from '../../../src/net/cidr.ts';
import { parseProxyHeader } from '../../../src/net/proxy-protocol.ts';

const V2_SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

describe('PROXY protocol', () => {
  it('parses a v1 TCP4 line and leaves the rest', () => {
    const buf = Buffer.from('PROXY TCP4 192.0.2.10 198.51.100.1 56324 993\r\na1 CAPABILITY\r\n');
    const r = parseProxyHeader(buf);
    assert.equal(r.kind, 'ok');
    if (r.kind !== 'ok') return;
    assert.deepEqual(r.address, { remoteAddress: '192.0.2.10', remotePort: 56324, localAddress: '198.51.100.1', localPort: 993 });
    assert.equal(buf.subarray(r.consumed).toString(), 'a1 CAPABILITY\r\n');
  });

  it('waits for more bytes, and refuses garbage and overlong lines', () => {
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.2')).kind, 'incomplete');
    assert.equal(parseProxyHeader(Buffer.from('PRO')).kind, 'incomplete');
    assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'invalid');
    assert.equal(parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)).kind, 'invalid');
    assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n')).kind, 'invalid');
  });

  it('parses v1 UNKNOWN as no address', () => {
    const r = parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n'));
    assert.ok(r.kind === 'ok' && r.address === undefined && r.consumed === 15);
  });

  it('parses a v2 PROXY command for IPv4 and IPv6', () => {
    const v4 = Buffer.concat([
      V2_SIG,
      Buffer.from([0x21, 0x11, 0x00, 0x0c, 192, 0, 2, 10, 198, 51, 100, 1, 0xdc, 0x04, 0x03, 0xe1]),
      Buffer.from('rest'),
    ]);
    const r = parseProxyHeader(v4);
    assert.ok(r.kind === 'ok');
    if (r.kind !== 'ok') return;
    assert.deepEqual(r.address, { remoteAddress: '192.0.2.10', localAddress: '198.51.100.1', remotePort: 56324, localPort: 993 });
    assert.equal(v4.subarray(r.consumed).toString(), 'rest');

    const addr6 = Buffer.alloc(36);
    addr6.writeUInt16BE(0x2001, 0);
    addr6.writeUInt16BE(0x0db8, 2);
    addr6.writeUInt16BE(1, 14);
    addr6.writeUInt16BE(443, 32);
    addr6.writeUInt16BE(8443, 34);
    const v6 = Buffer.concat([V2_SIG, Buffer.from([0x21, 0x21, 0x00, 36]), addr6]);
    const r6 = parseProxyHeader(v6);
    assert.ok(r6.kind === 'ok' && r6.address?.remoteAddress === '2001:db8:0:0:0:0:0:1' && r6.address.remotePort === 443);
  });

  it('parses a v2 LOCAL command and waits for a partial header', () => {
    const local = Buffer.concat([V2_SIG, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
    const r = parseProxyHeader(local);
    assert.ok(r.kind === 'ok' && r.address === undefined && r.consumed === 16);
    assert.equal(parseProxyHeader(local.subarray(0, 14)).kind, 'incomplete');
    assert.equal(parseProxyHeader(Buffer.concat([V2_SIG, Buffer.from([0x31, 0x11, 0, 0])])).kind, 'invalid');
  });

  it('matches allow-lists with CIDR ranges and mapped IPv4', () => {
    const m = ipMatcher(['10.0.0.0/8', '::1/128', '192.0.2.7']);
    assert.equal(m('10.1.2.3'), true);
    assert.equal(m('::ffff:10.1.2.3'), true);
    assert.equal(m('::1'), true);
    assert.equal(m('192.0.2.7'), true);
    assert.equal(m('192.0.2.8'), false);
    assert.equal(m('not-an-ip'), false);
    assert.throws(() => ipMatcher(['nonsense']), /not an IP address/);
  });
});
