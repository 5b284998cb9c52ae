import type { LineInput } from '../../net/line-input.ts';

/** One argument of a ManageSieve command (RFC 5804 §4): a string (quoted or literal), a number or an atom. */
export type Arg =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'atom'; readonly value: string };

/** A command as read, or why there is none. `error` leaves the connection in step with the client. */
export type ReadResult =
  | { readonly kind: 'command'; readonly verb: string; readonly args: readonly Arg[] }
  | { readonly kind: 'error'; readonly code?: string; readonly text: string }
  | { readonly kind: 'closed' };

export interface WireLimits {
  /** Longest line between literals, in octets. */
  readonly maxLine: number;
  /** Largest literal kept; a larger one is read and dropped, then refused. */
  readonly maxLiteral: number;
}

/** Larger literals than this are not even read through: the connection is closed instead. */
const MAX_DISCARD = 64 * 1024 * 1024;
const MAX_ARGS = 16;
const utf8 = new TextDecoder('utf-8', { fatal: true });

type Token = Arg | { readonly kind: 'literal'; readonly size: number };

/** Splits one line into tokens; a literal marker `{n}` / `{n+}` may only end the line (RFC 5804 §4). */
function tokens(line: string): Token[] | string {
  const out: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ') {
      i++;
      continue;
    }
    if (c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= line.length) return 'unterminated quoted string';
        const ch = line[i]!;
        if (ch === '"') break;
        if (ch === '\\') {
          const next = line[i + 1];
          if (next !== '"' && next !== '\\') return 'bad escape in quoted string';
          value += next;
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      i++;
      out.push({ kind: 'string', value });
      continue;
    }
    const literal = /^\{(\d{1,10})\+?\}$/.exec(line.slice(i));
    if (literal) {
      out.push({ kind: 'literal', size: Number(literal[1]) });
      break;
    }
    const word = /^[^\s"{}()]+/.exec(line.slice(i));
    if (!word) return `unexpected ${JSON.stringify(c)}`;
    out.push(/^\d+$/.test(word[0]) ? { kind: 'number', value: Number(word[0]) } : { kind: 'atom', value: word[0] });
    i += word[0].length;
  }
  return out;
}

/**
 * Reads one command (RFC 5804 §4): lines with quoted strings, numbers and atoms, and literals
 * `{n+}` / `{n}` CRLF followed by n octets then the rest of the command. Literals are UTF-8
 * text; over the limit they are read and dropped (so the client stays in step) and refused.
 */
export async function readCommand(input: LineInput, limits: WireLimits): Promise<ReadResult> {
  const args: Arg[] = [];
  let verb = '';
  let refusal: { code?: string; text: string } | undefined;
  for (;;) {
    const line = await input.line(limits.maxLine);
    if (line.kind === 'closed') return line;
    if (line.kind === 'too_long') return { kind: 'error', text: 'Line too long' };
    const parsed = tokens(line.text);
    if (typeof parsed === 'string') return { kind: 'error', text: parsed };
    for (const t of parsed) {
      if (t.kind === 'literal') {
        if (t.size > MAX_DISCARD) return { kind: 'closed' };
        if (t.size > limits.maxLiteral) {
          if (!(await input.bytes(t.size))) return { kind: 'closed' };
          refusal = { code: 'QUOTA/MAXSIZE', text: `Literal larger than ${limits.maxLiteral} octets` };
          continue;
        }
        const chunks: Buffer[] = [];
        if (!(await input.bytes(t.size, async (b) => void chunks.push(Buffer.from(b))))) return { kind: 'closed' };
        try {
          args.push({ kind: 'string', value: utf8.decode(Buffer.concat(chunks)) });
        } catch {
          refusal ??= { text: 'Literal is not UTF-8' };
        }
      } else if (!verb && !args.length && t.kind === 'atom') verb = t.value.toUpperCase();
      else args.push(t);
      if (args.length > MAX_ARGS) refusal ??= { text: 'Too many arguments' };
    }
    if (parsed.at(-1)?.kind !== 'literal') break;
  }
  if (refusal) return { kind: 'error', ...refusal };
  // No verb: a bare string (a SASL answer, RFC 5804 §2.1); as a command it is an error.
  return { kind: 'command', verb, args };
}

/** A string as the server sends it (RFC 5804 §4): quoted when short and plain, else a literal. */
export function formatString(s: string): string {
  if (s.length <= 1024 && !/[\r\n\0"\\]/.test(s)) return `"${s}"`;
  if (s.length <= 1024 && !/[\r\n\0]/.test(s)) return `"${s.replace(/[\\"]/g, '\\$&')}"`;
  return `{${Buffer.byteLength(s, 'utf8')}}\r\n${s}`;
}

/** A response line (RFC 5804 §1.3): OK, NO or BYE, an optional `(CODE)` and human-readable text. */
export function response(kind: 'OK' | 'NO' | 'BYE', text?: string, code?: string): string {
  return `${kind}${code ? ` (${code})` : ''}${text === undefined ? '' : ` ${formatString(text)}`}\r\n`;
}
