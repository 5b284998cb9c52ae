import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensurePrivateDir } from './files.ts';
import path from 'node:path';

/**
 * A lock file that makes concurrent refreshes of one account safe across processes (issue 9:
 * two mutt processes at once get valid tokens from one refresh). Created with O_EXCL; holds the
 * owner's pid, host and a nonce. A lock whose owner is gone (same host, pid not alive) or that is
 * older than `staleMs` is broken, under a short-lived second lock so that two waiters can never
 * both break it and so remove a live lock taken in between.
 */
export interface LockOptions {
  /** Give up after waiting this long (default 60 s). */
  readonly waitMs?: number;
  /** A lock older than this is stale whoever holds it (default 120 s; a refresh times out sooner). */
  readonly staleMs?: number;
}

interface Owner {
  pid: number;
  host: string;
  nonce: string;
  at: number;
}

/** Thrown when the lock could not be taken in time. */
export class LockTimeout extends Error {
  constructor(file: string) {
    super(`another fingerpost process holds ${path.basename(file)} and did not finish in time`);
    this.name = 'LockTimeout';
  }
}

/** Runs `fn` while holding the lock `file`; the lock is released afterwards, also on error. */
export async function withLock<T>(file: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const release = await acquire(file, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

async function acquire(file: string, options: LockOptions): Promise<() => Promise<void>> {
  const waitMs = options.waitMs ?? 60_000;
  const staleMs = options.staleMs ?? 120_000;
  await ensurePrivateDir(path.dirname(file));
  const me: Owner = { pid: process.pid, host: os.hostname(), nonce: randomBytes(8).toString('hex'), at: Date.now() };
  const deadline = Date.now() + waitMs;
  let delay = 10;
  for (;;) {
    if (await tryCreate(file, me)) {
      return async () => {
        const current = await readOwner(file);
        if (current?.nonce === me.nonce) await rm(file, { force: true });
      };
    }
    await breakIfStale(file, staleMs);
    if (Date.now() >= deadline) throw new LockTimeout(file);
    await sleep(delay + Math.floor(Math.random() * delay));
    delay = Math.min(delay * 2, 200);
  }
}

async function tryCreate(file: string, owner: Owner): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(JSON.stringify(owner));
  } finally {
    await handle.close();
  }
  return true;
}

async function readOwner(file: string): Promise<Owner | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<Owner>;
    if (typeof value.pid === 'number' && typeof value.nonce === 'string' && typeof value.host === 'string' && typeof value.at === 'number')
      return value as Owner;
    return undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(file: string, staleMs: number): Promise<Owner | 'unreadable' | undefined> {
  const owner = await readOwner(file);
  if (!owner) {
    // Being written right now, or garbage: only stale once it has been there a while.
    try {
      const age = Date.now() - (await stat(file)).mtimeMs;
      return age > 5_000 ? 'unreadable' : undefined;
    } catch {
      return undefined;
    }
  }
  if (Date.now() - owner.at > staleMs) return owner;
  if (owner.host === os.hostname() && !alive(owner.pid)) return owner;
  return undefined;
}

async function breakIfStale(file: string, staleMs: number): Promise<void> {
  if (!(await isStale(file, staleMs))) return;
  const breaker = `${file}.break`;
  const me: Owner = { pid: process.pid, host: os.hostname(), nonce: randomBytes(8).toString('hex'), at: Date.now() };
  if (!(await tryCreate(breaker, me))) {
    // Someone else is breaking it; a breaker left by a crash is itself stale after a few seconds.
    const b = await readOwner(breaker);
    if (!b || Date.now() - b.at > 10_000 || (b.host === me.host && !alive(b.pid))) await rm(breaker, { force: true });
    return;
  }
  try {
    // Re-check under the breaker: the lock may have been broken and re-taken meanwhile.
    if (await isStale(file, staleMs)) await rm(file, { force: true });
  } finally {
    await rm(breaker, { force: true });
  }
}
