/**
 * LIST/LSUB mailbox patterns (RFC 9051 §6.3.9): `*` matches any characters, `%` any characters but
 * the hierarchy delimiter. Matching simulates the pattern's automaton with one bit per pattern
 * position, so a name of n characters costs n × ⌈(m + 1) / 32⌉ word steps for a pattern of m
 * characters, whatever the wildcards: no backtracking, no regular expression.
 */

const DELIMITER = 0x2f; // '/'
const STAR = -1;
const PERCENT = -2;

/** Longest LIST reference plus pattern, in characters; longer ones are refused at parse time. */
export const MAX_LIST_PATTERN = 1024;

/** Matching work between turns of the event loop, and for one LIST or LSUB command (a few ms and ~0.5 s of CPU). */
export const LIST_STEPS_PER_TURN = 200_000;
export const LIST_STEP_LIMIT = 50_000_000;

/** Counts matching work so a caller can bound it and yield to other sessions. */
export interface StepMeter {
  steps: number;
}

/** A compiled pattern: `matches` is linear in the name's length for a given pattern. */
export interface ListPattern {
  /** The pattern's tokens after wildcard runs were collapsed (`%*` is `*`, `%%` is `%`). */
  readonly source: string;
  matches(name: string, meter?: StepMeter): boolean;
}

/** Code points of a pattern with each run of wildcards collapsed to one `*` or `%`. */
function tokens(pattern: string): number[] {
  const out: number[] = [];
  for (const ch of pattern) {
    const code = ch === '*' ? STAR : ch === '%' ? PERCENT : ch.codePointAt(0)!;
    const last = out.at(-1);
    if (code < 0 && last !== undefined && last < 0) {
      if (code === STAR) out[out.length - 1] = STAR;
      continue;
    }
    out.push(code);
  }
  return out;
}

/** `out |= (src & mask) << 1` over multi-word bit sets. */
function orShifted(out: Uint32Array, src: Uint32Array, mask: Uint32Array): void {
  let carry = 0;
  for (let w = 0; w < out.length; w++) {
    const v = src[w]! & mask[w]!;
    out[w] = out[w]! | ((v << 1) | carry);
    carry = v >>> 31;
  }
}

/**
 * Compiles `reference` + `pattern` (RFC 9051 §6.3.9: the reference is prefixed to the pattern).
 * A leading `INBOX` (followed by the end or the delimiter) matches case-insensitively.
 */
export function compileListPattern(reference: string, pattern: string): ListPattern {
  let full = `${reference}${pattern}`;
  if (/^inbox(?=$|\/)/i.test(full)) full = `INBOX${full.slice(5)}`;
  const toks = tokens(full);
  const m = toks.length;
  const words = Math.ceil((m + 1) / 32);
  const star = new Uint32Array(words);
  const percent = new Uint32Array(words);
  const wild = new Uint32Array(words);
  const literal = new Map<number, Uint32Array>();
  toks.forEach((t, i) => {
    const bit = 1 << (i & 31);
    const w = i >> 5;
    if (t === STAR) star[w] = star[w]! | bit;
    else if (t === PERCENT) percent[w] = percent[w]! | bit;
    else {
      let mask = literal.get(t);
      if (!mask) literal.set(t, (mask = new Uint32Array(words)));
      mask[w] = mask[w]! | bit;
    }
    if (t < 0) wild[w] = wild[w]! | bit;
  });
  const acceptWord = m >> 5;
  const acceptBit = 1 << (m & 31);
  const none = new Uint32Array(words);
  const source = toks.map((t) => (t === STAR ? '*' : t === PERCENT ? '%' : String.fromCodePoint(t))).join('');

  // Wildcard runs are collapsed, so one closure step suffices: a wildcard may match nothing.
  const close = (set: Uint32Array) => orShifted(set, set, wild);

  return {
    source,
    matches(name, meter) {
      let cur = new Uint32Array(words);
      let next = new Uint32Array(words);
      cur[0] = 1;
      close(cur);
      let chars = 0;
      for (const ch of name) {
        chars++;
        const code = ch.codePointAt(0)!;
        const lit = literal.get(code) ?? none;
        let alive = 0;
        for (let w = 0; w < words; w++) {
          next[w] = cur[w]! & (code === DELIMITER ? star[w]! : star[w]! | percent[w]!);
        }
        orShifted(next, cur, lit);
        close(next);
        for (let w = 0; w < words; w++) alive |= next[w]!;
        [cur, next] = [next, cur];
        if (alive === 0) break;
      }
      if (meter) meter.steps += (chars + 1) * words;
      return (cur[acceptWord]! & acceptBit) !== 0;
    },
  };
}
