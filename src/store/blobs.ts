import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, open, readdir, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { FingerpostError } from '../core/errors.ts';

/** Content-addressed storage for message bodies and uploads. Ids are SHA-256 hex digests. */
export interface BlobStore {
  /** Stores the bytes durably (fsync) and returns their id; storing the same bytes twice is a no-op. */
  put(data: Uint8Array): Promise<string>;
  get(id: string): Promise<Buffer>;
  /** A byte range [start, end) without reading the whole blob. */
  range(id: string, start: number, end: number): Promise<Buffer>;
  stream(id: string): Readable;
  has(id: string): Promise<boolean>;
  /** Removes a blob. Callers go through `releaseBlob` (store/blob-gc.ts), which checks references. */
  delete(id: string): Promise<void>;
  /** When the blob was last stored (epoch ms), or undefined when it does not exist. */
  writtenAt(id: string): Promise<number | undefined>;
  /** Every stored blob id. */
  ids(): AsyncIterable<string>;
}

const ID_RE = /^[0-9a-f]{64}$/;

/** The SHA-256 hex id of some bytes. */
export function blobId(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Bytes hashed per turn of the event loop by `blobIdInSteps`. */
const HASH_STEP = 1024 * 1024;

/** `blobId` in 1 MiB steps with the event loop free in between: a 50 MB message is no 150 ms stall. */
export async function blobIdInSteps(data: Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  for (let at = 0; at < data.length; at += HASH_STEP) {
    hash.update(data.subarray(at, at + HASH_STEP));
    if (at + HASH_STEP < data.length) await new Promise((resolve) => setImmediate(resolve));
  }
  return hash.digest('hex');
}

/** Blobs as files under `root/ab/cd/<id>`, written to a temp file, fsynced, then renamed. */
export class FsBlobStore implements BlobStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  #path(id: string): string {
    if (!ID_RE.test(id)) throw new FingerpostError('invalid_argument', 'malformed blob id');
    return path.join(this.root, id.slice(0, 2), id.slice(2, 4), id);
  }

  async put(data: Uint8Array): Promise<string> {
    const id = await blobIdInSteps(data);
    const file = this.#path(id);
    if (await this.has(id)) {
      // Re-storing counts as a fresh write, so the collector's grace window covers this writer too.
      const now = new Date();
      await utimes(file, now, now).catch(() => {});
      return id;
    }
    const dir = path.dirname(file);
    await mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
    const dirHandle = await open(dir, constants.O_RDONLY);
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    return id;
  }

  async get(id: string): Promise<Buffer> {
    try {
      return await readFile(this.#path(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FingerpostError('not_found', `blob ${id} not found`);
      throw err;
    }
  }

  async range(id: string, start: number, end: number): Promise<Buffer> {
    const handle = await open(this.#path(id), 'r');
    try {
      const length = Math.max(0, end - start);
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, start);
      return buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  stream(id: string): Readable {
    return createReadStream(this.#path(id));
  }

  async has(id: string): Promise<boolean> {
    try {
      await access(this.#path(id));
      return true;
    } catch {
      return false;
    }
  }

  async delete(id: string): Promise<void> {
    await rm(this.#path(id), { force: true });
  }

  /** When the blob was last stored (epoch ms), or undefined when it does not exist. */
  async writtenAt(id: string): Promise<number | undefined> {
    try {
      return (await stat(this.#path(id))).mtimeMs;
    } catch {
      return undefined;
    }
  }

  /** Every stored blob id (for the collector). */
  async *ids(): AsyncGenerator<string> {
    const level = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{2}$/.test(n));
    for (const a of await level(this.root)) {
      for (const b of await level(path.join(this.root, a))) {
        for (const name of await readdir(path.join(this.root, a, b)).catch(() => [] as string[])) {
          if (ID_RE.test(name)) yield name;
        }
      }
    }
  }

  /** Total size of one blob, for checks. */
  async size(id: string): Promise<number> {
    return (await stat(this.#path(id))).size;
  }
}
