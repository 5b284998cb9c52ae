import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Connection } from '../../../src/net/connection.ts';
import { ConnectionLimiter } from '../../../src/net/limits.ts';
import { type Listener, type ListenerOptions, type ProtocolHandler, startListener } from '../../../src/net/listener.ts';
import { ensureLocalTls } from '../../../src/net/local-ca.ts';
import { loadTls, type TlsMaterial } from '../../../src/net/tls.ts';
import { readFile } from 'node:fs/promises';
import { LineClient } from '../../helpers/wire.ts';

/** A tiny line protocol: greets with the peer it sees, answers `TLS` by upgrading, `PING` with `PONG`, `LOGIN` by signing in. */
function echoHandler(seen: Connection[]): ProtocolHandler {
  return {
    accept(conn) {
      seen.push(conn);
      conn.write(`HELLO ${conn.remoteAddress} secure=${conn.secure}\r\n`);
      let buf = '';
      const onData = (d: Buffer) => {
        buf += d.toString();
        let i: number;
        while ((i = buf.indexOf('\r\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 2);
          if (line === 'TLS') {
            conn.write('GO\r\n');
            buf = ''; // discard anything pipelined after STARTTLS
            conn.startTls(5000).then(
              () => conn.socket.on('data', onData),
              () => conn.destroy(),
            );
            return;
          }
          if (line === 'LOGIN') {
            conn.signedIn();
            conn.write('OK signed in\r\n');
            continue;
          }
          conn.write(line === 'PING' ? `PONG secure=${conn.secure}\r\n` : `ECHO ${line}\r\n`);
        }
      };
      conn.socket.on('data', onData);
      return { close: (reason) => conn.end(`BYE ${reason}\r\n`) };
    },
    refusal: (reason) => `BYE too many (${reason})\r\n`,
  };
}

describe('listener layer', () => {
  let dir: string;
  let material: TlsMaterial;
  let ca: string;
  const open: Listener[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fp-net-'));
    const files = await ensureLocalTls(dir, ['mail.example.test']);
    material = loadTls(files.cert, files.key, 'TLSv1.2', files.caCert);
    ca = await readFile(files.caCert, 'utf8');
  });
  after(async () => {
    await Promise.all(open.map((l) => l.close(100)));
    await rm(dir, { recursive: true, force: true });
  });

  async function listen(
    opts: {
      implicitTls?: boolean;
      perIp?: number;
      proxy?: boolean;
      idleMs?: number;
      preloginMs?: number;
      limiter?: ConnectionLimiter;
      observer?: ListenerOptions['observer'];
    } = {},
  ) {
    const seen: Connection[] = [];
    const l = await startListener({
      info: { name: 'test', protocol: 'imap', implicitTls: opts.implicitTls ?? false },
      bind: '127.0.0.1',
      port: 0,
      tls: material,
      limiter: opts.limiter ?? new ConnectionLimiter({ total: 100, perIp: opts.perIp ?? 10 }),
      proxy: { enabled: opts.proxy ?? false, from: ['127.0.0.1/32'] },
      idleTimeoutMs: opts.idleMs ?? 60_000,
      ...(opts.preloginMs === undefined ? {} : { preloginTimeoutMs: opts.preloginMs }),
      handshakeTimeoutMs: 2000,
      handler: echoHandler(seen),
      ...(opts.observer ? { observer: opts.observer } : {}),
    });
    open.push(l);
    return { port: l.info.port, seen, listener: l };
  }

  it('serves implicit TLS with a certificate the local CA verifies', async () => {
    const { port } = await listen({ implicitTls: true });
    const c = await LineClient.connect(port, { tls: true, ca });
    assert.equal(await c.line(), 'HELLO 127.0.0.1 secure=true');
    c.write('PING\r\n');
    assert.equal(await c.line(), 'PONG secure=true');
    c.close();
  });

  it('upgrades with STARTTLS and drops bytes pipelined after the command', async () => {
    const { port } = await listen();
    const c = await LineClient.connect(port);
    assert.equal(await c.line(), 'HELLO 127.0.0.1 secure=false');
    c.write('TLS\r\nINJECTED\r\n');
    assert.equal(await c.line(), 'GO');
    const tls = await import('node:tls');
    const secure = tls.connect({ socket: c.socket, servername: 'localhost', ca });
    await new Promise((r, j) => secure.once('secureConnect', r).once('error', j));
    const s = new LineClient(secure);
    s.write('PING\r\n');
    assert.equal(await s.line(), 'PONG secure=true', 'the injected line was never executed');
    s.close();
  });

  it('refuses connections over the per-IP limit with the protocol refusal', async () => {
    const { port } = await listen({ perIp: 2 });
    const a = await LineClient.connect(port);
    const b = await LineClient.connect(port);
    await a.line();
    await b.line();
    const c = await LineClient.connect(port);
    assert.equal(await c.line(), 'BYE too many (per_ip)');
    await c.closedByPeer();
    a.close();
    await new Promise((r) => setTimeout(r, 50));
    const d = await LineClient.connect(port);
    assert.match((await d.line()) ?? '', /^HELLO/);
    b.close();
    d.close();
  });

  it('refuses connections over the total limit, counted across every listener sharing the limiter', async () => {
    const limiter = new ConnectionLimiter({ total: 2, perIp: 10 });
    const { port: p1 } = await listen({ limiter });
    const { port: p2 } = await listen({ limiter });
    const a = await LineClient.connect(p1);
    const b = await LineClient.connect(p2);
    assert.match((await a.line()) ?? '', /^HELLO/);
    assert.match((await b.line()) ?? '', /^HELLO/);
    // Signed in, neither gives way to a newcomer (a connection not signed in would be evicted).
    for (const c of [a, b]) {
      c.write('LOGIN\r\n');
      assert.equal(await c.line(), 'OK signed in');
    }
    const c = await LineClient.connect(p1);
    assert.equal(await c.line(), 'BYE too many (total)');
    await c.closedByPeer();
    b.close();
    for (let i = 0; i < 100 && limiter.open > 1; i++) await new Promise((r) => setTimeout(r, 10));
    const d = await LineClient.connect(p2);
    assert.match((await d.line()) ?? '', /^HELLO/, 'a freed slot is taken again');
    a.close();
    d.close();
  });

  it('takes the client address from a PROXY header and counts limits by it', async () => {
    const { port } = await listen({ proxy: true, perIp: 1 });
    const a = await LineClient.connect(port);
    a.write('PROXY TCP4 192.0.2.1 192.0.2.99 40000 143\r\nPING\r\n');
    assert.equal(await a.line(), 'HELLO 192.0.2.1 secure=false');
    assert.equal(await a.line(), 'PONG secure=false');
    const b = await LineClient.connect(port);
    b.write('PROXY TCP4 192.0.2.2 192.0.2.99 40001 143\r\n');
    assert.equal(await b.line(), 'HELLO 192.0.2.2 secure=false', 'another client IP has its own slot');
    const c = await LineClient.connect(port);
    c.write('PROXY TCP4 192.0.2.1 192.0.2.99 40002 143\r\n');
    assert.equal(await c.line(), 'BYE too many (per_ip)');
    const bad = await LineClient.connect(port);
    bad.write('GARBAGE\r\n');
    await bad.closedByPeer();
    a.close();
    b.close();
  });

  it("takes the address and port the client dialled from a PROXY header (the proxy's, not ours)", async () => {
    const { port, seen } = await listen({ proxy: true });
    const a = await LineClient.connect(port);
    a.write('PROXY TCP4 192.0.2.1 192.0.2.99 40000 993\r\n');
    assert.equal(await a.line(), 'HELLO 192.0.2.1 secure=false');
    assert.equal(seen.at(-1)?.localAddress, '192.0.2.99');
    assert.equal(seen.at(-1)?.localPort, 993);
    a.close();
    const direct = await listen();
    const b = await LineClient.connect(direct.port);
    await b.line();
    assert.equal(direct.seen.at(-1)?.localPort, direct.port, 'without PROXY: the port of this listener');
    b.close();
  });

  it('counts IPv6 clients by their /64: other addresses of one prefix share its per-address limit', async () => {
    const { port } = await listen({ proxy: true, perIp: 1 });
    const a = await LineClient.connect(port);
    a.write('PROXY TCP6 2001:db8:7:7::1 2001:db8::99 40000 143\r\n');
    assert.equal(await a.line(), 'HELLO 2001:db8:7:7::1 secure=false');
    const b = await LineClient.connect(port);
    b.write('PROXY TCP6 2001:db8:7:7::2 2001:db8::99 40001 143\r\n');
    assert.equal(await b.line(), 'BYE too many (per_ip)', 'the same /64 is the same client');
    const c = await LineClient.connect(port);
    c.write('PROXY TCP6 2001:db8:7:8::1 2001:db8::99 40002 143\r\n');
    assert.equal(await c.line(), 'HELLO 2001:db8:7:8::1 secure=false', 'another /64 has its own slot');
    a.close();
    c.close();
  });

  it('closes a connection that does not sign in within the pre-login timeout; a signed-in one gets the idle timeout', async () => {
    const timedOut: string[] = [];
    const { port } = await listen({ preloginMs: 300, idleMs: 60_000, observer: { timedOut: (_l, phase) => timedOut.push(phase) } });
    const signedIn = await LineClient.connect(port);
    await signedIn.line();
    signedIn.write('LOGIN\r\n');
    assert.equal(await signedIn.line(), 'OK signed in');
    const anonymous = await LineClient.connect(port);
    await anonymous.line();
    assert.equal(await anonymous.line(5000), 'BYE idle');
    await anonymous.closedByPeer();
    // The signed-in connection is older than the one that timed out, yet still served.
    signedIn.write('PING\r\n');
    assert.equal(await signedIn.line(), 'PONG secure=false');
    assert.deepEqual(timedOut, ['prelogin']);
    signedIn.close();
  });

  it('evicts the oldest connection that has not signed in when the pre-login share is full', async () => {
    const evicted: string[] = [];
    const limiter = new ConnectionLimiter({ total: 4, perIp: 10, preloginShare: 0.5 });
    const { port } = await listen({ limiter, observer: { evicted: (l) => evicted.push(l) } });
    const member = await LineClient.connect(port);
    await member.line();
    member.write('LOGIN\r\n');
    assert.equal(await member.line(), 'OK signed in');
    const oldest = await LineClient.connect(port);
    await oldest.line();
    const newer = await LineClient.connect(port);
    await newer.line();
    const newcomer = await LineClient.connect(port);
    assert.match((await newcomer.line()) ?? '', /^HELLO/, 'the newcomer is served');
    assert.equal(await oldest.line(), 'BYE idle', 'the oldest pre-login connection made room');
    await oldest.closedByPeer();
    assert.deepEqual(evicted, ['test']);
    for (const c of [member, newer, newcomer]) {
      c.write('PING\r\n');
      assert.equal(await c.line(), 'PONG secure=false');
      c.close();
    }
  });

  it('ends idle sessions through the protocol goodbye, and drains on close', async () => {
    const { port } = await listen({ idleMs: 200 });
    const c = await LineClient.connect(port);
    await c.line();
    assert.equal(await c.line(2000), 'BYE idle');
    await c.closedByPeer();
    const { port: p2, listener } = await listen();
    const d = await LineClient.connect(p2);
    await d.line();
    await listener.close(2000);
    assert.equal(await d.line(), 'BYE shutdown');
  });

  it('names the config key of the port that is in use (http.port and smtp.port have no tls_port)', async () => {
    const { port } = await listen();
    const cases: [ListenerOptions['info'], string][] = [
      [{ name: 'https', protocol: 'http', implicitTls: true }, 'http.port'],
      [{ name: 'smtp', protocol: 'smtp', implicitTls: false }, 'smtp.port'],
      [{ name: 'imaps', protocol: 'imap', implicitTls: true }, 'imap.tls_port'],
      [{ name: 'submission', protocol: 'submission', implicitTls: false }, 'submission.port'],
    ];
    for (const [info, key] of cases) {
      await assert.rejects(
        startListener({
          info,
          bind: '127.0.0.1',
          port,
          tls: material,
          limiter: new ConnectionLimiter({ total: 10, perIp: 10 }),
          proxy: { enabled: false, from: [] },
          idleTimeoutMs: 60_000,
          handshakeTimeoutMs: 2000,
          handler: echoHandler([]),
        }),
        (err: Error & { code?: string; hint?: string }) => {
          assert.equal(err.code, 'port_in_use');
          assert.equal(err.hint, `stop the other program or set ${key} in the config`);
          return true;
        },
      );
    }
  });
});
