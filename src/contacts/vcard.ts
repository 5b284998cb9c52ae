import { createHash } from 'node:crypto';
import { FingerpostError } from '../core/errors.ts';

/**
 * Strict reading of one vCard 3.0 (RFC 2426) or 4.0 (RFC 6350) as a CardDAV address object
 * resource holds it (RFC 6352 §5.1): content-line syntax (RFC 6350 §3.3), exactly one
 * BEGIN:VCARD … END:VCARD, a VERSION of 3.0 or 4.0, an FN and a UID. The text itself is stored
 * byte for byte; what is read here is only for checks, the UID and the EMAIL index.
 */

/** Malformed vCard text, with the line it was found on (1-based, physical lines). */
export class VcardError extends FingerpostError {
  readonly line: number | undefined;
  constructor(line: number | undefined, message: string) {
    super('invalid_argument', line !== undefined ? `line ${line}: ${message}` : message);
    this.name = 'VcardError';
    this.line = line;
  }
}

/** One unfolded content line. */
export interface VcardLine {
  readonly line: number;
  readonly group: string | undefined;
  readonly name: string;
  readonly params: ReadonlyArray<readonly [string, string]>;
  readonly value: string;
}

/** What the store keeps beside the text. */
export interface ParsedVcard {
  readonly uid: string;
  readonly version: '3.0' | '4.0';
  /** Lower-cased EMAIL values. */
  readonly emails: readonly string[];
  readonly lines: readonly VcardLine[];
  /** Quoted strong ETag of the text (RFC 9110 §8.8.3). */
  readonly etag: string;
}

const NAME = /^(?:([A-Za-z0-9-]+)\.)?([A-Za-z0-9-]+)/;

function parseLine(text: string, line: number): VcardLine {
  const m = NAME.exec(text);
  if (!m) throw new VcardError(line, 'a content line starts with a property name');
  let i = m[0].length;
  const params: Array<[string, string]> = [];
  while (text[i] === ';') {
    const pm = /^;([A-Za-z0-9-]+)(=?)/.exec(text.slice(i));
    if (!pm) throw new VcardError(line, 'a parameter name is letters, digits and -');
    i += pm[0].length;
    let value = '';
    if (pm[2] === '=') {
      // values: quoted or up to ; or : (RFC 6350 §3.3 param-value)
      for (;;) {
        if (text[i] === '"') {
          const close = text.indexOf('"', i + 1);
          if (close < 0) throw new VcardError(line, 'a quoted parameter value is not closed');
          value += text.slice(i + 1, close);
          i = close + 1;
        } else {
          const stop = text.slice(i).search(/[;:,]/);
          if (stop < 0) throw new VcardError(line, 'the content line has no ":" before its value');
          value += text.slice(i, i + stop);
          i += stop;
        }
        if (text[i] !== ',') break;
        value += ',';
        i++;
      }
    }
    params.push([pm[1]!.toUpperCase(), value]);
  }
  if (text[i] !== ':') throw new VcardError(line, 'the content line has no ":" after its name and parameters');
  return { line, group: m[1], name: m[2]!.toUpperCase(), params, value: text.slice(i + 1) };
}

/** Unfolds (RFC 6350 §3.2) and splits content lines, keeping each one's first physical line number. */
export function vcardLines(text: string): VcardLine[] {
  const physical = text.split(/\r?\n/);
  if (physical.at(-1) === '') physical.pop();
  const out: VcardLine[] = [];
  let current: { text: string; line: number } | undefined;
  physical.forEach((p, k) => {
    if (p.startsWith(' ') || p.startsWith('\t')) {
      if (!current) throw new VcardError(k + 1, 'a continuation line with nothing to continue');
      current.text += p.slice(1);
      return;
    }
    if (current) out.push(parseLine(current.text, current.line));
    if (p === '') throw new VcardError(k + 1, 'an empty line');
    current = { text: p, line: k + 1 };
  });
  if (current) out.push(parseLine(current.text, current.line));
  return out;
}

/** Unescapes a text value (RFC 6350 §3.4). */
function unescapeText(value: string): string {
  return value.replace(/\\([\\,;nN])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

/** Reads one vCard for storage; throws VcardError naming the line. */
export function parseVcard(text: string): ParsedVcard {
  if (text.includes('\0')) throw new VcardError(undefined, 'the vCard contains a NUL character');
  const lines = vcardLines(text);
  if (!lines.length) throw new VcardError(undefined, 'the body holds no vCard');
  const first = lines[0]!;
  if (first.name !== 'BEGIN' || first.value.toUpperCase() !== 'VCARD') throw new VcardError(first.line, 'a vCard starts with BEGIN:VCARD');
  const last = lines.at(-1)!;
  if (last.name !== 'END' || last.value.toUpperCase() !== 'VCARD') throw new VcardError(last.line, 'a vCard ends with END:VCARD');
  let depth = 0;
  for (const l of lines) {
    if (l.name === 'BEGIN') {
      if (++depth > 1 && l.value.toUpperCase() === 'VCARD') throw new VcardError(l.line, 'one address object holds one vCard');
    } else if (l.name === 'END') {
      depth--;
      if (depth < 0 || (depth === 0 && l !== last)) throw new VcardError(l.line, 'one address object holds one vCard');
    }
  }
  const body = lines.slice(1, -1);
  const version = body.find((l) => l.name === 'VERSION')?.value.trim();
  if (version !== '3.0' && version !== '4.0') throw new VcardError(first.line, 'VERSION must be 3.0 or 4.0');
  if (!body.some((l) => l.name === 'FN')) throw new VcardError(first.line, 'a vCard needs an FN property');
  const uids = body.filter((l) => l.name === 'UID');
  if (uids.length !== 1) throw new VcardError(uids[1]?.line ?? first.line, 'an address object needs exactly one UID (RFC 6352 §5.1)');
  const uid = unescapeText(uids[0]!.value).trim();
  if (!uid || uid.length > 500) throw new VcardError(uids[0]!.line, 'the UID is empty or longer than 500 characters');
  const emails = body
    .filter((l) => l.name === 'EMAIL')
    .map((l) =>
      unescapeText(l.value)
        .trim()
        .replace(/^mailto:/i, '')
        .toLowerCase(),
    )
    .filter((e) => e.includes('@') && e.length <= 320);
  return {
    uid,
    version,
    emails: [...new Set(emails)],
    lines,
    etag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"`,
  };
}
