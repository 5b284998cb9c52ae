// The ZIP reader of incoming DMARC aggregate reports (src/mail/inbound/zip.ts): archives written by
// Python's zipfile read back byte for byte, and every limit holds against archives that lie about
// their sizes (PKWARE APPNOTE 6.3 §4.3.12, §4.4.8–4.4.9).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { unzip } from '../../../src/mail/inbound/zip.ts';
import { commandSkip } from '../../helpers/peers.ts';

const LIMITS = { maxBytes: 1000, maxEntries: 4 };

/** An archive from Python's zipfile: `files` name → text, stored or deflated. */
function pythonZip(files: Record<string, string>, method: 'ZIP_STORED' | 'ZIP_DEFLATED'): Buffer {
  const script = `import io, json, sys, zipfile
b = io.BytesIO()
with zipfile.ZipFile(b, 'w', zipfile.${method}) as z:
    for name, text in json.loads(sys.argv[1]).items():
        z.writestr(name, text)
sys.stdout.buffer.write(b.getvalue())`;
  const r = spawnSync('python3', ['-c', script, JSON.stringify(files)]);
  assert.equal(r.status, 0, r.stderr.toString());
  return r.stdout;
}

/** One stored entry whose headers say `declared` bytes while `data` follows. */
function lyingStoredZip(data: Buffer, declared: number): Buffer {
  const name = Buffer.from('report.xml');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt32LE(declared, 18);
  local.writeUInt32LE(declared, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(declared, 24);
  central.writeUInt16LE(name.length, 28);
  const body = Buffer.concat([local, name, data]);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(central.length + name.length, 12);
  eocd.writeUInt32LE(body.length, 16);
  return Buffer.concat([body, central, name, eocd]);
}

describe('unzip', { skip: commandSkip('python3', 'python3') }, () => {
  it('reads stored and deflated archives written by Python zipfile', () => {
    const files = { 'a.xml': '<feedback/>\n', 'b.txt': 'x'.repeat(300) };
    for (const method of ['ZIP_STORED', 'ZIP_DEFLATED'] as const) {
      const got = unzip(pythonZip(files, method), LIMITS);
      assert.deepEqual(Object.fromEntries(got.map((e) => [e.name, e.data.toString()])), files, method);
    }
  });

  it('refuses a deflated archive that grows past the limit', () => {
    assert.throws(() => unzip(pythonZip({ 'bomb.xml': 'a'.repeat(5000) }, 'ZIP_DEFLATED'), LIMITS));
  });

  it('refuses a stored entry that claims fewer bytes than it holds, so the limit cannot be walked around', () => {
    assert.throws(() => unzip(lyingStoredZip(Buffer.alloc(5000, 0x61), 0), LIMITS), /stored size differs/);
    assert.throws(() => unzip(lyingStoredZip(Buffer.alloc(500, 0x61), 10), LIMITS), /stored size differs/);
    assert.equal(unzip(lyingStoredZip(Buffer.alloc(500, 0x61), 500), LIMITS)[0]?.data.length, 500);
  });

  it('refuses more entries than allowed', () => {
    const many = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`f${i}`, 'x']));
    assert.throws(() => unzip(pythonZip(many, 'ZIP_STORED'), LIMITS), /5 files/);
  });
});
