import type { MimePart } from './types.ts';

/**
 * Re-encodes the leaf parts whose body holds NUL octets as base64 (RFC 2045 §6.8), rewriting their
 * Content-Transfer-Encoding field, so the stored message can be sent in a normal IMAP literal
 * (RFC 9051 §4.3 forbids NUL there) and BODYSTRUCTURE describes what BODY[] returns (RFC 3516 §6).
 * Nothing is lost: decoding gives the same bytes back (RFC 3516 §4.4 allows this change). Returns
 * null when no leaf body holds a NUL. NUL elsewhere (a header, a preamble) is left as it is.
 */
export function encodeBinaryParts(raw: Buffer, root: MimePart): Buffer | null {
  const leaves: MimePart[] = [];
  const walk = (p: MimePart) => {
    if (p.children.length) for (const c of p.children) walk(c);
    else if (p.message) walk(p.message.root);
    else if (raw.subarray(p.bodyStart, p.bodyEnd).includes(0)) leaves.push(p);
  };
  walk(root);
  if (!leaves.length) return null;
  leaves.sort((a, b) => a.headerStart - b.headerStart);
  const out: Buffer[] = [];
  let at = 0;
  for (const part of leaves) {
    out.push(raw.subarray(at, part.headerStart));
    out.push(rewriteHeader(raw.subarray(part.headerStart, part.bodyStart), part === root));
    out.push(base64Lines(raw.subarray(part.bodyStart, part.bodyEnd), part.bodyEnd === raw.length));
    at = part.bodyEnd;
  }
  out.push(raw.subarray(at));
  return Buffer.concat(out);
}

const CRLF = Buffer.from('\r\n');

/** The header block with `Content-Transfer-Encoding: base64` (and MIME-Version at the top level). */
function rewriteHeader(block: Buffer, top: boolean): Buffer {
  // The block ends with the empty line that separates it from the body (CRLF or a bare LF).
  let fieldsEnd = block.length;
  if (block.subarray(-4).equals(Buffer.from('\r\n\r\n'))) fieldsEnd -= 2;
  else if (block.subarray(-2).equals(Buffer.from('\n\n'))) fieldsEnd -= 1;
  else if (block.equals(CRLF) || (block.length === 1 && block[0] === 0x0a)) fieldsEnd = 0;
  const kept: Buffer[] = [];
  let hasMimeVersion = false;
  let skipping = false;
  let pos = 0;
  while (pos < fieldsEnd) {
    let nl = block.indexOf(0x0a, pos);
    if (nl < 0 || nl >= fieldsEnd) nl = fieldsEnd - 1;
    const line = block.subarray(pos, nl + 1);
    pos = nl + 1;
    const continuation = line[0] === 0x20 || line[0] === 0x09;
    if (!continuation) {
      const name = line
        .toString('latin1', 0, Math.max(0, line.indexOf(0x3a)))
        .trim()
        .toLowerCase();
      skipping = name === 'content-transfer-encoding';
      if (name === 'mime-version') hasMimeVersion = true;
    }
    if (!skipping) kept.push(line);
  }
  const last = kept.at(-1);
  if (last && last[last.length - 1] !== 0x0a) kept.push(CRLF);
  if (top && !hasMimeVersion) kept.push(Buffer.from('MIME-Version: 1.0\r\n'));
  kept.push(Buffer.from('Content-Transfer-Encoding: base64\r\n'), CRLF);
  return Buffer.concat(kept);
}

/** Base64 in lines of 76 characters (RFC 2045 §6.8); a body that ends the message ends with CRLF. */
function base64Lines(body: Buffer, last: boolean): Buffer {
  const text = body.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return Buffer.from(lines.join('\r\n') + (last ? '\r\n' : ''), 'latin1');
}
