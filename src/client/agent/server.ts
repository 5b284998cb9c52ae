import { existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { deriveKey } from '../store/age-scrypt.ts';
import { ensurePrivateDir } from './socket-path.ts';

/**
 * The token agent: a per-user process that keeps each account's age passphrase, and the scrypt
 * keys derived from it, for a bounded time, so `fingerpost token` (run by mail clients on every
 * connection) opens the token file in milliseconds instead of paying scrypt (work factor 18) and
 * asking again. It listens on a unix socket (mode 0600, in a 0700 directory), answers one JSON
 * line per connection, logs nothing, forgets an account when its time is up and exits when it
 * holds nothing. Protocol: src/client/agent/client.ts.
 */

interface Held {
  passphrase: string;
  expiresAt: number;
  /** `salt(base64):logN` → derived key; a few per account (each reseal makes a new salt). */
  keys: Map<string, Buffer>;
  /**
   * Access tokens last printed by `fingerpost token`, per service, each tied to the account
   * file's version (`stamp`: inode, size, mtime) it came from: any save, new sign-in or logout
   * changes the file and so misses here.
   */
  tokens: Map<string, { token: string; expiresAt: number; obtainedAt: number; stamp: string }>;
}

/** Tokens kept per account (one per service) and their longest accepted length. */
const MAX_TOKENS = 16;
const MAX_TOKEN_LENGTH = 16_384;

const MAX_LINE = 64 * 1024;
const MAX_ACCOUNTS = 256;
const MAX_KEYS = 8;
/** With nothing held this long after start, the agent exits. */
const IDLE_START_MS = 30_000;

export interface AgentOptions {
  readonly now?: () => number;
  /** Called when the agent stops (tests); the process exits by itself when run as a program. */
  readonly onStop?: () => void;
}

/** Starts the agent on `socket`; resolves once it listens. Returns a function that stops it. */
export async function startAgent(socket: string, options: AgentOptions = {}): Promise<() => Promise<void>> {
  const now = options.now ?? Date.now;
  ensurePrivateDir(socket);
  const held = new Map<string, Held>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const forget = (account: string) => {
    const h = held.get(account);
    if (!h) return;
    for (const k of h.keys.values()) k.fill(0);
    h.tokens.clear();
    held.delete(account);
  };
  const sweep = () => {
    const t = now();
    for (const [account, h] of held) if (h.expiresAt <= t) forget(account);
  };
  /** Wakes at the next expiry; with nothing left to hold, the agent stops. */
  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (stopped) return;
    if (!held.size) {
      void stop();
      return;
    }
    const next = Math.min(...[...held.values()].map((h) => h.expiresAt));
    timer = setTimeout(
      () => {
        sweep();
        schedule();
      },
      Math.max(0, Math.min(next - now(), 2 ** 31 - 1)),
    );
  };

  async function answer(req: Record<string, unknown>): Promise<Record<string, unknown>> {
    const account = typeof req.account === 'string' ? req.account.slice(0, 512) : undefined;
    sweep();
    switch (req.op) {
      case 'unlock': {
        const ttl = Number(req.ttl);
        if (!account || typeof req.passphrase !== 'string' || !Number.isFinite(ttl) || ttl <= 0) return { error: 'bad request' };
        if (!held.has(account) && held.size >= MAX_ACCOUNTS) return { error: 'too many accounts' };
        const prior = held.get(account);
        const keys = prior && prior.passphrase === req.passphrase ? prior.keys : new Map<string, Buffer>();
        if (prior && prior.keys !== keys) forget(account);
        held.set(account, { passphrase: req.passphrase, expiresAt: now() + ttl * 1000, keys, tokens: prior?.tokens ?? new Map() });
        schedule();
        return { ok: true };
      }
      case 'token': {
        // The rule of client/tokens.ts isFresh with no --min-valid: min(5 min, half the lifetime) left.
        const t = account ? held.get(account)?.tokens.get(String(req.service ?? '')) : undefined;
        if (!t || typeof req.stamp !== 'string' || t.stamp !== req.stamp) return {};
        const margin = Math.min(5 * 60_000, Math.max(0, (t.expiresAt - t.obtainedAt) / 2));
        return t.expiresAt - now() > margin ? { token: t.token } : {};
      }
      case 'token-put': {
        const h = account ? held.get(account) : undefined;
        if (!h) return { locked: true };
        const { token, stamp } = req;
        const expiresAt = Number(req.expiresAt);
        const obtainedAt = Number(req.obtainedAt);
        if (
          typeof token !== 'string' ||
          !token ||
          token.length > MAX_TOKEN_LENGTH ||
          /[\s]/.test(token) ||
          typeof stamp !== 'string' ||
          stamp.length > 100 ||
          !Number.isFinite(expiresAt) ||
          !Number.isFinite(obtainedAt)
        )
          return { error: 'bad request' };
        const service = String(req.service ?? '').slice(0, 32);
        if (!h.tokens.has(service) && h.tokens.size >= MAX_TOKENS) h.tokens.clear();
        h.tokens.set(service, { token, expiresAt, obtainedAt, stamp });
        return { ok: true };
      }
      case 'key':
      case 'remember': {
        const h = account ? held.get(account) : undefined;
        if (!h) return { locked: true };
        const salt = typeof req.salt === 'string' && /^[A-Za-z0-9+/]{22}={0,2}$/.test(req.salt) ? req.salt : undefined;
        const logN = Number(req.logN);
        if (!salt || !Number.isInteger(logN) || logN < 1 || logN > 20) return { error: 'bad request' };
        const id = `${salt}:${logN}`;
        if (req.op === 'remember') {
          const key = typeof req.key === 'string' ? Buffer.from(req.key, 'base64') : undefined;
          if (key?.length !== 32) return { error: 'bad request' };
          keep(h, id, key);
          return { ok: true };
        }
        let key = h.keys.get(id);
        if (!key) {
          key = await deriveKey(h.passphrase, Buffer.from(salt, 'base64'), logN);
          keep(h, id, key);
        }
        return { key: key.toString('base64') };
      }
      case 'forget':
        if (account) forget(account);
        else for (const a of [...held.keys()]) forget(a);
        schedule();
        return { ok: true };
      case 'status':
        return { accounts: [...held].map(([a, h]) => ({ account: a, expiresIn: Math.round((h.expiresAt - now()) / 1000) })) };
      case 'stop':
        setImmediate(() => void stop());
        return { ok: true };
      default:
        return { error: 'unknown operation' };
    }
  }

  const keep = (h: Held, id: string, key: Buffer) => {
    h.keys.set(id, key);
    while (h.keys.size > MAX_KEYS) {
      const oldest = h.keys.keys().next().value!;
      h.keys.get(oldest)?.fill(0);
      h.keys.delete(oldest);
    }
  };

  const server = net.createServer((conn) => {
    let buf = '';
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on('error', () => {});
    conn.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      if (buf.length > MAX_LINE) return conn.destroy();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      conn.removeAllListeners('data');
      let req: Record<string, unknown>;
      try {
        req = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        if (!req || typeof req !== 'object') throw new Error();
      } catch {
        conn.end(`${JSON.stringify({ error: 'bad request' })}\n`);
        return;
      }
      answer(req).then(
        (res) => conn.end(`${JSON.stringify(res)}\n`),
        () => conn.end(`${JSON.stringify({ error: 'failed' })}\n`),
      );
    });
  });

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    for (const a of [...held.keys()]) forget(a);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    options.onStop?.();
  }

  // A socket left by an agent that died: remove it when nothing answers there.
  if (existsSync(socket) && !(await answers(socket))) unlinkSync(socket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const old = process.umask(0o177);
    server.listen(socket, () => {
      process.umask(old);
      resolve();
    });
  });
  timer = setTimeout(() => {
    if (!held.size) void stop();
  }, IDLE_START_MS);
  timer.unref?.();
  return stop;
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

if (import.meta.main) {
  const socket = process.argv[2];
  if (!socket) process.exit(2);
  process.title = 'fingerpost-agent';
  try {
    await startAgent(socket, { onStop: () => process.exit(0) });
  } catch {
    // Another agent won the race to the socket, or the directory is not private: nothing to do.
    process.exit(0);
  }
}
