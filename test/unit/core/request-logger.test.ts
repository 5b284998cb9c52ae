import assert from 'node:assert/strict';
import type net from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../../src/core/log.ts';
import { RequestLogger } from '../../../src/protocols/http/server.ts';

/** A JSON logger at `level` whose lines land in `lines`. */
function sinkLogger(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger(level, sink, 'json'), lines };
}

const socket = { remoteAddress: '192.0.2.7', remotePort: 4711 } as unknown as net.Socket;

describe('the HTTPS request logger (made on first use)', () => {
  it('writes the lines an eager child would: request id and client IP bound, secrets redacted', async () => {
    const { logger, lines } = sinkLogger('info');
    const log = new RequestLogger(logger, { reqId: 'req-7' }, socket);
    log.error({ err: 'boom', password: 'hunter2' }, 'request failed');
    log.info('plain message');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines.length, 2);
    assert.equal(lines[0]!.reqId, 'req-7');
    assert.equal(lines[0]!.ip, '192.0.2.7');
    assert.equal(lines[0]!.msg, 'request failed');
    assert.equal(lines[0]!.password, '[redacted]');
    assert.equal(lines[1]!.msg, 'plain message');
    assert.equal(lines[1]!.ip, '192.0.2.7');
  });

  it('writes nothing below the level, and its children carry the bindings', async () => {
    const { logger, lines } = sinkLogger('warn');
    const log = new RequestLogger(logger, { reqId: 'req-8' }, socket);
    log.info('not written');
    log.debug('not written');
    assert.equal(log.isLevelEnabled('info'), false);
    assert.equal(log.level, 'warn');
    log.child({ part: 'x' }).warn('from a child');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lines.length, 1);
    assert.deepEqual([lines[0]!.reqId, lines[0]!.ip, lines[0]!.part, lines[0]!.msg], ['req-8', '192.0.2.7', 'x', 'from a child']);
  });
});
