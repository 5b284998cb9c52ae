import { partAt } from '../../mail/mime/structure.ts';
import { decodeTransfer } from '../../mail/mime/transfer.ts';
import type { MimePart } from '../../mail/mime/types.ts';
import type { Section } from './wire/types.ts';

/**
 * Body section extraction from the raw message and its stored structure (RFC 9051 §6.4.5
 * BODY[section], RFC 3516 BINARY[section]): byte ranges come from the offsets computed at
 * delivery, so nothing is re-parsed. Null when the section does not exist.
 */

/** The header lines of a header block whose field names are (or with `not`, are not) in `names`, plus the blank line. */
function headerFields(raw: Buffer, start: number, end: number, names: readonly string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const out: Buffer[] = [];
  let keep = false;
  let pos = start;
  while (pos < end) {
    let nl = raw.indexOf(0x0a, pos);
    if (nl < 0 || nl >= end) nl = end - 1;
    const line = raw.subarray(pos, nl + 1);
    const isBlank = line.length <= 2 && (line[0] === 0x0a || (line[0] === 0x0d && line[1] === 0x0a));
    if (isBlank) break;
    if (line[0] === 0x20 || line[0] === 0x09) {
      if (keep) out.push(line);
    } else {
      const colon = line.indexOf(0x3a);
      const name = colon > 0 ? line.toString('latin1', 0, colon).trim().toLowerCase() : '';
      keep = name !== '' && wanted.has(name) !== not;
      if (keep) out.push(line);
    }
    pos = nl + 1;
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

/** The message (root plus header/body bounds) a section's text specifier applies to. */
function messageOf(root: MimePart, part: MimePart | null, numbers: readonly number[]): MimePart | null {
  if (numbers.length === 0) return root;
  return part?.message?.root ?? null;
}

/** BODY[section] bytes (before any <partial>). */
export function sectionBytes(raw: Buffer, root: MimePart, section: Section): Buffer | null {
  const part = section.part.length ? partAt(root, section.part) : root;
  if (!part) return null;
  switch (section.text) {
    case null:
      return section.part.length === 0 ? raw : raw.subarray(part.bodyStart, part.bodyEnd);
    case 'MIME':
      return raw.subarray(part.headerStart, part.bodyStart);
    case 'HEADER': {
      const m = messageOf(root, part, section.part);
      return m ? raw.subarray(m.headerStart, m.bodyStart) : null;
    }
    case 'TEXT': {
      const m = messageOf(root, part, section.part);
      return m ? raw.subarray(m.bodyStart, m.bodyEnd) : null;
    }
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      const m = messageOf(root, part, section.part);
      return m ? headerFields(raw, m.headerStart, m.bodyStart, section.fields, section.text === 'HEADER.FIELDS.NOT') : null;
    }
  }
}

export type BinaryResult =
  | { readonly ok: true; readonly data: Buffer }
  | { readonly ok: false; readonly reason: 'nonexistent' | 'unknown-cte' };

/** BINARY[part] (RFC 3516 §4.2): the part's body with its Content-Transfer-Encoding removed. */
export function binaryBytes(raw: Buffer, root: MimePart, numbers: readonly number[]): BinaryResult {
  if (numbers.length === 0) return { ok: true, data: raw };
  const part = partAt(root, numbers);
  if (!part) return { ok: false, reason: 'nonexistent' };
  const body = raw.subarray(part.bodyStart, part.bodyEnd);
  if (part.children.length || part.message) return { ok: true, data: body };
  const data = decodeTransfer(body, part.encoding);
  return data ? { ok: true, data } : { ok: false, reason: 'unknown-cte' };
}
