// Connection limits: per-client counting (IPv6 by /64), the pre-login share of the total and
// eviction of the oldest connection that has not signed in.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey } from '../../../src/net/cidr.ts';
import { type ConnectionSlot, ConnectionLimiter } from '../../../src/net/limits.ts';

function take(limiter: ConnectionLimiter, ip: string, evicted: string[] = [], name = ip): ConnectionSlot {
  const slot = limiter.acquire(ip, () => evicted.push(name));
  assert.notEqual(typeof slot, 'string', `${name} got a slot`);
  return slot as ConnectionSlot;
}

describe('connection limits', () => {
  it('counts IPv6 clients by their /64 and IPv4-mapped addresses as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('2001:DB8:0001:0002:0:0:0:9'), addressKey('2001:db8:1:2::'));
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');

    const limiter = new ConnectionLimiter({ total: 100, perIp: 2 });
    take(limiter, '2001:db8:1:2::1');
    take(limiter, '2001:db8:1:2::2');
    assert.equal(
      limiter.acquire('2001:db8:1:2::3', () => {}),
      'per_ip',
      'a third address of the same /64 is over the limit',
    );
    take(limiter, '2001:db8:1:3::1');
  });

  it('lets connections that have not signed in hold only their share, evicting the oldest for a newcomer', () => {
    const evicted: string[] = [];
    const limiter = new ConnectionLimiter({ total: 10, perIp: 10, preloginShare: 0.3 });
    const first = take(limiter, '192.0.2.1', evicted, 'first');
    take(limiter, '192.0.2.2', evicted, 'second');
    take(limiter, '192.0.2.3', evicted, 'third');
    assert.equal(limiter.prelogin, 3);
    take(limiter, '192.0.2.4', evicted, 'fourth');
    assert.deepEqual(evicted, ['first'], 'the oldest one not signed in gave way');
    assert.equal(limiter.prelogin, 3);
    first.release();
    assert.equal(limiter.open, 3);
  });

  it('never evicts a signed-in connection: with the total reached by them, newcomers are refused', () => {
    const evicted: string[] = [];
    const limiter = new ConnectionLimiter({ total: 3, perIp: 10, preloginShare: 0.5 });
    const a = take(limiter, '192.0.2.1', evicted, 'a');
    a.promote();
    const b = take(limiter, '192.0.2.2', evicted, 'b');
    b.promote();
    take(limiter, '192.0.2.3', evicted, 'c');
    // The total is reached: the one pre-login connection gives way, the signed-in ones stay.
    take(limiter, '192.0.2.4', evicted, 'd').promote();
    assert.deepEqual(evicted, ['c']);
    assert.equal(
      limiter.acquire('192.0.2.5', () => {}),
      'total',
    );
    assert.deepEqual(evicted, ['c']);
  });

  it('frees a slot once, however often it is released', () => {
    const limiter = new ConnectionLimiter({ total: 2, perIp: 1 });
    const a = take(limiter, '192.0.2.1');
    a.release();
    a.release();
    assert.equal(limiter.open, 0);
    take(limiter, '192.0.2.1');
    assert.equal(
      limiter.acquire('192.0.2.1', () => {}),
      'per_ip',
    );
    assert.equal(limiter.open, 1);
  });
});
