import { inflateRawSync } from 'node:zlib';

/** One file of a ZIP archive. */
export interface ZipEntry {
  readonly name: string;
  readonly data: Buffer;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Reads the files of a ZIP archive (PKWARE APPNOTE 6.3: end of central directory, central
 * directory, local headers) stored or deflated; at most `maxEntries` files and `maxBytes` in all
 * after decompression (a ZIP bomb stops with an error, never fills memory). ZIP64 and encrypted
 * entries are refused.
 */
export function unzip(zip: Buffer, limits: { maxBytes: number; maxEntries: number }): ZipEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a ZIP archive (no end of central directory)');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  if (count > limits.maxEntries) throw new Error(`ZIP archive has ${count} files (at most ${limits.maxEntries})`);
  const out: ZipEntry[] = [];
  let total = 0;
  for (let n = 0; n < count; n++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== CENTRAL) throw new Error('broken ZIP central directory');
    const flags = zip.readUInt16LE(at + 8);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    at += 46 + nameLength + extra;
    if (flags & 1) throw new Error('encrypted ZIP entries are not supported');
    if (compressed === 0xffffffff || size === 0xffffffff) throw new Error('ZIP64 archives are not supported');
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== LOCAL) throw new Error('broken ZIP local header');
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    if (start + compressed > zip.length) throw new Error('truncated ZIP entry');
    if (name.endsWith('/')) continue;
    // A stored entry is its own size: one that claims less would slip past the limit below.
    if (method === 0 && compressed !== size) throw new Error('broken ZIP entry (stored size differs from its length)');
    const room = limits.maxBytes - total;
    if (size > room) throw new Error(`ZIP content larger than ${limits.maxBytes} bytes`);
    const raw = zip.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = inflateRawSync(raw, { maxOutputLength: Math.max(1, room) });
    else throw new Error(`ZIP compression method ${method} is not supported`);
    if (data.length !== size) throw new Error('broken ZIP entry (size differs from the central directory)');
    total += data.length;
    out.push({ name, data });
  }
  return out;
}
