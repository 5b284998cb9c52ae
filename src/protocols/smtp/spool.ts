import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * A message body on disk while it arrives (SMTP DATA / BDAT), so a session holds no more than the
 * batch of input at hand in memory. Not durable and not meant to be: the reply `250` only follows
 * delivery into the mail store or the queue (RFC 5321 §6.1), which fsync on their own.
 */
export class SpoolFile {
  readonly path: string;
  readonly #handle: FileHandle;
  #size = 0;
  #gone = false;

  constructor(file: string, handle: FileHandle) {
    this.path = file;
    this.#handle = handle;
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends bytes; resolves once the file has taken them (the session's back-pressure). */
  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.#handle.write(bytes, done, bytes.length - done, this.#size + done);
      done += bytesWritten;
    }
    this.#size += bytes.length;
  }

  /**
   * The whole body in one buffer, after `prefix` (the trace header), read in one go. The memory is
   * shared (a SharedArrayBuffer), so the MIME parser's worker thread reads it without a copy.
   */
  async read(prefix: Buffer): Promise<Buffer> {
    const out = Buffer.from(new SharedArrayBuffer(prefix.length + this.#size));
    prefix.copy(out, 0);
    let done = 0;
    while (done < this.#size) {
      const { bytesRead } = await this.#handle.read(out, prefix.length + done, this.#size - done, done);
      if (bytesRead === 0) throw new Error(`spool file ${this.path} is shorter than written`);
      done += bytesRead;
    }
    return out;
  }

  /** Closes and removes the file; calling it again does nothing. */
  async discard(): Promise<void> {
    if (this.#gone) return;
    this.#gone = true;
    await this.#handle.close().catch(() => {});
    // unlink, not rm: rm walks the path first (lstat) as if it might be a directory.
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

/** Spool files older than this are left-overs of a crash (a live one is written to or removed within minutes). */
const STALE_MS = 3_600_000;

/** The spool directory (`DATA/spool`): creates files and removes what a crash left behind. */
export class SpoolDir {
  readonly dir: string;
  #made: Promise<unknown> | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** A new, empty spool file (mode 0600); the directory is made once, and again if it went away. */
  async create(): Promise<SpoolFile> {
    this.#made ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).catch((err: Error) => {
      this.#made = undefined;
      throw err;
    });
    await this.#made;
    const file = path.join(this.dir, `${randomBytes(12).toString('hex')}.msg`);
    const handle = await open(file, 'wx+', 0o600).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      return open(file, 'wx+', 0o600);
    });
    return new SpoolFile(file, handle);
  }

  /**
   * Removes spool files not written to for an hour: bodies of sessions a crash or kill ended,
   * never answered `250`. Other nodes sharing the data directory keep their live files.
   */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!name.endsWith('.msg')) continue;
      const file = path.join(this.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && info.mtimeMs < now - STALE_MS) {
        await rm(file, { force: true });
        removed++;
      }
    }
    return removed;
  }
}
