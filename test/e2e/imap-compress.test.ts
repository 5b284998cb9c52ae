// IMAP COMPRESS=DEFLATE (RFC 4978): by hand with node:zlib on a raw TLS socket (commands pipelined
// behind COMPRESS, a second COMPRESS, LOGOUT's BYE through the compressed stream, decompression
// bombs with and without a line end), and with imapflow, which turns compression on by itself.
// mutt's imap_deflate is in imap-mutt.test.ts.
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import zlib from 'node:zlib';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE = 'alice@example.test';
const PASSWORD = 'alice-password-1';
const APPEND_LIMIT = 1 << 20;

/** A raw IMAP client that can switch its socket to raw DEFLATE after COMPRESS. */
class DeflateClient {
  readonly socket: tls.TLSSocket;
  #text = '';
  #waiters: Array<() => void> = [];
  #deflate: zlib.DeflateRaw | null = null;
  closed = false;

  constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.#received(d));
    socket.on('close', () => {
      if (this.#inflate) this.#inflate.end();
      else this.#closedNow();
    });
    socket.on('error', () => {});
  }

  #inflate: zlib.InflateRaw | null = null;

  #closedNow(): void {
    this.closed = true;
    this.#wake();
  }

  static connect(port: number, ca: string): Promise<DeflateClient> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost' });
      s.once('secureConnect', () => resolve(new DeflateClient(s)));
      s.once('error', reject);
    });
  }

  #received(d: Buffer): void {
    this.#text += d.toString('latin1');
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** From now on, server bytes are inflated and client bytes deflated (RFC 4978 §3). */
  compress(): void {
    const inflate = zlib.createInflateRaw();
    this.#inflate = inflate;
    this.socket.removeAllListeners('data');
    this.socket.on('data', (d: Buffer) => inflate.write(d));
    inflate.on('data', (d: Buffer) => this.#received(d));
    // What the server sent last is read before the connection counts as closed.
    inflate.on('close', () => this.#closedNow());
    inflate.on('error', () => {});
    this.#deflate = zlib.createDeflateRaw();
    this.#deflate.on('data', (d: Buffer) => this.socket.write(d));
  }

  write(data: string | Buffer): void {
    if (this.#deflate) {
      this.#deflate.write(data);
      this.#deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    } else this.socket.write(data);
  }

  async line(timeoutMs = 10_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#text.indexOf('\r\n');
      if (i >= 0) {
        const l = this.#text.slice(0, i);
        this.#text = this.#text.slice(i + 2);
        return l;
      }
      if (this.closed) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; have ${JSON.stringify(this.#text.slice(0, 200))}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  async until(pattern: RegExp): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line();
      if (l === undefined) throw new Error(`closed before ${pattern}; got ${JSON.stringify(lines)}`);
      lines.push(l);
      if (pattern.test(l)) return lines;
    }
  }

  async cmd(tag: string, text: string): Promise<string[]> {
    this.write(`${tag} ${text}\r\n`);
    return this.until(new RegExp(`^${tag} (OK|NO|BAD)`));
  }

  async closedByPeer(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('peer did not close');
      await new Promise<void>((r) => this.#waiters.push(r));
    }
  }
}

describe('IMAP COMPRESS=DEFLATE (RFC 4978)', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ domain: 'example.test', overrides: { imap: { append_limit: APPEND_LIMIT } } });
    await t.services.accounts.addUser({ address: ALICE, password: PASSWORD });
  });
  after(() => t.close());

  const signedIn = async (): Promise<DeflateClient> => {
    const c = await DeflateClient.connect(t.ports.imaps, t.ca);
    assert.match((await c.line())!, /^\* OK /);
    assert.match((await c.cmd('l', `LOGIN ${ALICE} ${PASSWORD}`)).at(-1)!, /^l OK/);
    return c;
  };

  test('advertised once signed in; commands and responses are compressed after the tagged OK', async () => {
    const c = await DeflateClient.connect(t.ports.imaps, t.ca);
    assert.match((await c.line())!, /^\* OK /);
    assert.match((await c.cmd('z', 'COMPRESS DEFLATE')).at(-1)!, /^z BAD \[CLIENTBUG\]/, 'not before sign-in');
    assert.match((await c.cmd('l', `LOGIN ${ALICE} ${PASSWORD}`)).at(-1)!, /^l OK/);
    assert.match((await c.cmd('caps', 'CAPABILITY'))[0]!, / COMPRESS=DEFLATE( |$)/);
    assert.match((await c.cmd('x', 'COMPRESS LZW')).at(-1)!, /^x BAD /);
    assert.equal((await c.cmd('c', 'COMPRESS DEFLATE')).at(-1), 'c OK DEFLATE active');
    c.compress();
    assert.match((await c.cmd('n', 'NOOP')).at(-1)!, /^n OK/);
    assert.match((await c.cmd('again', 'COMPRESS DEFLATE')).at(-1)!, /^again NO \[COMPRESSIONACTIVE\]/);
    // A message large enough to span many deflate blocks, both ways.
    const body = `Subject: squeezed\r\n\r\n${Array.from({ length: 4000 }, (_, i) => `line ${i} of a compressible body`).join('\r\n')}\r\n`;
    c.write(`a APPEND INBOX {${body.length}}\r\n`);
    assert.match((await c.line())!, /^\+ /);
    c.write(`${body}\r\n`);
    assert.match((await c.until(/^a /)).at(-1)!, /^a OK \[APPENDUID \d+ 1\]/);
    await c.cmd('s', 'SELECT INBOX');
    c.write('f UID FETCH 1 BODY.PEEK[]\r\n');
    const first = (await c.line())!;
    const size = Number(/\{(\d+)\}$/.exec(first)?.[1]);
    assert.equal(size, body.length);
    const lines: string[] = [];
    while (lines.join('\r\n').length < body.length) lines.push((await c.line())!);
    assert.equal(`${lines.join('\r\n')}\r\n`.slice(0, body.length), body);
    await c.until(/^f OK/);
    // LOGOUT's BYE and OK come through the compressed stream, then the server closes.
    const bye = await c.cmd('o', 'LOGOUT');
    assert.match(bye[0]!, /^\* BYE/);
    assert.match(bye.at(-1)!, /^o OK/);
    await c.closedByPeer();
  });

  test('a command sent in the same packet as COMPRESS is read as compressed', async () => {
    const c = await signedIn();
    const deflated = zlib.deflateRawSync(Buffer.from('p NOOP\r\n'), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    c.socket.write(Buffer.concat([Buffer.from('c COMPRESS DEFLATE\r\n'), deflated]));
    assert.equal(await c.line(), 'c OK DEFLATE active');
    c.compress();
    assert.match((await c.until(/^p /)).at(-1)!, /^p OK/);
    assert.match((await c.cmd('n', 'NOOP')).at(-1)!, /^n OK/);
    c.socket.destroy();
  });

  test('a decompression bomb without a line end ends the session with BYE [TOOBIG], unbuffered', async () => {
    const c = await signedIn();
    assert.match((await c.cmd('c', 'COMPRESS DEFLATE')).at(-1)!, /^c OK/);
    c.compress();
    assert.match((await c.cmd('n', 'NOOP')).at(-1)!, /^n OK/);
    // 64 MiB of one byte deflates to about 64 KiB: far past the bound of one command.
    const zeros = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < 64 && !c.closed; i++) c.write(zeros);
    const lines = await c.until(/^\* BYE/);
    assert.match(lines.at(-1)!, /^\* BYE \[TOOBIG\]/);
    await c.closedByPeer();
  });

  test('a bomb inside a literal is bounded too; other sessions are unaffected', async () => {
    const c = await signedIn();
    assert.match((await c.cmd('c', 'COMPRESS DEFLATE')).at(-1)!, /^c OK/);
    c.compress();
    // Larger than APPENDLIMIT: refused as a literal, then its bytes count against the bound.
    c.write(`a APPEND INBOX {${64 * (1 << 20)}+}\r\n`);
    const chunk = Buffer.alloc(1 << 20, 0x62);
    for (let i = 0; i < 8; i++) c.write(chunk);
    const lines = await c.until(/^\* BYE/);
    assert.match(lines.at(-1)!, /^\* BYE \[TOOBIG\]/);
    const other = await signedIn();
    assert.match((await other.cmd('n', 'NOOP')).at(-1)!, /^n OK/);
    other.socket.destroy();
  });

  test('imapflow negotiates COMPRESS itself and appends, fetches and lists through it', async () => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: t.ports.imaps,
      secure: true,
      tls: { ca: t.ca, servername: 'localhost' },
      auth: { user: ALICE, pass: PASSWORD },
      logger: false,
    });
    client.on('error', () => {});
    await client.connect();
    assert.ok(client.capabilities.has('COMPRESS=DEFLATE'));
    assert.ok((client as unknown as { _deflate?: unknown })._deflate, 'imapflow turned compression on');
    await client.mailboxCreate('Squeezed');
    const big = `From: bob@example.test\r\nSubject: big through deflate\r\n\r\n${'All work and no play. '.repeat(20_000)}\r\n`;
    const appended = await client.append('Squeezed', big, ['\\Seen']);
    assert.ok(appended, 'APPEND answered');
    assert.ok(appended.uid);
    const lock = await client.getMailboxLock('Squeezed');
    try {
      const msg = await client.fetchOne(String(appended.uid), { source: true, envelope: true }, { uid: true });
      assert.ok(msg);
      assert.equal(msg.envelope?.subject, 'big through deflate');
      assert.equal(msg.source?.toString('latin1'), big);
      // Many small round trips after a large one: each response is flushed whole.
      for (let i = 0; i < 20; i++) await client.noop();
      const list = await client.list();
      assert.ok(list.some((b) => b.path === 'Squeezed'));
    } finally {
      lock.release();
    }
    await client.logout();
  });
});
