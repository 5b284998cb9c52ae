/**
 * Escapes a value for an LDAP search filter (RFC 4515 §3): `*`, `(`, `)`, `\` and NUL become
 * `\XX`, and so does every octet outside printable ASCII, so a user name can never add filter
 * syntax (a wildcard, another condition) to the search it is put into.
 */
export function escapeFilterValue(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const printable = byte >= 0x20 && byte < 0x7f && byte !== 0x2a && byte !== 0x28 && byte !== 0x29 && byte !== 0x5c;
    out += printable ? String.fromCharCode(byte) : `\\${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** `(attr=value)` for each attribute, OR-ed when there are several (RFC 4515 §3 `filtercomp`). */
export function anyEquals(attributes: readonly string[], value: string): string {
  const parts = attributes.map((a) => `(${a}=${escapeFilterValue(value)})`);
  return parts.length === 1 ? parts[0]! : `(|${parts.join('')})`;
}

const ATTRIBUTE = /^[A-Za-z][A-Za-z0-9-]*$|^\d+(\.\d+)+$/;

/** True for an attribute description a config may name (RFC 4512 §2.5: a name or an OID). */
export function isAttributeName(name: string): boolean {
  return ATTRIBUTE.test(name);
}

/**
 * True when `filter` is one parenthesised RFC 4515 filter with balanced, unescaped parentheses:
 * what a configured filter must be before a search is built around it.
 */
export function isFilter(filter: string): boolean {
  if (!filter.startsWith('(') || !filter.endsWith(')')) return false;
  let depth = 0;
  for (let i = 0; i < filter.length; i++) {
    const c = filter[i];
    if (c === '\\') i += 2;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0 && i !== filter.length - 1) return false;
    if (depth < 0) return false;
  }
  return depth === 0;
}
