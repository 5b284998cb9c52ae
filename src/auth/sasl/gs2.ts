import { type Decoded, decodeError, decoded } from './result.ts';

/** Escapes a GS2 saslname (RFC 5801 §4): `=` becomes `=3D` and `,` becomes `=2C`. */
export function escapeSaslname(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** Un-escapes a GS2 saslname (RFC 5801 §4); any other `=` sequence is an error. */
export function unescapeSaslname(value: string): Decoded<string> {
  if (value.includes(',')) return decodeError('malformed', 'unescaped "," in the GS2 authzid');
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c !== '=') {
      out += c;
      continue;
    }
    const code = value.slice(i + 1, i + 3);
    if (code === '2C') out += ',';
    else if (code === '3D') out += '=';
    else return decodeError('malformed', 'bad "=" escape in the GS2 authzid');
    i += 2;
  }
  return decoded(out);
}

/** The parsed GS2 header (RFC 5801 §4) as OAUTHBEARER uses it: no channel binding. */
export interface Gs2Header {
  /** The `a=` authorization identity, unescaped; undefined when absent. */
  readonly authzid: string | undefined;
}

/**
 * Parses `gs2-cb-flag "," [ "a=" saslname ] ","` (RFC 5801 §4, RFC 7628 §3.1). OAUTHBEARER has no
 * channel binding, so `n` and `y` are accepted and `p=` is refused.
 */
export function parseGs2Header(header: string): Decoded<Gs2Header> {
  const first = header.indexOf(',');
  if (first < 0 || !header.endsWith(',') || first === header.length - 1) return decodeError('malformed', 'bad GS2 header');
  const flag = header.slice(0, first);
  if (flag !== 'n' && flag !== 'y') return decodeError('malformed', 'OAUTHBEARER does not support channel binding');
  const authz = header.slice(first + 1, -1);
  if (authz === '') return decoded({ authzid: undefined });
  if (!authz.startsWith('a=')) return decodeError('malformed', 'bad GS2 authzid');
  const name = unescapeSaslname(authz.slice(2));
  if (!name.ok) return name;
  if (!name.value) return decodeError('malformed', 'empty GS2 authzid');
  return decoded({ authzid: name.value });
}
