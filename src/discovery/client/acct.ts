/**
 * `acct:` URIs (RFC 7565 §7) and WebFinger query URLs (RFC 7033 §4.1), shared by the server (JRD
 * subjects) and the client (queries). Characters outside unreserved / sub-delims are
 * percent-encoded in the userpart; `+` is encoded in the query value.
 */

const USERPART_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=]/;

/** `acct:local@domain` with the userpart percent-encoded where RFC 7565 requires it. */
export function acctUri(local: string, domain: string): string {
  let user = '';
  for (const ch of local) user += USERPART_SAFE.test(ch) ? ch : encodeURIComponent(ch);
  return `acct:${user}@${domain}`;
}

/** Percent-encodes a query value so that `+`, `&`, `=`, `@`, `:` survive any decoder. */
export function queryValue(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * `https://HOST/.well-known/webfinger?resource=…&rel=…&rel=…` (one `rel=` per relation); `port` only
 * for the local fallback (src/discovery/client/local.ts), RFC 7033 §4 itself always uses 443.
 */
export function webfingerUrl(host: string, resource: string, rels: readonly string[] = [], port?: number): string {
  const query = [`resource=${queryValue(resource)}`, ...rels.map((r) => `rel=${queryValue(r)}`)].join('&');
  return `https://${host}${port && port !== 443 ? `:${port}` : ''}/.well-known/webfinger?${query}`;
}
