/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.2, §11.3, §11.6.1): a parser for clients (several
 * header lines joined with ", " as `fetch` does) and a formatter for servers. Pure, never throws.
 */

/** One challenge: a scheme with either a token68 or named parameters (names lower-cased). */
export interface Challenge {
  /** The scheme as sent; compare case-insensitively. */
  readonly scheme: string;
  readonly token68?: string;
  readonly params: Readonly<Record<string, string>>;
}

const TCHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;
const TOKEN68_CHAR = /[A-Za-z0-9\-._~+/]/;

/**
 * Parses a `WWW-Authenticate` value into challenges, following STANDARDS.md §3.1: a token not
 * followed by `=` starts a new challenge; `abc=` followed by `,` or the end is token68 padding;
 * quoted strings may contain commas; empty list elements are skipped. Malformed parts are skipped.
 */
export function parseWwwAuthenticate(value: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = value.length;
  const skipWs = () => {
    while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && TCHAR.test(value[i]!)) i++;
    return value.slice(start, i);
  };
  const skipToComma = () => {
    while (i < n && value[i] !== ',') {
      if (value[i] === '"') readQuoted();
      else i++;
    }
  };
  const readQuoted = (): string | undefined => {
    // at the opening quote
    i++;
    let s = '';
    while (i < n) {
      const c = value[i]!;
      if (c === '\\' && i + 1 < n) {
        s += value[i + 1];
        i += 2;
      } else if (c === '"') {
        i++;
        return s;
      } else {
        s += c;
        i++;
      }
    }
    return undefined;
  };

  while (i < n) {
    skipWs();
    if (value[i] === ',') {
      i++;
      continue;
    }
    if (i >= n) break;
    const scheme = readToken();
    if (!scheme) {
      i++;
      skipToComma();
      continue;
    }
    const params: Record<string, string> = {};
    let token68: string | undefined;
    const hadSpace = value[i] === ' ' || value[i] === '\t';
    skipWs();
    if (hadSpace && i < n && value[i] !== ',') {
      // token68?
      const start = i;
      while (i < n && TOKEN68_CHAR.test(value[i]!)) i++;
      let end = i;
      while (end < n && value[end] === '=') end++;
      let after = end;
      while (after < n && (value[after] === ' ' || value[after] === '\t')) after++;
      if (end > start && i > start && (after >= n || value[after] === ',') && (end > i || !isParamStart(value, start))) {
        token68 = value.slice(start, end);
        i = after;
      } else {
        i = start;
        // auth-params, separated by commas; a bare token starts the next challenge.
        for (;;) {
          skipWs();
          const save = i;
          const name = readToken();
          skipWs();
          if (!name || value[i] !== '=') {
            i = save;
            break;
          }
          i++;
          skipWs();
          let v: string | undefined;
          if (value[i] === '"') v = readQuoted();
          else v = readToken() || undefined;
          if (v === undefined) {
            skipToComma();
          } else if (!(name.toLowerCase() in params)) {
            params[name.toLowerCase()] = v;
          }
          skipWs();
          if (value[i] !== ',') break;
          // look past empty elements for another param or the next scheme
          let j = i;
          while (j < n && (value[j] === ',' || value[j] === ' ' || value[j] === '\t')) j++;
          const k = j;
          while (j < n && TCHAR.test(value[j]!)) j++;
          let m = j;
          while (m < n && (value[m] === ' ' || value[m] === '\t')) m++;
          if (j > k && value[m] === '=' && value[m + 1] !== ',' && m + 1 < n) {
            i = k;
            continue;
          }
          break;
        }
      }
    }
    out.push(token68 !== undefined ? { scheme, token68, params } : { scheme, params });
    skipWs();
    if (i < n && value[i] !== ',') skipToComma();
  }
  return out;
}

function isParamStart(value: string, start: number): boolean {
  let j = start;
  while (j < value.length && TCHAR.test(value[j]!)) j++;
  while (j < value.length && (value[j] === ' ' || value[j] === '\t')) j++;
  return value[j] === '=';
}

/** Quotes a value as an RFC 9110 §5.6.4 quoted-string. */
export function quoteString(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/**
 * Formats one challenge for one header line (STANDARDS.md §3.1: one challenge per line); every
 * parameter value is sent as a quoted-string, which recipients must accept (RFC 9110 §11.2).
 */
export function formatChallenge(scheme: string, params: ReadonlyArray<readonly [string, string]>): string {
  if (!params.length) return scheme;
  return `${scheme} ${params.map(([k, v]) => `${k}=${quoteString(v)}`).join(', ')}`;
}

/** Keeps only the characters RFC 6750 §3 allows in `error_description` (%x20-21 / %x23-5B / %x5D-7E). */
export function sanitizeErrorDescription(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '');
}
